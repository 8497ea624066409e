"""``knee-study server init | add-study | add-reader | add-coordinator | status``.

Setting up a decisions server (PostgreSQL) for a multi-site study; run by the coordinator
with an administrator's connection (see ``docs/multi-site.md``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studies.cli.store_args import add_store_arguments


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("server", help="set up and watch a decisions server (PostgreSQL, multi-site studies)",
                         description="Create the schema, register studies and readers, show progress.")
    ssub = top.add_subparsers(dest="server_command", metavar="ACTION")
    ssub.required = True

    p = ssub.add_parser("init", help="create or upgrade the schema (idempotent)")
    add_store_arguments(p, required=True)
    p.set_defaults(func=_init)

    p = ssub.add_parser("add-study", help="register a study by its id and key hash")
    p.add_argument("study", type=Path, metavar="STUDY", help="the study package folder")
    p.add_argument("--key", required=True, type=Path, help="the study key (checked against the manifest)")
    add_store_arguments(p, required=True)
    p.set_defaults(func=_add_study)

    p = ssub.add_parser("add-reader", help="create a reader's login role and write its credentials")
    p.add_argument("study", metavar="STUDY", help="the study package folder, or its study id")
    p.add_argument("--reader", required=True, help="the reader id")
    p.add_argument("--out", type=Path, default=None,
                   help="the PGPASSFILE to write (mode 0600; default ./<reader>.pgpass)")
    add_store_arguments(p, required=True)
    p.set_defaults(func=_add_reader)

    p = ssub.add_parser("add-coordinator", help="create a login role that reads every study")
    p.add_argument("name", help="the role name (lower-case letters, digits, '_')")
    p.add_argument("--out", type=Path, default=None, help="the PGPASSFILE to write (default ./<name>.pgpass)")
    add_store_arguments(p, required=True)
    p.set_defaults(func=_add_coordinator)

    p = ssub.add_parser("status", help="studies, readers and their progress")
    p.add_argument("--study", default=None, help="only this study id")
    add_store_arguments(p, required=True)
    p.set_defaults(func=_status)


def _backend(args):
    from studies.cli.store_args import backend_of
    from studies.errors import OptionError

    backend = backend_of(args)
    if not hasattr(backend, "connect"):
        raise OptionError("store", "a postgresql:// URL", args.store)
    return backend


def _init(args: argparse.Namespace) -> int:
    from studies.decisions.pg.schema import SCHEMA_VERSION, migrate

    backend = _backend(args)
    with backend.connect() as conn:
        applied = migrate(conn)
    done = f"applied migration(s) {', '.join(map(str, applied))}" if applied else "already up to date"
    print(f"{backend.description}: schema version {SCHEMA_VERSION}, {done}")
    return 0


def _add_study(args: argparse.Namespace) -> int:
    from studies.decisions.pg.admin import add_study
    from studies.package import load_manifest, verify_key

    verify_key(args.study, args.key)
    manifest = load_manifest(args.study)
    with _backend(args).connect() as conn:
        new = add_study(conn, manifest)
    print(f"study {manifest.study_id} {'registered' if new else 'was already registered'} "
          f"(key {manifest.key_sha256[:16]}, {len(manifest.pairs)} scored pairs)")
    return 0


def _study_id(study: str) -> str:
    if Path(study).is_dir():
        from studies.package import load_manifest

        return load_manifest(study).study_id
    return study


def _handover(creds, what: str) -> None:
    print(f"{what}: login role {creds.role}; its password is in {creds.pgpass} (mode 0600, shown nowhere else).")
    print("Hand that file over privately (not by e-mail in clear); on the workstation keep it readable only "
          "by its user and set:")
    print(f"  export PGPASSFILE={creds.pgpass.name}   # the file's path there")


def _add_reader(args: argparse.Namespace) -> int:
    from studies.decisions.pg.admin import add_reader

    backend = _backend(args)
    study_id = _study_id(args.study)
    out = args.out or Path(f"{args.reader}.pgpass")
    with backend.connect() as conn:
        creds = add_reader(conn, backend.address, study_id, args.reader, out)
    _handover(creds, f"reader {args.reader} of study {study_id}")
    host = backend.address.params.get("host", "")
    print(f"  knee-reader STUDY --reader {args.reader} --store 'postgresql://{creds.role}@"
          f"{'' if host.startswith('/') else host}/{backend.address.params.get('dbname', '')}"
          f"{'?host=' + host if host.startswith('/') else ''}'")
    return 0


def _add_coordinator(args: argparse.Namespace) -> int:
    from studies.decisions.pg.admin import add_coordinator

    backend = _backend(args)
    with backend.connect() as conn:
        creds = add_coordinator(conn, backend.address, args.name, args.out or Path(f"{args.name}.pgpass"))
    _handover(creds, "coordinator")
    return 0


def _status(args: argparse.Namespace) -> int:
    from studies.decisions.pg.admin import progress, studies
    from studies.decisions.pg.schema import schema_version

    backend = _backend(args)
    with backend.connect() as conn:
        print(f"{backend.description}: schema version {schema_version(conn)}")
        rows = progress(conn, args.study)
        for sid, key, _n_pairs, n_scored in studies(conn):
            if args.study and sid != args.study:
                continue
            print(f"study {sid} (key {key[:16]}): {n_scored} scored pairs")
            for r in (r for r in rows if r.study_id == sid):
                last = f", last row {r.last_ts}" if r.last_ts else ", nothing received yet"
                conf = f", {r.conflicts} CONFLICT(S) refused" if r.conflicts else ""
                print(f"  {r.reader_id:12s} {r.answered}/{r.scored} answered ({r.rows} rows{last}){conf}")
    return 0
