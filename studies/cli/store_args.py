"""The ``--store URL`` and ``--insecure-tls`` options shared by the commands that read or
write decisions (see :mod:`studies.decisions.backend`)."""

from __future__ import annotations

import argparse


def add_store_arguments(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--store", metavar="URL", required=required, default=None,
                   help="a decisions server, postgresql://[user@]host[:port]/database (password from "
                   "PGPASSFILE or a prompt, never in the URL); default: the decisions files")
    p.add_argument("--insecure-tls", action="store_true",
                   help="allow a non-local server without a verified certificate (test servers only)")


def backend_of(args: argparse.Namespace):
    """The :class:`~studies.decisions.backend.DecisionBackend` the options name."""
    from studies.decisions.backend import open_backend

    return open_backend(getattr(args, "store", None), insecure_tls=getattr(args, "insecure_tls", False))
