"""One requirement as found on this machine: what every check of ``knee-study doctor`` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("ok", "missing", "absent", "warning", "skipped")


@dataclass(frozen=True)
class Check:
    """One requirement as found on this machine.

    ``purpose`` says what the requirement is for (shown for optional parts); ``fix`` what to
    do when it is not ``ok`` (a command where there is one).
    """

    name: str
    status: str
    detail: str
    fix: str = ""
    purpose: str = ""
    data: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Check {self.name!r}: status must be one of {STATUSES}, got {self.status!r}")
