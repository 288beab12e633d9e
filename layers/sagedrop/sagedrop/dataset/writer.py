"""CSV bytes out: the headerless numeric rows XGBoost reads, and source rows in the upload's format.

pandas only (no run configuration), so the inference featurizer writes its rows with the same code
as the training splits.
"""

from __future__ import annotations

import csv
import io

import pandas as pd


def to_headerless_csv(frame: pd.DataFrame) -> bytes:
    """Rows for built-in XGBoost: no header, no index, ``\\n``, missing as an empty field.

    Floats are written in Python's shortest round-trip form (``repr``), so no precision is lost.
    """
    buffer = io.StringIO()
    frame.to_csv(buffer, header=False, index=False, lineterminator="\n", na_rep="")
    return buffer.getvalue().encode("utf-8")


def to_source_csv(frame: pd.DataFrame, delimiter: str = ",", header: bool = True) -> bytes:
    """Typed source rows (as read_table returns them) written back as CSV with ``delimiter``.

    Missing values become empty fields, numbers their shortest round-trip text, so reading the
    result with the column types of training gives back the same values.
    """
    buffer = io.StringIO()
    frame.to_csv(
        buffer, sep=delimiter, header=header, index=False, lineterminator="\n", na_rep="", quoting=csv.QUOTE_MINIMAL
    )
    return buffer.getvalue().encode("utf-8")
