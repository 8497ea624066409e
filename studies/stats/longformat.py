"""Reading multi-reader multi-case ratings in the long format ``reader,treatment,case,truth,rating``.

The format of MRMCaov and RJafroc (one row per reader x treatment x case). ``treatment`` may be
absent (one treatment, e.g. a standalone-AI design). The design must be fully crossed: every
reader rates every case under every treatment, and a case has one truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from studies.errors import InputFileError, did_you_mean

REQUIRED = ("reader", "case", "truth", "rating")


@dataclass
class RatingsTable:
    """Ratings (t, r, c) with labels; ``truth`` (c,) boolean (True = positive/abnormal)."""

    treatments: list[str]
    readers: list[str]
    cases: list[str]
    truth: np.ndarray
    ratings: np.ndarray

    def scores(self) -> np.ndarray:
        """Ratings flattened treatment-major to (t r, c), the layout of the OR covariances."""
        t, r, c = self.ratings.shape
        return self.ratings.reshape(t * r, c)

    def without_reader(self, reader: str) -> tuple[RatingsTable, np.ndarray]:
        """This table without ``reader`` and that reader's ratings (t, c)."""
        j = self.readers.index(reader)
        keep = [i for i in range(len(self.readers)) if i != j]
        rest = RatingsTable(
            self.treatments,
            [self.readers[i] for i in keep],
            self.cases,
            self.truth,
            self.ratings[:, keep],
        )
        return rest, self.ratings[:, j]


def ratings_from_frame(df: pd.DataFrame, path: str | Path = "<table>") -> RatingsTable:
    """Check a long-format table and pivot it to a :class:`RatingsTable`."""
    cols = {c.lower().strip(): c for c in df.columns}
    for need in REQUIRED:
        if need not in cols:
            raise InputFileError(
                path,
                f"missing column '{need}'." + did_you_mean(need, df.columns),
                hint="The long format needs columns reader, treatment (optional), case, truth, rating",
            )
    d = pd.DataFrame({k: df[cols[k]] for k in (*REQUIRED, "treatment") if k in cols})
    if "treatment" not in d:
        d["treatment"] = "1"
    for k in ("reader", "treatment", "case"):
        d[k] = d[k].astype(str)
    rating = pd.to_numeric(d["rating"], errors="coerce")
    bad = rating.isna().to_numpy().nonzero()[0]
    if bad.size:
        raise InputFileError(
            path,
            "rating is not a number",
            column=cols["rating"],
            row=int(bad[0]) + 1,
            value=df[cols["rating"]].iloc[bad[0]],
        )
    d["rating"] = rating
    truth_vals = set(d["truth"].unique().tolist())
    if not truth_vals <= {0, 1, "0", "1"}:
        raise InputFileError(
            path,
            "truth must be 0 (negative) or 1 (positive)",
            column=cols["truth"],
            value=sorted(map(str, truth_vals))[:5],
        )
    d["truth"] = d["truth"].astype(int)
    per_case = d.groupby("case")["truth"].nunique()
    if (per_case > 1).any():
        raise InputFileError(
            path,
            "a case has two different truths",
            column=cols["truth"],
            value=per_case[per_case > 1].index[0],
        )
    dup = d.duplicated(["reader", "treatment", "case"])
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise InputFileError(
            path,
            "the same reader, treatment and case appear twice",
            row=i + 1,
            value=tuple(d.iloc[i][["reader", "treatment", "case"]]),
        )
    treatments = _sorted_labels(d["treatment"])
    readers = _sorted_labels(d["reader"])
    cases = _sorted_labels(d["case"])
    full = pd.MultiIndex.from_product(
        [treatments, readers, cases], names=["treatment", "reader", "case"]
    )
    s = d.set_index(["treatment", "reader", "case"])["rating"].reindex(full)
    if s.isna().any():
        miss = s[s.isna()].index[0]
        raise InputFileError(
            path,
            f"the design is not fully crossed: {int(s.isna().sum())} reader x treatment x case ratings are missing",
            value=dict(zip(full.names, miss, strict=True)),
            hint="Every reader must rate every case under every treatment",
        )
    ratings = s.to_numpy().reshape(len(treatments), len(readers), len(cases))
    truth = d.groupby("case")["truth"].first().reindex(cases).to_numpy().astype(bool)
    if truth.all() or not truth.any():
        raise InputFileError(
            path, "needs both positive (truth 1) and negative (truth 0) cases", column=cols["truth"]
        )
    return RatingsTable(treatments, readers, cases, truth, ratings)


def read_ratings_csv(path: str | Path) -> RatingsTable:
    """Read and check a long-format CSV file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", hint="Check the path")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(path, f"not a readable CSV table ({exc})") from exc
    return ratings_from_frame(df, path)


def _sorted_labels(col: pd.Series) -> list[str]:
    """Unique labels, numerically ordered when they all look like numbers."""
    u = list(pd.unique(col))
    try:
        return sorted(u, key=float)
    except ValueError:
        return sorted(u)
