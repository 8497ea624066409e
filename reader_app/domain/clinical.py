"""What a knee's column shows of its clinical variables: names and texts, without Qt.

The variables, their order, labels, units and formats come from the vocabulary
(:func:`studies.vocabulary.shown_variables`); values from the manifest's ``clinical``.
"""

from __future__ import annotations

from typing import Any

from studies.vocabulary import shown_variables


def clinical_names() -> list[tuple[str, str]]:
    """(package key, label) of each variable readers see, in display order."""
    return [(v.package_key, v.label) for v in shown_variables()]


def clinical_texts(clinical: dict[str, Any]) -> dict[str, str]:
    """Package key -> display text ("63 years", "27.4 kg/m²", "Female"; "—" when missing)
    of each variable readers see, in display order."""
    return {v.package_key: v.display(clinical.get(v.package_key)) for v in shown_variables()}
