"""``knee-study verify-decisions``, ``export-decisions`` and ``simulate-reader``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studies.cli.store_args import add_store_arguments, backend_of


def register(sub: argparse._SubParsersAction) -> None:
    from studies.decisions.modes import DEFAULT_MODE, mode_names

    others = [m for m in mode_names() if m != DEFAULT_MODE]
    modes_help = f"{DEFAULT_MODE} (default), {', '.join(others[:-1])} or {others[-1]}"
    p = sub.add_parser(
        "verify-decisions",
        help="check the audit chain of readers' decisions files",
        description="Say whether each decisions file's audit chain is intact and, if not, where "
        "it breaks. Read-only: safe while a reader is still reading. Exit status 1 if any is broken.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", type=Path,
                   help="decisions/<reader>.sqlite (with --store: local files to compare with the server)")
    _add_server_options(p)
    p.set_defaults(func=_verify)

    p = sub.add_parser(
        "export-decisions",
        help="write readers' decisions to one CSV",
        description="Long format, one row per answer (sequential reading gives the locked unaided "
        "answer, ai_shown=False, and the final one); practice pairs left out; times in UTC.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", type=Path,
                   help="decisions files, or folders holding them (STUDY/decisions); none with --store")
    p.add_argument("--out", required=True, type=Path, help="the CSV to write (replaced atomically)")
    _add_server_options(p)
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "simulate-reader",
        help="answer a study as a simulated reader (demos, power analysis, tests)",
        description="Write STUDY/decisions/<reader>.sqlite through the reader app's store, choosing "
        "the progressor with probability --accuracy. Prints one line per committed answer. "
        "Resumes where an earlier run stopped.",
    )
    p.add_argument("study", type=Path, metavar="STUDY")
    p.add_argument("--key", required=True, type=Path, help="the study's key (checked against the manifest)")
    p.add_argument("--reader", required=True, help="reader id (becomes the file name)")
    p.add_argument("--accuracy", required=True, type=float, help="probability of choosing the progressor, 0..1")
    p.add_argument("--seed", type=int, default=None, help="default: derived from the study and reader ids")
    p.add_argument("--delay", type=float, default=0.0, metavar="SECONDS", help="pause before each answer")
    p.add_argument("--mode", default=DEFAULT_MODE, help=modes_help)
    add_store_arguments(p)
    p.set_defaults(func=_simulate)

    p = sub.add_parser(
        "merge-decisions",
        help="collect readers' decisions files from several workstations into a study",
        description="Copy each FILE into STUDY/decisions/ after checking its audit chain and that it "
        "belongs to this study. A file identical to (or older than) the collected one is skipped; one "
        "that continues it replaces it; one that diverges from it (the same reader on two machines) "
        "overwrites nothing, is kept under decisions/conflicts/ and its differing answers are listed. "
        "Exit status 1 when any file is a conflict or invalid.",
    )
    p.add_argument("study", type=Path, metavar="STUDY")
    p.add_argument("files", nargs="+", metavar="FILE", type=Path, help="decisions files from workstations")
    p.add_argument("--dry-run", action="store_true", help="say what would happen, write nothing")
    p.add_argument("--key", type=Path, metavar="KEY",
                   help="the study key: record each collected file's chain head beside it, and refuse "
                   "a file shorter than, or rewritten below, a head recorded earlier")
    add_store_arguments(p)
    p.set_defaults(func=_merge)


def _add_server_options(p: argparse.ArgumentParser) -> None:
    add_store_arguments(p)
    p.add_argument("--study", default=None, help="with --store: the study package folder or its study id")


def _files_required(args: argparse.Namespace) -> None:
    if not args.files:
        from studies.errors import OptionError

        raise OptionError("files", "at least one decisions file (or --store URL --study STUDY)", [])


def _verify(args: argparse.Namespace) -> int:
    from studies.decisions import verify_file
    from studies.errors import StudyError

    backend = backend_of(args)
    if args.store:
        from studies.cli.decisions_server import verify

        return verify(args, backend)
    _files_required(args)
    broken = 0
    for f in args.files:
        try:
            r = verify_file(f)
        except StudyError as exc:
            if not f.exists():  # a wrong path is a usage error (exit status 2)
                raise
            broken += 1  # not a decisions file, or damaged: say so, check the rest
            print(f"{f}: UNREADABLE: {exc}")
            continue
        if r.ok:
            head = f", head {r.head[:16]}" if r.head else ""
            wal = f.with_name(f.name + "-wal")
            note = (f" (still open, or not closed cleanly: keep {wal.name} with it when copying)"
                    if wal.is_file() and wal.stat().st_size else "")
            print(f"{f}: OK, audit chain intact ({r.rows} rows{head}){note}")
        else:
            broken += 1
            where = "in the header or stored order" if r.broken_at == 0 else f"at row {r.broken_at}"
            print(f"{f}: BROKEN {where}: {r.reason}")
    return 1 if broken else 0


def _export(args: argparse.Namespace) -> int:
    from studies.decisions import export_decisions
    from studies.errors import InputFileError

    if args.store:
        from studies.cli.decisions_server import export

        return export(args, backend_of(args))
    _files_required(args)
    files: list[Path] = []
    for f in args.files:
        if f.is_dir():
            found = sorted(f.glob("*.sqlite"))
            if not found:
                raise InputFileError(f, "this folder holds no decisions files (*.sqlite)")
            files.extend(found)
        else:
            files.append(f)
    table = export_decisions(files, args.out)
    bad = int((~table["audit_ok"]).sum())
    print(f"wrote {len(table)} answers of {table['reader'].nunique()} reader(s) to {args.out}"
          + (f"; {bad} answer(s) come from a broken audit chain (audit_ok=False)" if bad else ""))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from studies.cli.decisions_server import finish_push, push_report
    from studies.decisions.simulate import simulate_reader
    from studies.package import check_reader_id, decisions_path

    check_reader_id(args.reader)
    backend = backend_of(args)
    res = simulate_reader(args.study, args.key, args.reader, args.accuracy, seed=args.seed,
                          delay=args.delay, mode=args.mode,
                          on_decision=push_report(backend, decisions_path(args.study, args.reader)))
    resumed = f" (resumed: {res.already} pair(s) were already answered)" if res.already else ""
    print(f"{args.reader}: {res.committed} answer(s) written to {res.path}{resumed}", file=sys.stderr)
    return finish_push(backend, res.path, args.reader)


def _merge(args: argparse.Namespace) -> int:
    from studies.decisions.merge import merge_decisions

    if args.key is not None:
        from studies.package import verify_key

        verify_key(args.study, args.key)
    if args.store:
        from studies.cli.decisions_server import merge

        return merge(args, backend_of(args))
    items = merge_decisions(args.study, list(args.files), dry_run=args.dry_run, key=args.key)
    bad = 0
    for item in items:
        who = item.reader_id or "?"
        print(f"{item.status:9s} {who:12s} {item.source}: {item.detail}")
        for d in item.differences:
            print(f"          pair {d['pair_id']}: collected {d['existing']}, incoming {d['incoming']}")
        if item.target is not None and item.status == "conflict":
            print(f"          kept aside as {item.target}")
        bad += item.status in ("conflict", "invalid")
    if args.dry_run:
        print("dry run: nothing was written")
    return 1 if bad else 0
