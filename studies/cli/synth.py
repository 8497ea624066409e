"""``knee-study synth-cohort``: write a synthetic knee cohort in either OAI download style."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth-cohort",
        help="write a synthetic OAI knee cohort (OAI releases or NDA package style, with the real data's quirks)",
        description=(
            "Write a synthetic knee cohort laid out the way the OAI distributes its data: the OAI's own "
            "releases (--style oai: <VV>m/contents.csv, series folders, '|' tables) or the NIMH Data "
            "Archive's package (--style nda: image03.txt, one .tar.gz per series, NDA structures), with "
            "the real data's quirks on at realistic rates (repeat and truncated series, several reading "
            "projects, bone-on-bone knees, missing codes ...), and the planted ground truth under "
            "synthetic/ (see docs/synthetic-cohort.md)."
        ),
    )
    p.add_argument("--out", required=True, help="output folder (must be empty or new, unless --force)")
    p.add_argument("--patients", type=int, required=True, help="number of participants (>= 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same cohort (default 0)")
    p.add_argument("--size", default="small", help="image size: 'small' (96 px, for tests) or 'full' (OAI size)")
    p.add_argument("--style", default="oai",
                   help="download style: 'oai' (the OAI's releases, default) or 'nda' (the NDA package)")
    p.add_argument("--progressor-rate", type=float, default=None, metavar="R",
                   help="share of knees that progress per 12 months, in (0, 1) (default: realistic, about 0.09)")
    p.add_argument("--images", default="all",
                   help="which series to write: 'all', 'baseline' (00m only) or 'none' (default all)")
    p.add_argument("--no-quirks", action="store_true",
                   help="turn every real-data quirk off (then --quirk turns single ones back on)")
    p.add_argument("--quirk", action="append", default=[], metavar="NAME=RATE",
                   help="set one quirk's rate, 0 turns it off (repeatable), e.g. --quirk repeat_scans=0.1; "
                        "names and defaults in docs/synthetic-cohort.md")
    p.add_argument("--flat-contents", action="store_true",
                   help="oai style: per-release contents.<release>.csv in --out instead of <VV>m/contents.csv")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes writing images (default: up to 2)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(func=run)


def quirks_from_args(args: argparse.Namespace):
    """The :class:`~studies.synth.quirks.Quirks` of ``--no-quirks`` and ``--quirk NAME=RATE``."""
    from studies.synth.quirks import DEFAULT_QUIRKS, NO_QUIRKS, parse_rate

    base = NO_QUIRKS if args.no_quirks else DEFAULT_QUIRKS
    return base.with_rates(dict(parse_rate(text) for text in args.quirk))


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from studies.progress import terminal_progress
    from studies.synth import generate_cohort
    from studies.synth.images import default_workers
    from studies.synth.truth import SERIES_NAME, SYNTHETIC_DIR, load_synthetic

    out = generate_cohort(
        args.out, patients=args.patients, seed=args.seed, size=args.size, style=args.style,
        progressor_rate=args.progressor_rate, images=args.images, force=args.force, quirks=quirks_from_args(args),
        flat_contents=args.flat_contents, progress=terminal_progress("synth-cohort: writing series"),
        workers=default_workers() if args.workers is None else args.workers,
    )
    _, truth = load_synthetic(out)
    series = pd.read_csv(out / SYNTHETIC_DIR / SERIES_NAME)
    written = sum((out / p).exists() for p in series.path)
    seen = truth[truth.attended]
    windows = truth.jsn_next_mm.notna()
    share = float((truth.jsn_next_mm[windows] <= -0.5).mean())
    index = "image03.txt" if args.style == "nda" else "the contents files"
    print(f"Wrote a synthetic OAI cohort ({args.style} download style) to {out}")
    print(f"  {args.patients} participants, {len(seen)} knee-visits, {len(series)} series in {index}, "
          f"{written} written ({args.size} size)")
    print(f"  quirks: {int(series.repeat.sum())} repeat series, {int(series.truncated.sum())} truncated, "
          f"{int(truth.bone_on_bone.sum())} bone-on-bone knee-visits")
    print(f"  {share:.0%} of 12-month windows progress (JSN <= -0.5 mm)")
    print(f"  ground truth: {out / SYNTHETIC_DIR} (see docs/synthetic-cohort.md)")
    if written < len(series):
        print("  the other series are written on demand by studies.synth.materialize")
    return 0
