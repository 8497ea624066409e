"""``knee-study synth-cohort``: write a synthetic knee cohort in the OAI's layout."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "synth-cohort",
        help="write a synthetic OAI-format knee cohort (tables, contents.csv, DICOM)",
        description=(
            "Write a synthetic knee cohort laid out the way the OAI distributes its data: "
            "per-visit contents.csv and DICOM series, the OAI clinical and X-ray tables, and the "
            "planted ground truth under synthetic/ (see docs/synthetic-cohort.md)."
        ),
    )
    p.add_argument("--out", required=True, help="output folder (must be empty or new, unless --force)")
    p.add_argument("--patients", type=int, required=True, help="number of participants (>= 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same cohort (default 0)")
    p.add_argument("--size", default="small", help="image size: 'small' (96 px, for tests) or 'full' (OAI size)")
    p.add_argument("--progressor-rate", type=float, default=None, metavar="R",
                   help="share of knees that progress per 12 months, in (0, 1) (default: realistic, about 0.09)")
    p.add_argument("--images", default="all",
                   help="which series to write: 'all', 'baseline' (00m only) or 'none' (default all)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes writing images (default: up to 2)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from studies.progress import ProgressBar
    from studies.synth import generate_cohort, load_synthetic
    from studies.synth.cohort import default_workers

    out = generate_cohort(
        args.out, patients=args.patients, seed=args.seed, size=args.size,
        progressor_rate=args.progressor_rate, images=args.images, force=args.force,
        progress=ProgressBar("synth-cohort: writing series"),
        workers=default_workers() if args.workers is None else args.workers,
    )
    _, truth = load_synthetic(out)
    seen = truth[truth.attended]
    listed = int(seen.has_cor_iw_tse.sum() + seen.has_sag_3d_dess.sum())
    written = sum(1 for p in out.glob("[0-9][0-9]m/*/*/*/*/001"))
    windows = truth.jsn_next_mm.notna()
    share = float((truth.jsn_next_mm[windows] <= -0.5).mean())
    print(f"Wrote a synthetic OAI-format cohort to {out}")
    print(f"  {args.patients} participants, {len(seen)} knee-visits, {listed} series in contents.csv, "
          f"{written} written as DICOM ({args.size} size)")
    print(f"  {share:.0%} of 12-month windows progress (JSN <= -0.5 mm)")
    print(f"  ground truth: {out / 'synthetic' / 'ground_truth.csv'} (see docs/synthetic-cohort.md)")
    if written < listed:
        print("  the other series are written on demand by studies.synth.materialize")
    return 0
