"""Study analysis: from a study package, its key and the decisions to results, files and a report.

``analyze_study(study, key_path, decision_files) -> StudyResults`` (plain data for the app),
``write_outputs(results, out_dir)`` (every file of ``knee-study analyze``).
"""

from studies.analysis.results import StudyResults, analyze_scored, analyze_study


def write_outputs(results, out_dir, **kwargs):
    """Write every output of an analysis into ``out_dir``; see :func:`studies.analysis.exports.write_outputs`."""
    from studies.analysis.exports import write_outputs as _write

    return _write(results, out_dir, **kwargs)


__all__ = ["StudyResults", "analyze_scored", "analyze_study", "write_outputs"]
