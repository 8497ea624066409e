"""``python -m studies.doctor [options]``: ``knee-study doctor`` with any Python 3.11, before the
project is installed (``make doctor`` uses it when there is no ``.venv`` yet)."""

import sys

from studies.cli import main

if __name__ == "__main__":
    sys.exit(main(["doctor", *sys.argv[1:]]))
