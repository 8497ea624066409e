"""The attention-MIL classifier's hyper-parameters, and the run's own parameters: one default
and one constraint each.

:class:`model.training.MILClassifier` takes its keyword defaults from :data:`DEFAULTS`,
:class:`model.mil.AttentionMIL` its architecture defaults, and ``knee-model``'s options
theirs, so a default is written once, here. :func:`check_classifier_params` is the one check
of the values (run by ``MILClassifier.fit`` and by :meth:`model.run.RunConfig.check`).
:data:`RUN_PARAMETERS` does the same for what a run decides around the classifier (the
number of cross-validation folds): :class:`model.run.RunConfig`, ``knee-model --folds``,
:func:`model.pipeline.train_and_infer` and :func:`model.cv.cross_validate` read
:data:`RUN_DEFAULTS`.

These are the values every run has used (config.json's ``classifier``): the demo's and the
command line's cross-validated AUCs depend on them, so a change here is a change of the
model (``tests/model/test_model_params.py`` pins them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from model.constraints import Constraint, a_number, an_int, check_params, one_of, or_none, pair_of


@dataclass(frozen=True)
class Parameter:
    default: object
    constraint: Constraint
    doc: str


PARAMETERS: dict[str, Parameter] = {
    "epochs": Parameter(None, or_none(an_int(1), "automatic"),
                        "training epochs; None: about 600 optimiser steps, 10 to 60 epochs (auto_epochs)"),
    "batch_size": Parameter(128, an_int(1), "bags per optimiser step"),
    "lr": Parameter(1e-3, a_number(0, low_open=True), "AdamW learning rate"),
    "weight_decay": Parameter(1e-2, a_number(0), "AdamW weight decay"),
    "conv_channels": Parameter(16, an_int(1), "output channels of the attention's 1-D convolution"),
    "gru_hidden": Parameter(16, an_int(1), "hidden size of the attention's GRU, per direction"),
    "mlp_hidden": Parameter((64, 32), pair_of(an_int(1)), "sizes of the MLP's two hidden layers"),
    "dropout": Parameter(0.5, a_number(0, 1), "dropout before each of the MLP's hidden layers"),
    "class_weight": Parameter("balanced", one_of(("balanced", None)),
                              "'balanced': loss weights inversely proportional to class frequency; None: equal"),
    "validation_fraction": Parameter(0.15, a_number(0, 1),
                                     "share of the bags held out (stratified) for early stopping; 0: none"),
    "seed": Parameter(0, an_int(0), "seeds torch and numpy for the weights, batches and validation split"),
}

#: name -> default value.
DEFAULTS: dict[str, object] = {name: p.default for name, p in PARAMETERS.items()}
#: name -> constraint (the table :func:`check_classifier_params` checks against).
CONSTRAINTS: dict[str, Constraint] = {name: p.constraint for name, p in PARAMETERS.items()}


#: The run's parameters outside the classifier (:class:`model.run.RunConfig`).
RUN_PARAMETERS: dict[str, Parameter] = {
    "folds": Parameter(5, an_int(2), "cross-validation folds (grouped by participant, stratified by label)"),
}
#: name -> default value of :data:`RUN_PARAMETERS`.
RUN_DEFAULTS: dict[str, object] = {name: p.default for name, p in RUN_PARAMETERS.items()}


def check_classifier_params(values: Mapping[str, object]) -> None:
    """Raise :class:`~studies.errors.OptionError` for the first value outside its constraint."""
    check_params(values, CONSTRAINTS)
