"""Reader-study statistics (no Qt, no torch): proportions, ROC/DeLong, Obuchowski-Rockette
MRMC, paired tests and bootstrap, agreement and 2AFC. See ``docs/statistics.md``.
"""

from studies.stats.agreement import cohen_kappa, fleiss_kappa, fleiss_kappa_from_labels
from studies.stats.binomial import clopper_pearson_ci, newcombe_paired_ci, wilson_ci
from studies.stats.covariance import auc_delong_cov, auc_jackknife_cov, mean_jackknife_cov
from studies.stats.mrmc import one_sample, or_analysis, standalone_vs_readers
from studies.stats.paired import mcnemar, paired_bootstrap
from studies.stats.roc import auc, auc_ci, delong_cov, delong_test, roc_curve
from studies.stats.twoafc import dprime, proportion_correct

__all__ = [
    "auc",
    "auc_ci",
    "auc_delong_cov",
    "auc_jackknife_cov",
    "clopper_pearson_ci",
    "cohen_kappa",
    "delong_cov",
    "delong_test",
    "dprime",
    "fleiss_kappa",
    "fleiss_kappa_from_labels",
    "mcnemar",
    "mean_jackknife_cov",
    "newcombe_paired_ci",
    "one_sample",
    "or_analysis",
    "paired_bootstrap",
    "proportion_correct",
    "roc_curve",
    "standalone_vs_readers",
    "wilson_ci",
]
