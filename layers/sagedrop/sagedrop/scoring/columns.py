"""The file's columns against the run's: which field of a row feeds which column of the model.

A scoring file carries the upload's columns, by name in its header line, in any order; the label
column may be there (it is kept in the scores file and not sent to the model), and a column
training dropped may be left out. Problems raise ColumnMismatchError naming the line and column.
Values of numeric columns are checked as training read them, so a bad one is named by line and
column before a transform job is paid for (the model would reject the row, failing the job).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sagedrop.dataset.encoding import DROPPED, NUMERIC
from sagedrop.dataset.reader import DELIMITERS, MISSING_TOKENS, read_number_column
from sagedrop.scoring.csvstream import Record
from sagedrop.scoring.errors import ColumnMismatchError, InvalidValueError

_SHOWN = 20


@dataclass(frozen=True)
class ModelColumns:
    """What schema.json says about the columns a row sends to the model."""

    run_id: str
    label: str
    source_columns: tuple[str, ...]  #: the upload's columns without the label, in upload order
    kinds: Mapping[str, str]  #: column → encoding kind (numeric, one_hot, dropped, …)
    delimiter: str
    feature_count: int = 0  #: the model's features (what a request's rows become between two containers)

    @classmethod
    def from_schema(cls, run_id: str, schema: Mapping[str, Any]) -> ModelColumns:
        return cls(
            run_id=run_id,
            label=str(schema["label"]),
            source_columns=tuple(str(column) for column in schema["source_columns"]),
            kinds={str(column): str(encoding["kind"]) for column, encoding in schema["encodings"].items()},
            delimiter=str(schema.get("delimiter") or ","),
            feature_count=len(schema.get("features") or ()),
        )

    @property
    def required(self) -> list[str]:
        return [column for column in self.source_columns if self.kinds.get(column) != DROPPED]

    def listing(self) -> str:
        shown = ", ".join(map(repr, self.source_columns[:_SHOWN]))
        more = f", … ({len(self.source_columns)} in all)" if len(self.source_columns) > _SHOWN else ""
        return f"{shown}{more}, and optionally the label {self.label!r}"


@dataclass(frozen=True)
class ColumnPlan:
    width: int  #: fields per row: the header's
    positions: tuple[int | None, ...]  #: per source column (model order), its field in a row; None: not sent
    numeric: tuple[tuple[str, int], ...]  #: (column, field) of every numeric column the model reads
    delimiter: str = ","  #: the upload's: it decides what "1,5" means, as it did at training
    columns: tuple[str, ...] = ()  #: the source columns (model order), beside ``positions``


def plan_columns(header: Record, model: ModelColumns) -> ColumnPlan:
    """Match the header's names to the run's columns, or raise ColumnMismatchError saying what is wrong."""
    names = [field.strip() for field in header.fields]
    known = set(model.source_columns) | {model.label}
    if len(names) == 1 and names[0] not in known:
        other = next((d for d in DELIMITERS if d != model.delimiter and d in names[0]), None)
        if other is not None:
            raise ColumnMismatchError(
                f"line {header.line}: the header is one field; run {model.run_id}'s upload separates fields "
                f"with {_show(model.delimiter)}, this file seems to use {_show(other)}"
            )
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        where = f"line {header.line}, column {index + 1}"
        if name not in known:
            hint = "" if any(n in known for n in names) else "; the file must start with a header line"
            raise ColumnMismatchError(
                f"{where}: {name!r} is not a column of run {model.run_id}{_did_you_mean(name, known)}{hint}; "
                f"its columns are {model.listing()}"
            )
        if name in seen:
            raise ColumnMismatchError(f"{where}: column {name!r} appears twice (also column {seen[name] + 1})")
        seen[name] = index
    missing = [column for column in model.required if column not in seen]
    if missing:
        raise ColumnMismatchError(
            f"line {header.line}: the header lacks column(s) {', '.join(map(repr, missing))} of run "
            f"{model.run_id}; a file to score carries every column of the upload (the label may be left out)"
        )
    positions = tuple(
        seen.get(column) if model.kinds.get(column) != DROPPED else None for column in model.source_columns
    )
    numeric = tuple((column, seen[column]) for column in model.required if model.kinds.get(column) == NUMERIC)
    return ColumnPlan(
        width=len(names),
        positions=positions,
        numeric=numeric,
        delimiter=model.delimiter,
        columns=model.source_columns,
    )


def check_values(batch: Sequence[Record], plan: ColumnPlan) -> None:
    """Every numeric column's values in ``batch`` are numbers or missing, or InvalidValueError names one."""
    for column, field in plan.numeric:
        values = [record.fields[field] for record in batch]
        _, bad = read_number_column(values, column, plan.delimiter)
        if bad.size:
            record = batch[int(bad[0])]
            raise InvalidValueError(
                f"line {record.line}, column {column!r}: {record.fields[field].strip()!r} is not a number "
                f"(the column is numeric; leave a missing value empty or write one of {_tokens()})"
            )


def _did_you_mean(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _tokens() -> str:
    return ", ".join(sorted(token.upper() for token in MISSING_TOKENS if token))
