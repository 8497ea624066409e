"""The NIMH Data Archive's file format and common columns, for the ``nda`` download style.

Every NDA structure file (``image03.txt``, ``oai_oarisk01.txt`` ...) is tab-delimited text,
every value in double quotes, with two header rows: row 1 the column names, row 2 their
descriptions; data start on line 3. Every structure opens with the NDA's common columns
(:data:`COMMON`): ``collection_id``, ``<structure>_id``, ``dataset_id``, ``subjectkey`` (the
NDA GUID, ``NDAR_INV`` + 8 characters, here derived from the seed and the participant id),
``src_subject_id`` (the OAI participant id), ``interview_date`` (MM/DD/YYYY; here the day
before the visit's imaging date, as in the NDA's OAI package), ``interview_age`` (months) and
``sex`` (M/F).
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta

#: The OAI's NDA collection (a constant: the generator's, not a real number to rely on).
COLLECTION_ID = "2343"
_GUID_ALPHABET = "ABCDEFGHJKLMNPRTUVWXYZ0123456789"


def common_columns(structure: str) -> list[tuple[str, str]]:
    """The NDA's common columns of ``structure`` (``image03``, ``oai_oarisk01`` ...): (name, description)."""
    return [
        ("collection_id", "collection_id"),
        (f"{structure}_id", f"{structure}_id"),
        ("dataset_id", "dataset_id"),
        ("subjectkey", "The NDAR Global Unique Identifier (GUID) for research subject"),
        ("src_subject_id", "Subject ID how it's defined in lab/project"),
        ("interview_date", "Date on which the interview/genetic test/sampling/imaging/biospecimen was completed. "
                           "MM/DD/YYYY"),
        ("interview_age", "Age in months at the time of the interview/test/sampling/imaging."),
        ("sex", "Sex of subject at birth"),
    ]


def quote(value: object) -> str:
    return '"' + str(value).replace('"', '""') + '"'


def nda_text(columns: list[tuple[str, str]], rows: list[list[object]]) -> str:
    """An NDA structure file: names, descriptions, then ``rows`` (each as long as ``columns``)."""
    lines = ["\t".join(quote(n) for n, _ in columns), "\t".join(quote(d) for _, d in columns)]
    lines += ["\t".join(quote(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


def subjectkey(seed: int, participant_id: str) -> str:
    """The participant's NDA GUID (``NDAR_INV`` + 8 characters), derived from the seed and id."""
    h = int(hashlib.sha256(f"{seed}|guid|{participant_id}".encode()).hexdigest(), 16)
    chars = []
    for _ in range(8):
        h, r = divmod(h, len(_GUID_ALPHABET))
        chars.append(_GUID_ALPHABET[r])
    return "NDAR_INV" + "".join(chars)


def interview_date(study_date: str) -> str:
    """MM/DD/YYYY of the day before ``study_date`` (YYYYMMDD), as the NDA's OAI package has it."""
    d = date(int(study_date[:4]), int(study_date[4:6]), int(study_date[6:8])) - timedelta(days=1)
    return d.strftime("%m/%d/%Y")


def interview_age(age_years: float) -> int:
    """Age in whole months with ``floor(months / 12) == int(age_years)`` (the OAI style's VVVAGE)."""
    years = int(math.floor(age_years))
    return years * 12 + min(11, int(math.floor((age_years - years) * 12 + 1e-9)))

