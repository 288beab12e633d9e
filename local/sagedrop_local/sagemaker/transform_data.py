"""Batch Transform's data handling: records, mini-batches, ``DataProcessing`` filters and joins, assembly.

As the SageMaker documentation ("Associate Prediction Results with Input Records", CreateTransformJob)
describes it:

* ``SplitType: Line`` makes every line a record (``None``: the whole object is one); a line's
  ``\\r\\n`` ending is the record's own.
* ``BatchStrategy``: ``SingleRecord`` sends one record per request; ``MultiRecord`` as many whole
  records as fit in ``MaxPayloadInMB``. A record larger than that fails the object.
* ``InputFilter`` / ``OutputFilter`` are JSONPath subsets. For CSV a row is a JSON array of its
  fields (RFC 4180, comma-separated), so only index paths apply: ``$``, ``$[1]``, ``$[0,3]``,
  ``$[1:]``, ``$[:5]``, ``$[0,5:]``, negative indexes counted from the end; a slice's end is
  *included* (``$[1:4]`` is the second through the fifth column). For JSON records: ``$``,
  ``$.name`` (dotted) and ``$['a','b']``. An index outside the row is an error.
* ``JoinSource: Input`` appends the output row's fields to the input row (CSV), or for JSON sets
  ``SageMakerOutput`` on the input object (an input that is not an object becomes
  ``{"SageMakerInput": …, "SageMakerOutput": …}``). The join uses the *unfiltered* input.
* ``AssembleWith: Line`` ends every output record with a newline; ``None`` concatenates the answers.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024
ROOT = "$"
_INDEX_PATH = re.compile(r"^\$\[\s*(-?\d*\s*(:\s*-?\d*)?\s*)(,\s*-?\d*\s*(:\s*-?\d*)?\s*)*\]$")
_NAME_PATH = re.compile(r"^\$(\.[A-Za-z_][\w-]*)+$")
_NAMES_PATH = re.compile(r"^\$\[\s*'[^']+'\s*(,\s*'[^']+'\s*)*\]$")
JSON_TYPES = ("application/json", "application/jsonlines", "application/jsonl", "application/x-jsonlines")


class TransformDataError(Exception):
    """A record the job cannot process as configured (the object fails, the job ends Failed)."""


def is_json(media: str | None) -> bool:
    return (media or "").split(";")[0].strip().lower() in JSON_TYPES


def check_path(path: str, field: str) -> None:
    """Raise ValueError when ``path`` is none of the JSONPath forms this emulation reads."""
    path = path.strip()
    if path == ROOT or _INDEX_PATH.match(path) or _NAME_PATH.match(path) or _NAMES_PATH.match(path):
        return
    raise ValueError(
        f"{field} {path!r} is not a supported JSONPath expression: use $, index paths such as $[1:] or "
        "$[0,-1] for CSV, $.name or $['a','b'] for JSON"
    )


# --- records and mini-batches ----------------------------------------------------------------


def split_records(data: bytes, split_type: str | None) -> list[bytes]:
    """The object's records; a blank last line is not a record."""
    return list(stream_records([data], split_type))


def stream_records(blocks: Iterable[bytes], split_type: str | None) -> Iterator[bytes]:
    """:func:`split_records` of the blocks' concatenation, each record yielded once its line has ended.

    Lines end as ``bytes.splitlines`` ends them (``\\n``, ``\\r\\n`` or ``\\r``); a ``\\r`` at the end of a
    block waits for the next one, which may begin with its ``\\n``.
    """
    if (split_type or "None") == "None":
        data = b"".join(blocks)
        if data:
            yield data
        return
    pending: list[bytes] = []  # the unfinished line, in pieces (a long line is joined once)
    for block in blocks:
        # a block without line ends continues the pending line, unless that line ended with a \r
        if b"\n" not in block and b"\r" not in block and not (pending and pending[-1].endswith(b"\r")):
            pending.append(block)
            continue
        lines = b"".join([*pending, block]).splitlines(keepends=True)
        pending = [lines.pop()] if not lines[-1].endswith(b"\n") else []
        yield from (line for line in lines if line.strip())
    rest = b"".join(pending)
    if rest.strip():
        yield rest


@dataclass(frozen=True)
class Batch:
    first: int  # index of its first record
    records: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(record if record.endswith(b"\n") else record + b"\n" for record in self.records)


def mini_batches(records: Iterable[bytes], strategy: str, max_payload_mb: int) -> Iterator[Batch]:
    """SingleRecord: one record each; MultiRecord: whole records up to ``max_payload_mb`` (0: no limit)."""
    limit = max_payload_mb * MB if max_payload_mb else None
    pending: list[bytes] = []
    size, first = 0, 0
    for index, record in enumerate(records):
        if limit is not None and len(record) > limit:
            raise TransformDataError(
                f"record {index + 1} is {len(record)} bytes, more than MaxPayloadInMB ({max_payload_mb} MB)"
            )
        if strategy == "SingleRecord":
            yield Batch(index, [record])
            continue
        if pending and limit is not None and size + len(record) > limit:
            yield Batch(first, pending)
            pending, size = [], 0
        if not pending:
            first = index
        pending.append(record)
        size += len(record)
    if pending:
        yield Batch(first, pending)


def answer_records(answer: bytes, count: int) -> list[bytes]:
    """One output record per input record of a mini-batch (one answer line per record)."""
    if count == 1:
        return [answer.rstrip(b"\r\n")]
    lines = [line for line in answer.splitlines() if line.strip()]
    if len(lines) != count:
        raise TransformDataError(
            f"the model answered {len(lines)} line(s) for a mini-batch of {count} records, so its answers "
            "cannot be matched to the input records"
        )
    return lines


def assembled(output: bytes, assemble_with: str | None) -> bytes:
    """One output as the job's output object holds it (``AssembleWith: Line`` ends it with a newline)."""
    return output.rstrip(b"\r\n") + b"\n" if (assemble_with or "None") == "Line" else output


# --- filters and joins -----------------------------------------------------------------------


def csv_fields(record: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(record.decode("utf-8").rstrip("\r\n"), newline="")))
    return rows[0] if rows else []


def csv_line(fields: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(fields)
    return buffer.getvalue().encode("utf-8")


def select_fields(fields: list[Any], path: str) -> list[Any]:
    """The fields an index path selects (SageMaker's slices include their end)."""
    if path.strip() == ROOT:
        return list(fields)
    if not _INDEX_PATH.match(path.strip()):
        raise TransformDataError(f"{path!r} is not an index path: a CSV row is an array of its fields")
    chosen: list[Any] = []
    for part in path.strip()[2:-1].split(","):
        part = part.strip()
        if ":" not in part:
            chosen.append(fields[_position(int(part), len(fields), path)])
            continue
        start_text, end_text = (value.strip() for value in part.split(":", 1))
        start = _position(int(start_text), len(fields), path) if start_text else 0
        end = _position(int(end_text), len(fields), path) if end_text else len(fields) - 1
        chosen.extend(fields[start : end + 1])
    return chosen


def _position(index: int, width: int, path: str) -> int:
    position = index + width if index < 0 else index
    if not 0 <= position < width:
        raise TransformDataError(f"{path!r}: index {index} is outside a row of {width} field(s)")
    return position


def filter_input(record: bytes, path: str | None, json_records: bool) -> bytes:
    if not path or path.strip() == ROOT:
        return record
    ending = b"\n" if record.endswith(b"\n") else b""
    if json_records:
        return json.dumps(select_json(json.loads(record), path)).encode("utf-8") + ending
    return csv_line(select_fields(csv_fields(record), path)) + ending


def join_csv(record: bytes, output: bytes) -> bytes:
    return csv_line(csv_fields(record) + csv_fields(output))


def join_json(record: bytes, output: bytes) -> bytes:
    source = json.loads(record)
    try:
        answer = json.loads(output)
    except ValueError:
        answer = output.decode("utf-8")
    if isinstance(source, dict):
        joined = {**source, "SageMakerOutput": answer}
    else:
        joined = {"SageMakerInput": source, "SageMakerOutput": answer}
    return json.dumps(joined).encode("utf-8")


def filter_output(record: bytes, path: str | None, json_records: bool) -> bytes:
    if not path or path.strip() == ROOT:
        return record
    if json_records:
        return json.dumps(select_json(json.loads(record), path)).encode("utf-8")
    return csv_line(select_fields(csv_fields(record), path))


def select_json(value: Any, path: str) -> Any:
    path = path.strip()
    if path == ROOT:
        return value
    if _NAME_PATH.match(path):
        for name in path[2:].split("."):
            if not isinstance(value, dict) or name not in value:
                raise TransformDataError(f"{path!r}: no attribute {name!r} in the record")
            value = value[name]
        return value
    if _NAMES_PATH.match(path):
        if not isinstance(value, dict):
            raise TransformDataError(f"{path!r}: the record is not a JSON object")
        names = re.findall(r"'([^']+)'", path)
        return {name: value[name] for name in names if name in value}
    if isinstance(value, list):
        return select_fields(value, path)
    raise TransformDataError(f"{path!r}: the record is not a JSON array")
