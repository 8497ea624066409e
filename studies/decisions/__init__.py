"""Reader decisions: one crash-safe SQLite file per reader, with an append-only hash chain.

``studies`` owns this (not ``reader_app``) because ``knee-study`` commands read and write it;
the reader app's domain wraps it. See ``docs/decisions-format.md`` for the file format.
"""

from studies.decisions.audit import ChainReport, verify_file
from studies.decisions.export import (
    DECISION_COLUMNS,
    EXPORT_COLUMNS,
    export_decisions,
    read_decisions,
)
from studies.decisions.ledger import PHASES, DecisionRow
from studies.decisions.lock import ReaderLockedError
from studies.decisions.order import OrderedPair, reader_order, reader_seed
from studies.decisions.storage import StorageError, check_writable
from studies.decisions.store import AnswerLockedError, DecisionStore

__all__ = [
    "AnswerLockedError",
    "ChainReport",
    "DECISION_COLUMNS",
    "DecisionRow",
    "DecisionStore",
    "EXPORT_COLUMNS",
    "OrderedPair",
    "PHASES",
    "ReaderLockedError",
    "StorageError",
    "check_writable",
    "export_decisions",
    "read_decisions",
    "reader_order",
    "reader_seed",
    "verify_file",
]
