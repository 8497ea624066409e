"""The methods paragraph of a study's report, generated from what the analysis did.

A coordinator can paste it into a manuscript: what each interval and test is, with its
reference, the significance level, the software and its version, and what makes the
results traceable: the study id, the key's SHA-256 and each decisions file's audit-chain
head. :data:`REFERENCES` is the numbered list the paragraph cites as ``[n]``.
"""

from __future__ import annotations

from studies.analysis.results import StudyResults

#: Cited as [1]..[n] in :func:`methods_paragraphs`, in this order.
REFERENCES: tuple[str, ...] = (
    "Schiratti J-B, Dubois R, Herent P, et al. A deep learning method for predicting knee "
    "osteoarthritis radiographic progression from MRI. Arthritis Res Ther. 2021;23:262.",
    "Green DM, Swets JA. Signal Detection Theory and Psychophysics. New York: Wiley; 1966.",
    "Wilson EB. Probable inference, the law of succession, and statistical inference. "
    "J Am Stat Assoc. 1927;22:209-212.",
    "Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case "
    "of the binomial. Biometrika. 1934;26:404-413.",
    "DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated "
    "receiver operating characteristic curves: a nonparametric approach. Biometrics. "
    "1988;44:837-845.",
    "McNemar Q. Note on the sampling error of the difference between correlated proportions or "
    "percentages. Psychometrika. 1947;12:153-157.",
    "Newcombe RG. Improved confidence intervals for the difference between binomial "
    "proportions based on paired data. Stat Med. 1998;17:2635-2650.",
    "Obuchowski NA, Rockette HE. Hypothesis testing of diagnostic accuracy for multiple readers "
    "and multiple tests: an ANOVA approach with dependent observations. Commun Stat Simul "
    "Comput. 1995;24:285-308.",
    "Hillis SL. A comparison of denominator degrees of freedom methods for multiple "
    "observer ROC analysis. Stat Med. 2007;26:596-619.",
    "Hillis SL, Berbaum KS, Metz CE. Recent developments in the Dorfman-Berbaum-Metz procedure "
    "for multireader ROC study analysis. Acad Radiol. 2008;15:647-661.",
    "Cohen J. A coefficient of agreement for nominal scales. Educ Psychol Meas. 1960;20:37-46.",
    "Fleiss JL. Measuring nominal scale agreement among many raters. Psychol Bull. "
    "1971;76:378-382.",
    "Macmillan NA, Creelman CD. Detection Theory: A User's Guide. 2nd ed. Mahwah: Erlbaum; 2005.",
)


def _software(summary: dict) -> str:
    sw = summary.get("software") or {}
    if not sw:
        return "the knee-reader-study software"
    libs = ", ".join(f"{k} {v}" for k, v in sw.items() if k not in ("knee-reader-study", "python"))
    return (
        f"knee-reader-study {sw.get('knee-reader-study', '?')} (Python {sw.get('python', '?')}"
        + (f"; {libs}" if libs else "")
        + ")"
    )


def methods_paragraphs(results: StudyResults) -> list[str]:
    """The methods section as paragraphs of plain text (citations as ``[n]``)."""
    s = results.summary
    alpha = float(s.get("alpha", 0.05))
    level = f"{100 * (1 - alpha):g} %"
    n_boot = None
    rva = results.tables.get("reader_vs_ai")
    if rva is not None and not rva.empty:
        n_boot = int(rva["n_boot"].iloc[0])
    design = (
        f"Readers were shown {s.get('n_pairs')} pairs of knees, each joining a knee that "
        "progressed (medial joint-space narrowing of at least 0.5 mm within 12 months) with "
        "one that did not, and chose, blind to the outcome, the knee that would progress, as in "
        "the human benchmark of Schiratti et al. [1]. A reader's proportion of correct choices is "
        "the pairwise ROC AUC [2]. The AI chose the knee with the higher score, equal scores "
        "counting one half; its AUC over every progressor x non-progressor combination of the "
        "study is given as well. Flagged pairs were left out of that reader's figures and "
        "practice pairs were never scored."
    )
    stats = (
        f"Proportions are given with {level} Wilson score intervals [3] and Clopper-Pearson exact "
        f"intervals [4]; the AI's AUC with DeLong's interval [5]. Each reader was compared with "
        "the AI on the same pairs with the exact McNemar test [6] and Newcombe's interval for "
        "a paired difference (method 10, Wilson limits) [7]"
        + (f", and with a paired bootstrap over pairs ({n_boot} resamples)" if n_boot else "")
        + ". Readers were pooled and compared with the AI, and reading conditions with one "
        "another, by the Obuchowski-Rockette method [8] with random readers and pairs as cases, "
        "the jackknife covariance over pairs and Hillis' denominator degrees of freedom [9]; "
        "negative covariance terms were clamped at zero as in the Iowa program [10]. Agreement "
        "between readers is Cohen's kappa for two readers [11] and Fleiss' kappa for more [12]; "
        "d' = sqrt(2) probit(AUC) [13]. "
        f"Tests are two-sided at alpha = {alpha:g}."
    )
    simulated = s.get("simulated_readers") or []
    if simulated:
        stats += (
            f" Simulated readers ({', '.join(simulated)}) are shown per reader and "
            + (
                "included in the pooled analyses."
                if s.get("include_simulated")
                else "excluded from the pooled analyses."
            )
        )
    chains = s.get("decision_chains") or []
    trace = (
        f"Analysis used {_software(s)}. "
        + (f"Study {s['study_id']}; " if s.get("study_id") else "")
        + (
            f"the key's SHA-256 {s['key_sha256_verified']} was verified against the study "
            "package before analysis"
            if s.get("key_sha256_verified")
            else "no key hash was recorded"
        )
        + (
            "; each decisions file's audit chain was verified (file: rows, head hash): "
            + "; ".join(f"{c['file']}: {c['audit_rows']}, {c['audit_head']}" for c in chains)
            if chains
            else ""
        )
        + "."
    )
    return [design, stats, trace]
