"""``knee-study build``, ``validate`` and ``demo``: from a cohort to a blinded study package."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from studies.locations import DEMO_PAIRS, DEMO_PATIENTS


def register(sub: argparse._SubParsersAction) -> None:
    from studies.cli.ingest_args import add_ingest_arguments
    from studies.decisions.modes import mode_names

    p = sub.add_parser(
        "build",
        help="build a blinded study package and its key from a cohort",
        description="Sample stratified progressor / non-progressor pairs at baseline, convert their "
        "images to oriented anonymous NIfTI, write the package (--out) and the coordinator key "
        "(--key, outside the package). Prints the build report. Negative values need '=': "
        "--bounds=-1.1,-0.6,-0.5 (or give magnitudes: --bounds 1.1,0.6,0.5).",
    )
    p.add_argument(
        "--cohort",
        required=True,
        type=Path,
        help="OAI-layout folder, or a plain CSV (or its folder)",
    )
    p.add_argument("--out", required=True, type=Path, help="the study package folder to create")
    p.add_argument("--key", required=True, type=Path, help="the key file to write (outside --out)")
    p.add_argument("--pairs", type=int, default=150, help="scored pairs (default 150)")
    p.add_argument("--seed", type=int, default=0, help="sampling and id seed (default 0)")
    p.add_argument(
        "--strata",
        default=None,
        metavar="A,L,D",
        help="pairs per stratum almost_certain,likely,doubtful (default 10,130,10 scaled to --pairs)",
    )
    p.add_argument(
        "--bounds",
        default=None,
        metavar="B0,B1,B2",
        help="JSN bounds in mm (default -1.1,-0.6,-0.5); write --bounds=-1.1,-0.6,-0.5 or give magnitudes 1.1,0.6,0.5",
    )
    p.add_argument(
        "--jsw-sd",
        type=float,
        default=None,
        metavar="SD",
        help="JSW measurement SD (mm): sets the first bound to -1.96*sqrt(2)*SD (Parsons et al.)",
    )
    p.add_argument(
        "--match",
        default="",
        metavar="KEYS",
        help="match non-progressors on sex,bmi,kl (any subset)",
    )
    p.add_argument(
        "--practice", type=int, default=0, help="practice pairs (never scored; default 0)"
    )
    p.add_argument(
        "--confidence", type=int, default=5, help="confidence scale 1..N (0: none; default 5)"
    )
    p.add_argument("--modes", default=",".join(mode_names()), help="allowed reading modes")
    p.add_argument(
        "--educational",
        action="store_true",
        help="allow revealing answers at the end (teaching only)",
    )
    p.add_argument(
        "--n4", action="store_true", help="N4 bias-field correction of the displayed images"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="conversion processes (default: CPU count)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out and --key")
    add_ingest_arguments(p)
    p.set_defaults(func=_build)

    p = sub.add_parser(
        "validate",
        help="check a study package (and its key)",
        description="Check the manifest schema, every image (present, loads, RAS, slice axis, spacing, "
        "blank header), stray files, and with --key its hash and pairs. Prints every problem; "
        "exit status 1 if there is one.",
    )
    p.add_argument("study", type=Path, metavar="STUDY")
    p.add_argument("--key", type=Path, default=None, help="the study's key")
    p.set_defaults(func=_validate)

    p = sub.add_parser(
        "demo",
        help="a small demo study from a synthetic cohort",
        description="Write DIR/cohort (synthetic, enriched), DIR/study and DIR/key.json.",
    )
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    p.add_argument("--patients", type=int, default=DEMO_PATIENTS, help=f"synthetic participants (default {DEMO_PATIENTS})")
    p.add_argument("--pairs", type=int, default=DEMO_PAIRS, help=f"scored pairs (default {DEMO_PAIRS})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="replace a previous demo in DIR")
    p.set_defaults(func=_demo)


def _floats(text: str, option: str, n: int) -> tuple[float, ...]:
    from studies.errors import OptionError

    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != n:
        raise OptionError(option, f"{n} comma-separated numbers", text)
    return values


def parse_bounds(text: str | None, jsw_sd: float | None) -> tuple[float, ...]:
    """--bounds (signs optional: magnitudes are negated) and --jsw-sd -> (b0, b1, b2) in mm."""
    from studies.pairs import DEFAULT_BOUNDS, parsons_bound

    bounds = DEFAULT_BOUNDS if text is None else _floats(text, "bounds", 3)
    bounds = tuple(-abs(b) for b in bounds)
    if jsw_sd is not None:
        bounds = (parsons_bound(jsw_sd), *bounds[1:])
    return bounds


def _build(args: argparse.Namespace) -> int:
    from studies.builder import BuildOptions, build_study
    from studies.cli.ingest_args import ingest_options
    from studies.cohort.inspect import format_ingest
    from studies.pairs import SamplingConfig, format_report
    from studies.progress import terminal_progress

    strata = None
    if args.strata is not None:
        strata = tuple(int(v) for v in _floats(args.strata, "strata", 3))
        if args.pairs == 150 and sum(strata) != 150:  # --pairs left at its default: follow --strata
            args.pairs = sum(strata)
    sampling = SamplingConfig(
        n_pairs=args.pairs,
        strata=strata,
        bounds=parse_bounds(args.bounds, args.jsw_sd),
        match=tuple(m.strip() for m in args.match.split(",") if m.strip()),
        practice=args.practice,
        seed=args.seed,
    )
    options = BuildOptions(
        sampling=sampling,
        confidence=args.confidence,
        modes=tuple(m.strip() for m in args.modes.split(",") if m.strip()),
        educational=args.educational,
        n4=args.n4,
        workers=args.workers or os.cpu_count() or 1,
        force=args.force,
        jsw_sd=args.jsw_sd,
        ingest=ingest_options(args),
    )
    result = build_study(
        args.cohort, args.out, args.key, options, progress=terminal_progress("")
    )
    for warning in result.report["cohort"]["warnings"]:
        print(f"warning: {warning}")
    print(format_ingest(result.report["cohort"]))
    print(format_report(result.report))
    m = result.manifest
    print(
        f"wrote {result.study} ({len(m.pairs)} pairs, {len(m.practice_pairs)} practice, "
        f"{len(m.cases) * len(m.sequences)} volumes) and the key {result.key} "
        "(keep the key away from readers)"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from studies.progress import terminal_progress
    from studies.validate import validate_study

    problems = validate_study(args.study, args.key, progress=terminal_progress("checking images"))
    for p in problems:
        print(f"problem: {p}")
    if problems:
        print(f"{args.study}: {len(problems)} problem(s)")
        return 1
    print(f"{args.study}: OK" + (" (key matches)" if args.key else ""))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from studies.builder import build_demo
    from studies.pairs import format_report
    from studies.progress import terminal_progress

    result = build_demo(
        args.out,
        patients=args.patients,
        pairs=args.pairs,
        seed=args.seed,
        force=args.force,
        progress=terminal_progress("demo"),
    )
    print(format_report(result.report))
    print(f"demo ready: cohort {args.out / 'cohort'}, study {result.study}, key {result.key}")
    return 0
