"""A reader's local decisions file against the server's record of that reader.

The server holds a copy of every row it received, with the local hashes, so comparing the
two row-hash lists says exactly how they relate: the same; the file is ahead (rows not yet
sent); the file lacks rows the server holds (cut off, or an older copy put back); or rows
differ (the file was rewritten after sending, or comes from another workstation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studies.decisions.merge import _answer_differences, read_chain


@dataclass(frozen=True)
class Comparison:
    """``same``: identical rows; ``unsent``: local rows after the server's last one;
    ``problems``: sentences for every real difference (empty when only unsent rows differ)."""

    reader_id: str
    local_rows: int
    server_rows: int
    unsent: int
    problems: tuple[str, ...]

    @property
    def same(self) -> bool:
        return not self.problems and not self.unsent


def _span(ids: list[int]) -> str:
    return f"row {ids[0]}" if len(ids) == 1 else f"rows {ids[0]}-{ids[-1]}"


def compare_with_server(local: Path, server: Path | None) -> Comparison:
    """Compare the local file with the server's record of the same reader (``server``: that
    record written out as a file, :mod:`studies.decisions.pg.snapshot`; None when the server
    has nothing for this reader)."""
    mine = read_chain(local)
    theirs = read_chain(server).hashes if server is not None else []
    problems: list[str] = []
    if not mine.ok:
        problems.append(f"the local file's own chain is broken ({mine.reason})")
    differ = [i + 1 for i, (a, b) in enumerate(zip(mine.hashes, theirs, strict=False)) if a != b]
    if differ:
        problems.append(f"{_span(differ) if len(differ) < 3 else f'{len(differ)} rows from row {differ[0]}'} "
                        "differ from what the server received (rewritten after sending, or another copy)")
        if server is not None:
            for d in _answer_differences(server, local)[:10]:
                problems.append(f"pair {d['pair_id']}: server {d['existing']}, local file {d['incoming']}")
    if len(theirs) > len(mine.hashes):
        problems.append(f"the file lacks {_span(list(range(len(mine.hashes) + 1, len(theirs) + 1)))} that the "
                        "server holds (rows cut off, or an older copy)")
    unsent = max(len(mine.hashes) - len(theirs), 0) if not differ else 0
    return Comparison(mine.reader_id, len(mine.hashes), len(theirs), unsent, tuple(problems))
