"""The run folder: a model run's resolved config, provenance, fold assignment and weights.

::

    RUN/config.json     run id, task, sequence, clinical variables, preprocessing, classifier
                        hyper-parameters, folds, seed, the backbone's weights provenance,
                        the precision of the features (feature_precision), the engine that
                        ran the backbone (feature_engine)
    RUN/data.json       counts: knee-windows, classes, dropped rows, features computed
    RUN/metrics.json    (cv) per fold and pooled metrics of the model and both baselines
    RUN/folds.csv       (cv) participant_id, side, visit_month, fold, y, probability
    RUN/roc.png         (cv) the folds' ROC curves
    RUN/models/fold_<k>.pt   (cv) the model of fold k (never saw fold k's patients)
    RUN/models/final.pt      (train) the model fitted on every knee-window

Every file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from model.backbone import INPUT_SIZE, INPUT_SIZE_RULE
from model.backbones import DEFAULT_BACKBONE, backbone_names
from model.classifier_params import RUN_DEFAULTS, RUN_PARAMETERS
from model.constraints import Constraint, an_int, check_params, one_of
from model.preprocess.pipeline import PreprocessConfig
from model.runtime import PRECISIONS
from model.tasks import READER_VARIABLES, TASKS, check_variables, get_task
from model.training import MILClassifier
from studies.atomic import write_bytes_atomic, write_text_atomic
from studies.errors import InputFileError, OptionError

CONFIG = "config.json"
METRICS = "metrics.json"
FOLDS = "folds.csv"
DATA = "data.json"
ROC = "roc.png"
MODELS = "models"
FINAL = "final"


@dataclass
class RunConfig:
    """Everything that decides a run's result (the resolved config)."""

    cohort: str
    task: str = "jsn-abs"
    variables: tuple[str, ...] = READER_VARIABLES
    backbone: str = DEFAULT_BACKBONE
    weights: str | None = "default"
    #: Slices smaller than this (pixels) are upsampled before the backbone (:func:`model.backbone.to_network_input`).
    input_size: int = INPUT_SIZE
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    #: The unfitted classifier; its hyper-parameters are config.json's ``classifier``.
    classifier: MILClassifier = field(default_factory=MILClassifier)
    folds: int = RUN_DEFAULTS["folds"]
    seed: int = 0
    #: Window starts t (months) to use; None = all (0, 12, 24), the paper's sliding window.
    visits: tuple[int, ...] | None = None
    #: How the cohort is read (``studies.cohort.IngestOptions`` as a dict: style, variables,
    #: jsw_project, kl_project); empty = detected style and default reading projects.
    ingest: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    #: The features' precision (:data:`model.runtime.PRECISIONS`): float32, or the bfloat16
    #: opt-in. A setting: it changes the features, so the scores of a run's study cases are
    #: computed in it too.
    precision: str = "float32"
    #: What ran the backbone (:meth:`model.runtime.RuntimeEncoder.describe`); a record, not a
    #: setting: the engines' features agree to 1e-5, so it is not part of the data signature.
    engine: dict = field(default_factory=dict)
    run_id: str = ""

    @property
    def sequence(self) -> str:
        return self.preprocess.sequence

    def to_json(self) -> dict:
        return {
            "run_id": self.run_id,
            "cohort": self.cohort,
            "task": self.task,
            "sequence": self.sequence,
            "variables": list(self.variables),
            "backbone": self.backbone,
            "weights": self.weights,
            "input_size": self.input_size,
            "preprocess": self.preprocess.to_json(),
            "classifier": self.classifier.params_json(),
            "folds": self.folds,
            "visits": list(self.visits) if self.visits else None,
            "ingest": dict(self.ingest),
            "seeds": {"cv_split": self.seed, "classifier": self.classifier.seed},
            "backbone_provenance": self.provenance,
            "feature_precision": self.precision,
            "feature_engine": self.engine,
        }

    @classmethod
    def from_json(cls, d: dict) -> RunConfig:
        return cls(
            cohort=d["cohort"],
            task=d["task"],
            variables=tuple(d["variables"]),
            backbone=d["backbone"],
            weights=d["weights"],
            # runs written before the option existed were fed at 224 px (recorded in the provenance)
            input_size=d.get("input_size", d.get("backbone_provenance", {}).get("input_size", 224)),
            preprocess=PreprocessConfig(**d["preprocess"]),
            classifier=MILClassifier.from_params_json(d["classifier"]),
            folds=d["folds"],
            seed=d["seeds"]["cv_split"],
            visits=tuple(d["visits"]) if d.get("visits") else None,
            ingest=dict(d.get("ingest") or {}),
            provenance=d.get("backbone_provenance", {}),
            precision=d.get("feature_precision", "float32"),  # runs from before the option: float32
            engine=d.get("feature_engine", {}),
            run_id=d["run_id"],
        )

    def check(self) -> RunConfig:
        """Check every option once, at the entry (``knee-model`` commands, the demo's
        :func:`model.pipeline.train_and_infer`, a run folder's config.json when loaded),
        before any work; return self. Raises :class:`~studies.errors.OptionError` naming the
        option, what it must be and what it got. The preprocessing options are checked when
        :class:`PreprocessConfig` is made, the cohort and the weights file when read."""
        check_params(
            {"task": self.task, "backbone": self.backbone, "weights": self.weights, "folds": self.folds,
             "seed": self.seed, "visits": self.visits, "input-size": self.input_size, "precision": self.precision},
            _RUN_CONSTRAINTS,
        )
        check_variables(get_task(self.task), tuple(self.variables))
        self.classifier.check_params()
        return self

    def data_signature(self) -> dict:
        """The parts that must match for models in one run folder to belong together."""
        d = self.to_json()
        return {k: d[k] for k in ("cohort", "task", "sequence", "variables", "visits", "ingest", "preprocess", "backbone_provenance",
                                 "feature_precision")}


def _is_weights(v: object) -> bool:
    return v is None or isinstance(v, (str, Path)) and str(v) != ""


def _is_visits(v: object) -> bool:
    return v is None or isinstance(v, (tuple, list)) and all(an_int(0).accepts(m) for m in v)


#: The run options' constraints (the classifier's are :data:`model.classifier_params.PARAMETERS`).
_RUN_CONSTRAINTS: dict[str, Constraint] = {
    "task": one_of(lambda: TASKS),
    "backbone": one_of(backbone_names),
    "weights": Constraint("'default', 'timm', a state-dict file, or None (random; tests only)", _is_weights),
    "folds": RUN_PARAMETERS["folds"].constraint,
    "seed": an_int(0),
    "visits": Constraint("a list of window starts in months (ints >= 0), or None: every window", _is_visits),
    "input-size": INPUT_SIZE_RULE,
    "precision": one_of(PRECISIONS),
}


def new_run_id(config: RunConfig) -> str:
    """``<task>-<sequence>-<UTC time>-<6 hex of the config>``."""
    blob = json.dumps({**config.to_json(), "run_id": ""}, sort_keys=True, default=str)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{config.task}-{config.sequence}-{stamp}-{hashlib.sha256(blob.encode()).hexdigest()[:6]}"


def write_json(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, default=str) + "\n")


def load_config(run: str | Path) -> RunConfig:
    path = Path(run) / CONFIG
    if not path.is_file():
        raise InputFileError(path, "not a model run folder (no config.json)", hint="Run `knee-model cv` or `knee-model train` first")
    try:
        return RunConfig.from_json(json.loads(path.read_text())).check()
    except (KeyError, TypeError, ValueError, OptionError) as exc:
        raise InputFileError(path, f"not a valid run config ({exc})") from exc


def model_path(run: str | Path, name: str) -> Path:
    return Path(run) / MODELS / f"{name}.pt"


def save_model(run: str | Path, name: str, est: MILClassifier) -> None:
    write_bytes_atomic(model_path(run, name), est.to_bytes())


def load_model(run: str | Path, name: str) -> MILClassifier:
    path = model_path(run, name)
    if not path.is_file():
        hint = "Run `knee-model train` on this run folder" if name == FINAL else "Run `knee-model cv` again"
        raise InputFileError(path, "model not found in the run folder", hint=hint)
    try:
        return MILClassifier.from_bytes(path.read_bytes())
    except Exception as exc:
        raise InputFileError(path, f"unreadable model ({exc})") from exc


def load_folds(run: str | Path) -> pd.DataFrame | None:
    """The cv fold assignment (participant_id as str), or None when the run has no cv."""
    path = Path(run) / FOLDS
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"participant_id": str})
