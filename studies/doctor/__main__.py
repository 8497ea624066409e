"""``python -m studies.doctor [options]``: ``knee-study doctor`` with any Python 3.11, before the
project is installed (``make doctor`` uses it when there is no ``.venv`` yet). Only the
doctor's own parser is built: the other commands' modules may need packages not installed yet.
"""

import argparse
import sys

from studies.cli.doctor import add_doctor_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.doctor", description="knee-study doctor")
    add_doctor_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
