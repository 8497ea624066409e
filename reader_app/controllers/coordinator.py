"""The coordinator's controller (``knee-reader --coordinator STUDY --key KEY``), without Qt.

It decides everything the coordinator window shows: each decisions file's progress and audit
chain (Readers), the analysis of the intact files by the very same code as ``knee-study
analyze`` with its charts and formatted tables (Results), and the export of every output
(Export). Decisions files from other workstations are merged by
:func:`studies.decisions.merge.merge_decisions` (duplicates skipped, conflicts kept aside).

With a decisions server (``knee-reader --coordinator --store URL STUDY --key KEY``) the
decisions come from the server instead of the study's folder: the server's rows written out as
decisions files (:class:`reader_app.domain.server_decisions.ServerDecisions`), fetched again on
the same timer and read by the same code, plus each registered reader's progress live from the
server (:class:`reader_app.domain.server_progress.ProgressPoller`, every :data:`PROGRESS_MS`).
Collecting files is then the readers' apps' job (or ``knee-study merge-decisions --store``
with a reader's role), so the window's Collect is disabled.

The window (:class:`reader_app.ui.coordinator.CoordinatorView`) implements
:class:`CoordinatorViewLike`: it lays out what it is given and asks the user for files and
folders when the controller needs them; the periodic refresh is a timer the view runs.
Tested with ``MagicMock(spec=CoordinatorViewLike)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Protocol

from reader_app.controllers.messages import ErrorMessage, describe
from reader_app.domain.coordination import ReaderStatus, analyzable, reader_status, reader_statuses
from reader_app.domain.interpretation import ai_sentences, study_context
from reader_app.domain.server_decisions import ServerDecisions
from reader_app.domain.server_progress import COLUMNS as PROGRESS_COLUMNS
from reader_app.domain.server_progress import ProgressPoller, status_line
from reader_app.domain.server_progress import describe as describe_progress
from studies.analysis import analyze_study
from studies.analysis.chart_data import RocChart, StrataChart, roc_chart, strata_chart
from studies.analysis.exports import write_outputs
from studies.analysis.formatting import reader_label
from studies.analysis.paper_mrmc import mrmc_sentences
from studies.analysis.paper_tables import PaperTable
from studies.analysis.report_content import paper_tables_of
from studies.analysis.results import StudyResults
from studies.decisions.merge import MergeItem, merge_decisions
from studies.package import load_key, load_manifest, verify_key

#: How often the decisions files (or the server's rows) are read again (milliseconds).
REFRESH_MS = 15_000
#: How often the live progress from the server is redrawn (milliseconds; polled on its own thread).
PROGRESS_MS = 2_000
READER_COLUMNS = ("Reader", "Answered", "Flagged", "Modes", "Last answer", "Audit chain")
NO_RESULTS = "No results yet: collect readers' decisions first"
SIMULATED_TIP = "Written by simulate-reader: random answers, machine reading times"
NO_FILES = (
    "No decisions files collected yet: readers' files go in the study's decisions/ folder, "
    "or use “Collect decisions files…”."
)
NO_SERVER_ROWS = "No reader has sent answers to the decisions server yet."
SERVER_COLLECT_TIP = (
    "Decisions come from the decisions server: readers' apps send them; files read offline go "
    "in with 'knee-study merge-decisions STUDY FILE --store URL' and that reader's role."
)


@dataclass(frozen=True)
class ReaderRow:
    """One decisions file in the Readers table: a cell per :data:`READER_COLUMNS`."""

    cells: tuple[str, ...]
    tooltip: str = ""  # on the reader's name
    broken: bool = False  # the audit chain is broken: its cell is drawn as a warning


@dataclass(frozen=True)
class ReadersDisplay:
    """The Readers tab: the table and the sentence above it."""

    header: tuple[str, ...]
    rows: tuple[ReaderRow, ...]
    summary: str


@dataclass(frozen=True)
class ResultsDisplay:
    """The Results tab: a summary, the two charts' data (None: nothing to draw), the titles
    of the report's tables in its order, the title chosen and that table."""

    summary: str
    roc: RocChart | None = None
    strata: StrataChart | None = None
    titles: tuple[str, ...] = ()
    title: str = ""
    table: PaperTable | None = None


@dataclass(frozen=True)
class ServerProgressDisplay:
    """The live progress table from the decisions server: header, rows (one per registered
    reader) and the sentence under it (when it was updated, or why not)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    status: str


class CoordinatorViewLike(Protocol):
    """What the controller needs from the coordinator window."""

    def bind_actions(self, *, refresh: Callable[[], None], collect: Callable[[], None],
                export: Callable[[], None], choose_table: Callable[[str], None]) -> None:
        """Call these when the user presses Refresh, Collect, Export or picks a table."""
    def show_readers(self, readers: ReadersDisplay) -> None: ...
    def show_merge_report(self, html: str) -> None: ...
    def show_results(self, results: ResultsDisplay) -> None: ...
    def show_table(self, table: PaperTable | None) -> None: ...
    def set_export_enabled(self, enabled: bool, tooltip: str) -> None: ...
    def set_collect_enabled(self, enabled: bool, tooltip: str) -> None: ...
    def show_server_progress(self, progress: ServerProgressDisplay) -> None:
        """Show (and from then on keep showing) the live progress from the decisions server."""
    def show_export_status(self, text: str) -> None: ...
    def show_error(self, message: ErrorMessage) -> None: ...
    def choose_decisions_files(self, start: Path) -> list[Path]:
        """The decisions files the user picks ([] when cancelled)."""
    def choose_export_folder(self, start: Path) -> Path | None:
        """The folder the user picks (None when cancelled)."""
    def repeat(self, interval_ms: int, action: Callable[[], None]) -> None:
        """Call ``action`` every ``interval_ms`` milliseconds while the window lives."""


def readers_display(statuses: list[ReaderStatus], total: int, empty: str = NO_FILES) -> ReadersDisplay:
    """The Readers table for ``statuses`` in a study of ``total`` scored pairs (``empty``: the
    sentence when there are none)."""
    rows = tuple(
        ReaderRow(
            cells=(
                reader_label(s.reader_id, s.simulated),
                f"{s.answered} / {s.total}",
                str(s.flagged),
                ", ".join(s.modes),
                s.last_answer.replace("T", " ")[:19],
                "intact" if s.chain_ok else f"BROKEN: {s.chain_reason}",
            ),
            tooltip=SIMULATED_TIP if s.simulated else "",
            broken=not s.chain_ok,
        )
        for s in statuses
    )
    done = sum(s.complete for s in statuses)
    summary = f"{len(statuses)} reader(s); {done} finished all {total} pairs." if statuses else empty
    return ReadersDisplay(READER_COLUMNS, rows, summary)


def merge_report_html(items: list[MergeItem]) -> str:
    """Each collected file's verdict, and each conflicting answer under it (rich text)."""
    lines = []
    for it in items:
        lines.append(
            f"<b>{it.status}</b> {escape(it.reader_id or '?')} — {escape(it.source.name)}: "
            f"{escape(it.detail)}"
        )
        for d in it.differences:
            lines.append(
                f"&nbsp;&nbsp;pair {escape(str(d['pair_id']))}: collected {escape(str(d['existing']))}, "
                f"incoming {escape(str(d['incoming']))}"
            )
    return "<br>".join(lines)


def default_title(titles: list[str]) -> str:
    """The table shown first: Table 2 (the AUCs) when there is one."""
    return next((t for t in titles if t.startswith("Table 2")), titles[0] if titles else "")


class CoordinatorController:
    """Decides what the coordinator view shows; no layout here.

    ``study``: the study package; ``key``: its key (refused, with a
    :class:`studies.errors.StudyError`, when its SHA-256 is not the manifest's);
    ``n_boot``: bootstrap resamples of the analysis; ``server``: the decisions server's record
    of the study, read instead of the study's decisions folder (None: the folder);
    ``progress``: the live progress poller of that server (started by the caller). The
    controller owns both: :meth:`close` stops them.
    """

    def __init__(self, study: str | Path, key: str | Path, view: CoordinatorViewLike, *,
                 n_boot: int = 10_000, server: ServerDecisions | None = None,
                 progress: ProgressPoller | None = None) -> None:
        self.study = Path(study)
        self.key = Path(key)
        self.view = view
        self.n_boot = n_boot
        self.server, self.progress = server, progress
        self.manifest = load_manifest(self.study)
        verify_key(self.study, self.key)  # refuse a key that does not belong to this study
        self.statuses: list[ReaderStatus] = []
        self.results: StudyResults | None = None
        self._signature: tuple | None = None
        self._tables: dict[str, PaperTable] = {}
        self._title = ""
        view.bind_actions(refresh=lambda: self.refresh(force=True), collect=self.choose_and_collect,
                     export=self.choose_and_export, choose_table=self.choose_table)
        view.set_export_enabled(False, NO_RESULTS)
        if server is not None:
            view.set_collect_enabled(False, SERVER_COLLECT_TIP)

    def start(self) -> None:
        """Show the current state, then read the decisions files again every :data:`REFRESH_MS`
        (and redraw the server's live progress every :data:`PROGRESS_MS`)."""
        self.refresh(force=True)
        self.view.repeat(REFRESH_MS, self.refresh)
        if self.progress is not None:
            self.show_progress()
            self.view.repeat(PROGRESS_MS, self.show_progress)

    def show_progress(self) -> None:
        """Redraw the live progress table from the poller's latest answer (no network here)."""
        if self.progress is None:
            return
        snap = self.progress.snapshot
        status = status_line(snap)
        if self.server is not None and self.server.error:
            status = f"{status}. {self.server.error}"
        self.view.show_server_progress(ServerProgressDisplay(
            PROGRESS_COLUMNS, tuple(describe_progress(snap)), status))

    def close(self) -> None:
        """Stop the progress poller and drop the server snapshot (idempotent)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self.server is not None:
            self.server.close()

    @contextlib.contextmanager
    def _reported(self, context: str) -> Iterator[None]:
        """Run a block; an exception inside is shown in the view instead of escaping."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the view shows it; the window keeps working
            self.view.show_error(describe(exc, context))

    def _files_signature(self) -> tuple:
        return tuple((s.path.name, s.path.stat().st_mtime_ns, s.answered) for s in self.statuses if s.path.exists())

    def _read_statuses(self) -> list[ReaderStatus]:
        if self.server is None:
            return reader_statuses(self.study)
        return sorted((reader_status(p, self.manifest) for p in self.server.fetch()), key=lambda s: s.reader_id)

    def refresh(self, *, force: bool = False) -> None:
        """Re-read the decisions files (or the server's rows); re-run the analysis when any of
        them changed."""
        source = "the decisions server" if self.server is not None else "the decisions files"
        with self._reported(f"Reading {source}"):
            self.statuses = self._read_statuses()
            empty = NO_FILES if self.server is None else NO_SERVER_ROWS
            self.view.show_readers(readers_display(self.statuses, len(self.manifest.pairs), empty))
            signature = self._files_signature()
            if force or signature != self._signature:
                self._signature = signature
                self._analyze()

    def _analyze(self) -> None:
        files = analyzable(self.statuses)
        broken = [s.reader_id for s in self.statuses if not s.chain_ok]
        left_out = f" Left out (broken audit chain): {', '.join(broken)}." if broken else ""
        if not files:
            self.results = None
            self._tables, self._title = {}, ""
            self.view.show_results(ResultsDisplay(summary="No answers yet." + left_out))
        else:
            self.results = analyze_study(self.study, self.key, files, n_boot=self.n_boot)
            self.view.show_results(self._results_display(self.results, files, left_out))
        ready = self.results is not None
        self.view.set_export_enabled(ready, "" if ready else NO_RESULTS)

    def _results_display(self, results: StudyResults, files: list[Path], left_out: str) -> ResultsDisplay:
        s = results.summary
        simulated = tuple(st.reader_id for st in self.statuses if st.simulated and st.path in files)
        context = study_context(self.study, load_key(self.key), simulated)
        text = " ".join([f"{len(s['readers'])} reader(s), {s['n_pairs']} pairs.", *ai_sentences(s, context)])
        text += left_out
        text = " ".join([text, *mrmc_sentences(results), *(f"Note: {n}." for n in s.get("notes", []))])
        self._tables = {t.title: t for t in paper_tables_of(results)}
        titles = list(self._tables)
        if self._title not in self._tables:
            self._title = default_title(titles)
        return ResultsDisplay(summary=text, roc=roc_chart(results), strata=strata_chart(results),
                              titles=tuple(titles), title=self._title, table=self._tables.get(self._title))

    def choose_table(self, title: str) -> None:
        """Show the report's table ``title`` (kept when the results refresh)."""
        if title in self._tables:
            self._title = title
        self.view.show_table(self._tables.get(title))

    def collect(self, files: list[str | Path]) -> list[MergeItem]:
        """Merge decisions files from other workstations, show the verdicts, refresh."""
        items: list[MergeItem] = []
        with self._reported("Collecting decisions files"):
            items = merge_decisions(self.study, list(files), key=self.key)
            self.view.show_merge_report(merge_report_html(items))
        self.refresh()
        return items

    def export(self, out_dir: str | Path) -> dict | None:
        """Write every output of ``knee-study analyze`` into ``out_dir``."""
        if self.results is None:
            return None
        with self._reported("Exporting the results"):
            info = write_outputs(self.results, out_dir, force=True, study=self.study)
            self.view.show_export_status(
                f"Wrote {len(info['files'])} files to {info['out']}: {', '.join(info['files'])}. {info['pdf']}."
            )
            return info
        return None

    def choose_and_collect(self) -> None:
        """Ask the user for decisions files from other workstations and collect them (not
        with a decisions server: its readers' apps send their answers)."""
        if self.server is not None:
            return
        files = self.view.choose_decisions_files(Path.home())
        if files:
            self.collect(files)

    def choose_and_export(self) -> None:
        """Ask the user for a folder; export into a ``results-<study id>`` folder inside it."""
        folder = self.view.choose_export_folder(self.study.parent)
        if folder:
            self.export(Path(folder) / f"results-{self.manifest.study_id}")
