"""The classifier's contract (scikit-learn conventions, one default per parameter) and the
run options' one check (RunConfig.check)."""

from __future__ import annotations

import inspect
import io
import json

import numpy as np
import pytest
import torch
from sklearn.base import clone
from test_model_mil import planted

from model.classifier_params import DEFAULTS, PARAMETERS
from model.cv import cross_validate
from model.mil import AttentionMIL
from model.run import CONFIG, RunConfig, load_config, write_json
from model.training import MILClassifier
from studies.errors import InputFileError, OptionError

#: The defaults every run has used so far (config.json's "classifier"); changing one changes
#: the model and its cross-validated AUCs.
EFFECTIVE = {
    "epochs": None, "batch_size": 128, "lr": 1e-3, "weight_decay": 1e-2, "conv_channels": 16, "gru_hidden": 16,
    "mlp_hidden": (64, 32), "dropout": 0.5, "class_weight": "balanced", "validation_fraction": 0.15, "seed": 0,
}


def test_one_default_per_parameter_everywhere():
    assert MILClassifier().get_params() == EFFECTIVE == DEFAULTS
    assert RunConfig(cohort="c").classifier.get_params() == EFFECTIVE  # the CLI's and the demo's config
    sig = inspect.signature(AttentionMIL)
    for name in ("conv_channels", "gru_hidden", "mlp_hidden", "dropout"):
        assert sig.parameters[name].default == EFFECTIVE[name], name
    m = AttentionMIL(40, 2, 2)
    assert m.conv.n_out == 16 and m.gru.hidden_size == 16 and m.mlp[0].p == 0.5
    from model.cli import build_parser

    args = build_parser().parse_args(["cv", "--cohort", "c", "--out", "o"])
    assert args.epochs is EFFECTIVE["epochs"] and args.seed == EFFECTIVE["seed"]
    from model.pipeline import train_and_infer

    sig = inspect.signature(train_and_infer)
    assert sig.parameters["epochs"].default is None and sig.parameters["seed"].default == 0


def test_one_default_for_the_folds_everywhere():
    from model.classifier_params import RUN_DEFAULTS
    from model.cli import build_parser
    from model.pipeline import train_and_infer

    assert RUN_DEFAULTS["folds"] == 5  # every run so far
    assert RunConfig(cohort="c").folds == RUN_DEFAULTS["folds"]
    assert build_parser().parse_args(["cv", "--cohort", "c", "--out", "o"]).folds == RUN_DEFAULTS["folds"]
    assert inspect.signature(train_and_infer).parameters["folds"].default == RUN_DEFAULTS["folds"]
    assert inspect.signature(cross_validate).parameters["folds"].default == RUN_DEFAULTS["folds"]
    with pytest.raises(OptionError, match="The 'folds' parameter must be an int >= 2. Got 1 instead."):
        RunConfig(cohort="c", folds=1).check()


def test_init_stores_verbatim_and_clone_and_set_params_work():
    est = MILClassifier(epochs=0, mlp_hidden=[8, 4], dropout=2.0)  # stored as given, checked in fit
    assert est.epochs == 0 and est.mlp_hidden == [8, 4] and est.dropout == 2.0
    params = {"epochs": 3, "lr": 3e-3, "mlp_hidden": (8, 4), "seed": 7}
    a = MILClassifier(**params)
    b = clone(a)
    assert b is not a and b.get_params() == a.get_params() and not hasattr(b, "module_")
    assert b.set_params(seed=8) is b and b.seed == 8 and a.seed == 7  # the original is untouched
    with pytest.raises(TypeError):
        MILClassifier(3)  # keyword-only
    with pytest.raises(ValueError, match="lerning_rate"):
        a.set_params(lerning_rate=1)
    X, C, y = planted(n=40, features=16)
    fitted = MILClassifier(epochs=1).fit(X, C, y)
    assert isinstance(fitted, MILClassifier) and hasattr(fitted, "module_")
    assert not hasattr(clone(fitted), "module_")  # clone drops what fit learned


@pytest.mark.parametrize(("params", "message"), [
    ({"epochs": 0}, "The 'epochs' parameter must be an int >= 1 (or None: automatic). Got 0 instead."),
    ({"batch_size": 2.5}, "The 'batch_size' parameter must be an int >= 1. Got 2.5 instead."),
    ({"lr": 0}, "The 'lr' parameter must be a number > 0. Got 0 instead."),
    ({"dropout": 1}, "The 'dropout' parameter must be a number in [0, 1). Got 1 instead."),
    ({"validation_fraction": -0.1}, "The 'validation_fraction' parameter must be a number in [0, 1). Got -0.1 instead."),
    ({"mlp_hidden": (64,)}, "The 'mlp_hidden' parameter must be a pair of ints >= 1. Got (64,) instead."),
    ({"class_weight": "balancd"}, "The 'class_weight' parameter must be one of balanced, None. Got 'balancd' instead. Did you mean 'balanced'?"),
    ({"seed": True}, "The 'seed' parameter must be an int >= 0. Got True instead."),
])
def test_fit_checks_every_parameter_against_the_table(params, message):
    assert set(params) <= set(PARAMETERS)
    X, C, y = planted(n=20, features=8)
    with pytest.raises(OptionError) as err:
        MILClassifier(**params).fit(X, C, y)
    assert str(err.value) == message


def test_cv_aucs_stay_those_of_the_former_defaults():
    """Figures of the code before the parameters moved into the table (same data, same seeds):
    the effective defaults (16 channels, dropout 0.5, automatic epochs) did not change."""
    X, C, y = planted(n=90, features=32, seed=4)
    groups = np.repeat(np.arange(45), 2)
    res = cross_validate(X, C, y, groups, folds=3, seed=2, estimator=RunConfig(cohort="c").classifier.set_params(seed=2))
    assert res.epochs == 60
    assert res.metrics["mil"]["pooled"]["roc_auc"] == pytest.approx(0.9521428571428571, abs=1e-12)
    np.testing.assert_allclose(res.proba["mil"][:4, 1], [0.5752297, 0.4471135, 0.4742653, 0.8700423], atol=2e-6)
    default = cross_validate(X, C, y, groups, folds=3, seed=2)  # no estimator: MILClassifier(seed=seed)
    np.testing.assert_array_equal(default.proba["mil"], res.proba["mil"])


def test_model_files_and_configs_of_earlier_versions_still_load(tmp_path):
    X, C, y = planted(n=40, features=16)
    est = MILClassifier(epochs=1, seed=2).fit(X, C, y)
    # a model file as the former MILParams wrote it: its params carry an empty "extra"
    d = torch.load(io.BytesIO(est.to_bytes()), weights_only=True)
    assert d["params"] == {**EFFECTIVE, "epochs": 1, "seed": 2, "mlp_hidden": [64, 32]}
    d["params"]["extra"] = {}
    buf = io.BytesIO()
    torch.save(d, buf)
    old = MILClassifier.from_bytes(buf.getvalue())
    assert old.get_params() == est.get_params()
    np.testing.assert_array_equal(old.predict_proba(X, C), est.predict_proba(X, C))
    # a config.json of the former format loads, and writes the same classifier back (no "extra")
    cfg = RunConfig(cohort="c").to_json()
    assert cfg["classifier"] == {**EFFECTIVE, "mlp_hidden": [64, 32]}
    write_json(tmp_path / CONFIG, {**cfg, "classifier": {**cfg["classifier"], "extra": {}}})
    assert load_config(tmp_path).to_json() == cfg


def test_run_config_check_names_the_option():
    assert RunConfig(cohort="c").check().folds == 5
    cases = [
        ({"folds": 1}, "The 'folds' parameter must be an int >= 2. Got 1 instead."),
        ({"task": "jsn_abs"}, "Did you mean 'jsn-abs'?"),
        ({"backbone": "efficientnet_bo"}, "Did you mean 'efficientnet_b0'?"),
        ({"input_size": 100}, "The 'input-size' parameter must be a multiple of 32 from 64 to 1024 (pixels). Got 100"),
        ({"visits": (0, -12)}, "The 'visits' parameter must be a list of window starts"),
        ({"seed": -1}, "The 'seed' parameter must be an int >= 0. Got -1"),
        ({"variables": ("age", "kl_grde")}, "Did you mean 'kl_grade'?"),
        ({"classifier": MILClassifier(epochs=0)}, "The 'epochs' parameter must be an int >= 1"),
    ]
    for change, message in cases:
        with pytest.raises(OptionError) as err:
            RunConfig(cohort="c", **change).check()
        assert message in str(err.value), change


def test_cli_checks_the_options_before_touching_the_run_folder(tmp_path, capsys):
    from model.cli import main

    run = tmp_path / "run"
    run.mkdir()
    write_json(run / CONFIG, RunConfig(cohort="c", run_id="r").to_json())
    assert main(["cv", "--cohort", str(tmp_path), "--out", str(run), "--folds", "1", "--force"]) == 2
    assert "The 'folds' parameter must be an int >= 2. Got 1 instead." in capsys.readouterr().err
    assert (run / CONFIG).is_file()  # --force did not remove the run folder of a refused command
    # a run folder whose config.json holds an impossible value is refused when loaded
    cfg = json.loads((run / CONFIG).read_text())
    cfg["classifier"]["dropout"] = 1.5
    write_json(run / CONFIG, cfg)
    with pytest.raises(InputFileError, match="dropout"):
        load_config(run)
