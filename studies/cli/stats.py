"""``knee-study roc | mrmc | analyze | power``: statistics and study results.

- ``roc FILE.csv --truth COL --positive VALUE --score COL [--score COL2]``: DeLong AUCs and,
  for two scores, their paired comparison; JSON on stdout.
- ``mrmc FILE.csv [--ai-reader ID] [--cov jackknife|delong]``: Obuchowski-Rockette analysis
  of long-format ratings ``reader,treatment,case,truth,rating``; JSON on stdout.
- ``analyze --study STUDY --key KEY [--decisions FILE...] --out DIR``: every result file.
- ``power --pairs N --readers R ...``: simulated power; JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def alpha_option(text: str) -> float:
    """argparse type of ``--alpha``: a number strictly between 0 and 1 (a usage error else)."""
    from studies.errors import OptionError
    from studies.stats.checks import check_alpha

    try:
        return check_alpha(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "roc",
        help="AUC with DeLong 95%% CI for one or two scores of a CSV table",
        description="Empirical ROC AUC with DeLong's 95% interval; for two scores, the paired "
        "DeLong test of their difference (as R's pROC). Higher scores mean positive.",
    )
    p.add_argument("file", type=Path, help="CSV table, one row per case")
    p.add_argument("--truth", required=True, help="column with the true class")
    p.add_argument("--positive", required=True, help="value of --truth that marks a positive case")
    p.add_argument(
        "--score", required=True, action="append", help="score column (give twice to compare two)"
    )
    p.add_argument("--alpha", type=alpha_option, default=0.05, help="1 - confidence level, in (0, 1) (default 0.05)")
    p.set_defaults(func=cmd_roc)

    p = sub.add_parser(
        "mrmc",
        help="multi-reader multi-case (Obuchowski-Rockette) analysis of a ratings CSV",
        description="Obuchowski-Rockette analysis with Hillis degrees of freedom of long-format "
        "ratings (columns reader, treatment (optional), case, truth, rating): random readers "
        "and cases (rrrc), fixed readers (frrc), fixed cases (rrfc).",
    )
    p.add_argument("file", type=Path)
    p.add_argument(
        "--ai-reader",
        metavar="ID",
        help="this reader is a standalone AI: compare it with the other (random) readers per treatment",
    )
    p.add_argument(
        "--cov",
        choices=("jackknife", "delong"),
        default="jackknife",
        help="covariance over cases: jackknife (Iowa OR-DBM MRMC, default) or DeLong",
    )
    p.add_argument("--alpha", type=alpha_option, default=0.05, help="1 - confidence level, in (0, 1)")
    p.set_defaults(func=cmd_mrmc)

    p = sub.add_parser(
        "analyze",
        help="analyse a study's decisions: tables, figures, exports, report",
        description="Verify the key's hash and every decisions file's audit chain, then write "
        "summary.json, decisions_long.csv, results.xlsx, the iMRMC and MRMCaov exports, "
        "figures, report.html and report.pdf (the same report, A4 or Letter) into --out.",
    )
    p.add_argument("--study", required=True, type=Path, help="the study package folder")
    p.add_argument(
        "--key", required=True, type=Path, help="the study's key file (kept away from readers)"
    )
    p.add_argument(
        "--decisions",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="decisions files (default: STUDY/decisions/*.sqlite)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder (new or empty)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=10_000,
        metavar="N",
        help="bootstrap resamples (default 10000)",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-pdf", action="store_true", help="do not write report.pdf")
    p.add_argument(
        "--paper",
        choices=("a4", "letter"),
        default="a4",
        help="page size of report.pdf (default a4)",
    )
    p.add_argument(
        "--include-simulated",
        action="store_true",
        help="include readers written by simulate-reader in the pooled analyses "
        "(they are always shown per reader, marked as simulated)",
    )
    from studies.cli.store_args import add_store_arguments

    add_store_arguments(p)  # --store URL: the decisions come from the server
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser(
        "power",
        help="simulated power of a reader study design",
        description="Simulate 2AFC studies and analyse each with the study's own analysis; "
        "prints the share of studies with p < alpha per design and factor model. --pairs and "
        "--readers take several values for a grid.",
    )
    p.add_argument("--pairs", type=int, nargs="+", required=True, metavar="N")
    p.add_argument("--readers", type=int, nargs="+", required=True, metavar="R")
    p.add_argument("--design", choices=("reader-vs-ai", "aided-vs-unaided", "both"), default="both")
    p.add_argument(
        "--reader-pc", type=float, default=0.58, help="expected unaided proportion correct (0.58)"
    )
    p.add_argument(
        "--ai-pc", type=float, default=0.65, help="expected AI proportion correct (0.65)"
    )
    p.add_argument(
        "--aided-pc", type=float, default=0.63, help="expected aided proportion correct (0.63)"
    )
    p.add_argument(
        "--pair-sd", type=float, default=1.0, help="SD of pair easiness, probit scale (1.0)"
    )
    p.add_argument(
        "--reader-sd", type=float, default=0.15, help="SD of reader skill, probit scale (0.15)"
    )
    p.add_argument("--rho", type=float, default=0.5, help="aided/unaided noise correlation (0.5)")
    p.add_argument(
        "--sims", type=int, default=1000, help="simulated studies per design point (1000)"
    )
    p.add_argument("--alpha", type=alpha_option, default=0.05, help="1 - confidence level, in (0, 1)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_power)


def _print_json(obj: dict) -> None:
    from studies.stats.jsonable import jsonable

    json.dump(jsonable(obj), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def cmd_roc(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from studies.errors import InputFileError, OptionError, did_you_mean
    from studies.stats.roc import auc_ci, delong_test

    if len(args.score) > 2:
        raise OptionError("score", "one or two score columns", args.score)
    if not args.file.is_file():
        raise InputFileError(args.file, "file not found", hint="Check the path")
    # the truth column as written: with an empty cell pandas would read 1 as 1.0
    df = pd.read_csv(args.file, dtype={args.truth: str})
    for col in (args.truth, *args.score):
        if col not in df.columns:
            raise InputFileError(
                args.file,
                f"no column '{col}'",
                hint=(
                    did_you_mean(col, df.columns)
                    + f" Columns are: {', '.join(map(str, df.columns))}"
                ).strip(),
            )
    values = set(df[args.truth].dropna().astype(str))
    if args.positive not in values:
        raise InputFileError(
            args.file,
            f"no row has the --positive value {args.positive!r}",
            column=args.truth,
            hint=f"Values there: {', '.join(sorted(values)[:10])}",
        )
    scores = {}
    for col in args.score:
        s = pd.to_numeric(df[col], errors="coerce")
        bad = s.isna() & df[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(
                args.file, "score is not a number", column=col, row=i + 1, value=df[col].iloc[i]
            )
        scores[col] = s
    keep = df[args.truth].notna()
    for s in scores.values():
        keep &= s.notna()
    truth = (df.loc[keep, args.truth].astype(str) == args.positive).to_numpy()
    out: dict = {
        "file": str(args.file),
        "n_positive": int(truth.sum()),
        "n_negative": int((~truth).sum()),
        "n_dropped_missing": int((~keep).sum()),
        "method": "DeLong",
        "alpha": args.alpha,
        "scores": {},
    }
    for col, s in scores.items():
        est = auc_ci(truth, s[keep].to_numpy(), args.alpha)
        out["scores"][col] = {"auc": est.auc, "se": est.se, "ci": list(est.ci),
                              **({"note": est.note} if est.note else {})}
    if len(args.score) == 2:
        a, b = args.score
        cmp = delong_test(truth, scores[a][keep].to_numpy(), scores[b][keep].to_numpy(), args.alpha)
        out["comparison"] = {
            "first": a,
            "second": b,
            "difference": cmp.difference,
            "se": cmp.se,
            "z": cmp.z,
            "p": cmp.p,
            "ci": list(cmp.ci),
            **({"note": cmp.note} if cmp.note else {}),
        }
    _print_json(out)
    return 0


def cmd_mrmc(args: argparse.Namespace) -> int:
    import numpy as np

    from studies.errors import OptionError
    from studies.stats.covariance import COV_METHODS
    from studies.stats.longformat import read_ratings_csv
    from studies.stats.mrmc import or_analysis, standalone_vs_readers

    table = read_ratings_csv(args.file)
    cov_fn = COV_METHODS[args.cov]
    out: dict = {
        "file": str(args.file),
        "covariance": args.cov,
        "alpha": args.alpha,
        "n_cases": len(table.cases),
        "n_positive": int(table.truth.sum()),
        "n_negative": int((~table.truth).sum()),
    }
    if args.ai_reader is not None:
        if args.ai_reader not in table.readers:
            raise OptionError(
                "ai-reader",
                f"one of the readers in {args.file} ({', '.join(table.readers[:20])})",
                args.ai_reader,
            )
        rest, ai = table.without_reader(args.ai_reader)
        if len(rest.readers) < 2:
            raise OptionError(
                "ai-reader", "a file with at least two other readers", len(rest.readers)
            )
        out["ai_reader"] = args.ai_reader
        out["treatments"] = {}
        for i, tr in enumerate(table.treatments):
            theta, cov = cov_fn(table.truth, np.vstack([rest.ratings[i], ai[i]]))
            res = standalone_vs_readers(
                theta[:-1], theta[-1], cov, readers=rest.readers, alpha=args.alpha
            )
            out["treatments"][tr] = res.to_dict()
        if len(table.treatments) == 1:
            out.update(out.pop("treatments")[table.treatments[0]])
        _print_json(out)
        return 0
    t, r, _ = table.ratings.shape
    if r < 2:
        raise OptionError("file", "ratings of at least two readers", r)
    theta, cov = cov_fn(table.truth, table.scores())
    theta = theta.reshape(t, r)
    if t == 1:
        from studies.stats.mrmc import one_sample

        est = one_sample(theta[0], cov, args.alpha, table.treatments[0])
        out.update(
            {
                "treatments": table.treatments,
                "readers": table.readers,
                "auc": {
                    table.treatments[0]: dict(zip(table.readers, theta[0].tolist(), strict=True))
                },
                "treatment_auc": {table.treatments[0]: float(theta.mean())},
                **{m: {"single": [vars(e)]} for m, e in est.items()},
            }
        )
    else:
        out.update(
            or_analysis(
                theta, cov, treatments=table.treatments, readers=table.readers, alpha=args.alpha
            ).to_dict()
        )
    _print_json(out)
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    if getattr(args, "store", None):
        from studies.cli.decisions_server import analyze_from_server

        return analyze_from_server(args, _analyze)
    return _analyze(args)


def _analyze(args: argparse.Namespace) -> int:
    from studies.analysis import analyze_study
    from studies.analysis.exports import check_outside_study, write_outputs
    from studies.atomic import check_output_dir
    from studies.progress import terminal_progress

    check_outside_study(args.out, args.study, args.key)
    check_output_dir(args.out, force=args.force)
    res = analyze_study(
        args.study,
        args.key,
        args.decisions,
        n_boot=args.bootstrap,
        seed=args.seed,
        include_simulated=args.include_simulated,
        progress=terminal_progress("analyse"),
    )
    written = write_outputs(
        res, args.out, force=args.force, pdf=not args.no_pdf, paper=args.paper, study=args.study
    )
    s = res.summary
    print(f"study {s.get('study_id')}: {s['n_pairs']} pairs, readers {', '.join(s['readers'])}")
    for r in res.tables["readers"].to_dict("records"):
        sim = " (simulated)" if r.get("simulated") else ""
        print(
            f"  {r['reader'] + sim:>10} {r['condition']:<17} PC {r['pc']:.3f} "
            f"(95% Wilson {r['wilson_lo']:.3f}-{r['wilson_hi']:.3f}), n={r['n']}, flagged {r['n_flagged']}"
        )
    if s.get("ai"):
        a = s["ai"]
        print(
            f"  {'AI':>10} {'same pairs':<17} PC {a['pairs']['pc']:.3f}; full AUC {a['auc']['auc']:.3f} "
            f"(95% DeLong {a['auc']['ci'][0]:.3f}-{a['auc']['ci'][1]:.3f})"
        )
    for r in s["tables"].get("mrmc_vs_ai", []):
        if r["model"] == "rrrc":
            print(
                f"  readers - AI ({r['condition']}, random readers and pairs): {r['difference']:+.3f} "
                f"(95% CI {r['ci_lo']:+.3f} to {r['ci_hi']:+.3f}), p = {r['p']:.4f}"
            )
    from studies.analysis.measurements import measurement_lines

    for line in measurement_lines(res.tables.get("measurements")):
        print(f"  {line}")
    for note in s.get("notes", []):
        print(f"  note: {note}")
    print(f"wrote {len(written['files'])} files to {written['out']}; {written['pdf']}")
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    from studies.analysis.power import DESIGNS, PowerDesign, power
    from studies.progress import terminal_progress

    designs = DESIGNS if args.design == "both" else (args.design,)
    grid = []
    for n in args.pairs:
        for r in args.readers:
            d = PowerDesign(
                n_pairs=n,
                n_readers=r,
                reader_pc=args.reader_pc,
                ai_pc=args.ai_pc,
                aided_pc=args.aided_pc,
                pair_sd=args.pair_sd,
                reader_sd=args.reader_sd,
                rho=args.rho,
                alpha=args.alpha,
            ).check()
            grid.append(
                power(
                    d,
                    designs=designs,
                    n_sim=args.sims,
                    seed=args.seed,
                    progress=terminal_progress(f"power {n} pairs x {r} readers"),
                )
            )
    _print_json({"results": grid} if len(grid) > 1 else grid[0])
    return 0
