"""Step 2, "Stage the rows": the upload's rows as JSON requests of many rows, one request a line.

Streams the upload (the exact version dropped) through ``csvstream`` into a multipart upload under
``runs/<run-id>/scoring/<name>/input/``, checking every row on the way: its field count, and that
each numeric column holds a number or a missing value. A line is ``{"instances": [{column: value},
…]}`` with the columns the model reads and each value exactly as the file holds it
(``sagedrop.scoring.requests``: one row per request would take hours at a million rows). Memory
holds one batch of records and one part of the output, whatever the file's size. The upload itself
is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.errors import InvalidCsvError
from sagedrop.scoring.columns import ColumnPlan, check_values, plan_columns
from sagedrop.scoring.csvstream import Record, batches, check_width, read_records
from sagedrop.scoring.keys import ScoringTarget, staged_input_key, staged_input_prefix
from sagedrop.scoring.requests import MAX_RECORD_BYTES, RequestLines, instance_json, rows_per_request
from sagedrop.scoring.run_model import read_run_model, reading_encoding
from sagedrop.scoring.state import Staged, StageInput


def stage(
    records: Iterable[Record],
    plan: ColumnPlan,
    write: Callable[[str], None],
    rows_per_line: int,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> int:
    """Write the staged requests of ``records`` (the rows after the header) through ``write``; returns the rows."""
    rows = 0
    requests = RequestLines(write, rows_per_line, max_request_bytes=max_record_bytes)
    sent = [(column, field) for column, field in zip(plan.columns, plan.positions, strict=True) if field is not None]
    for batch in batches(records):
        for record in batch:
            check_width(record, plan.width)
        check_values(batch, plan)
        for record in batch:
            requests.add(instance_json({column: record.fields[field] for column, field in sent}), f"line {record.line}")
        rows += len(batch)
    requests.close()
    return rows


def stage_input(state: StageInput, bucket: DataBucket, streams: ObjectStreams) -> Staged:
    """The headerless, reordered copy of the upload the transform job reads; raises on the first bad row."""
    validated = state.validated
    target = ScoringTarget(validated.run_id, validated.name)
    run = read_run_model(bucket, target.run_id)
    source = state.source
    encoding = reading_encoding(run.text_encoding)
    with (
        streams.open_text(source.key, version_id=source.version_id, encoding=encoding) as text,
        streams.writer(staged_input_key(target), "application/jsonlines") as out,
    ):
        records = read_records(text, run.columns.delimiter)
        header = next(records, None)
        if header is None:
            raise InvalidCsvError(f"{source.key} is empty: a file to score starts with a header line")
        plan = plan_columns(header, run.columns)
        rows = stage(records, plan, out.write, rows_per_request(run.columns.feature_count))
        if rows == 0:
            raise InvalidCsvError(f"{source.key} has a header line and no rows to score")
    return Staged(input_prefix=bucket.uri(staged_input_prefix(target)), rows=rows, bytes=out.bytes_written)
