"""The ``--store URL`` side of ``verify-decisions``, ``export-decisions``,
``simulate-reader`` and ``merge-decisions``: the same commands against a decisions server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studies.errors import OptionError


def study_id_of(study: str | Path | None) -> str:
    """A study id from ``--study`` (a package folder or the id itself)."""
    if not study:
        raise OptionError("study", "the study package folder or its study id (needed with --store)", study)
    if Path(study).is_dir():
        from studies.package import load_manifest

        return load_manifest(study).study_id
    return str(study)


def verify(args: argparse.Namespace, backend) -> int:
    """Check the server's chain (a coordinator's role), every reader's record on it, and each
    local FILE against the server's record of its reader; exit 1 on any break or difference."""
    from studies.decisions import verify_file
    from studies.decisions.pg.compare import compare_with_server
    from studies.decisions.pg.snapshot import fetch_rows, study_key_hash, verify_server_chain

    study_id = study_id_of(args.study)
    bad = 0
    with backend.connect() as conn:
        key = study_key_hash(conn, study_id)
        if key is None:
            print(f"{study_id}: server chain not checked: this role cannot read the study's registration "
                  "(a reader's role sees its own rows only; use the coordinator's)")
        else:
            ok, reason = verify_server_chain(fetch_rows(conn, study_id), study_id, key)
            bad += not ok
            print(f"{study_id}: server chain {'OK, ' if ok else 'BROKEN: '}{reason}")
    with backend.reader_files(study_id, []) as files:
        by_reader = {f.stem: f for f in files}
        for f in files:
            r = verify_file(f)
            bad += not r.ok
            state = f"OK, audit chain intact ({r.rows} rows, head {(r.head or '')[:16]})" if r.ok else f"BROKEN: {r.reason}"
            print(f"server record of {f.stem}: {state}")
        for local in args.files:
            from studies.decisions.merge import read_chain

            reader = read_chain(local).reader_id
            if reader not in by_reader:
                print(f"{local}: the server holds no record of reader {reader or '?'} that this role may read "
                      "(nothing sent yet, or another reader's role)")
                continue
            c = compare_with_server(local, by_reader[reader])
            if c.problems:
                bad += 1
                print(f"{local}: DIFFERS from the server's record of {reader or '?'}:")
                for p in c.problems:
                    print(f"  {p}")
            elif c.unsent:
                print(f"{local}: matches the server's record of {reader} ({c.server_rows} rows); "
                      f"{c.unsent} row(s) not yet sent")
            else:
                print(f"{local}: matches the server's record of {reader} ({c.server_rows} rows)")
    return 1 if bad else 0


def export(args: argparse.Namespace, backend) -> int:
    from studies.decisions import export_decisions

    if args.files:
        raise OptionError("files", "none with --store (the decisions come from the server)", [str(f) for f in args.files])
    study_id = study_id_of(args.study)
    with backend.reader_files(study_id, []) as files:
        if not files:
            raise OptionError("store", f"a server holding decisions of study {study_id}", "none")
        table = export_decisions(files, args.out)
    print(f"wrote {len(table)} answers of {table['reader'].nunique()} reader(s) from {backend.description} to {args.out}")
    return 0


def push_report(backend, path: Path):
    """A ``simulate-reader`` callback printing each committed answer; with a server, it is
    sent first and the line ends with "sent" or says that it waits locally."""
    def report(row, done: int, total: int) -> None:
        status = backend.after_write(path)
        print(f"committed {row.pair_id} ({row.phase}): chose {row.chosen_case} on the "
              f"{row.chosen_side} [{done}/{total}] {status}".rstrip(), flush=True)
    return report


def finish_push(backend, path: Path, reader: str) -> int:
    """Send what is left after a run; 0 when everything is on the server."""
    status = backend.after_write(path)
    if status and status != "sent":
        print(f"{reader}: {status}; run again (or open the reader app) to send it", file=sys.stderr)
    return 0


def merge(args: argparse.Namespace, backend) -> int:
    """Send each FILE to the server (as the URL's role); refused rows are reported."""
    from studies.decisions.pg.push import PushConflict, Pusher, ServerUnavailable

    bad = 0
    for f in args.files:
        if args.dry_run:
            print(f"would send {f}")
            continue
        pusher = Pusher(backend.address, f)
        try:
            state = pusher.push()
            print(f"sent      {f}: {state.sent} row(s) sent, {state.acked} on the server")
        except PushConflict as exc:
            bad += 1
            print(f"conflict  {f}: {exc}")
        except ServerUnavailable as exc:
            bad += 1
            print(f"unsent    {f}: {exc}")
        finally:
            pusher.close()
    if args.dry_run:
        print("dry run: nothing was sent")
    return 1 if bad else 0


def analyze_from_server(args: argparse.Namespace, run) -> int:
    """``analyze --store``: ``run(args)`` on the server's records of every reader (as files)."""
    from studies.cli.store_args import backend_of

    if args.decisions:
        raise OptionError("decisions", "none with --store (the decisions come from the server)",
                          [str(f) for f in args.decisions])
    backend = backend_of(args)
    study_id = study_id_of(args.study)
    with backend.reader_files(study_id, []) as files:
        if not files:
            raise OptionError("store", f"a server holding decisions of study {study_id}", "none")
        args.decisions = files
        return run(args)
