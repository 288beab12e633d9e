"""Step 2, "Stage the rows": the upload without its header, in the model's columns, one record per line.

Streams the upload (the exact version dropped) through ``csvstream`` into a multipart upload under
``runs/<run-id>/scoring/<name>/input/``, checking every row on the way: its field count, and that
each numeric column holds a number or a missing value. Memory holds one batch of records and one
part of the output, whatever the file's size. The upload itself is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.errors import InvalidCsvError
from sagedrop.limits import INVOKE_ENDPOINT_MAX_BYTES
from sagedrop.scoring.columns import ColumnPlan, check_values, plan_columns
from sagedrop.scoring.csvstream import Record, batches, check_width, read_records, staged_text
from sagedrop.scoring.keys import ScoringTarget, staged_input_key, staged_input_prefix
from sagedrop.scoring.run_model import read_run_model, reading_encoding
from sagedrop.scoring.state import Staged, StageInput

#: The transform job's MaxPayloadInMB: one record per request (SingleRecord), so each staged line
#: must fit, and a request of up to this size is what an invocation of the model may carry.
MAX_PAYLOAD_IN_MB = INVOKE_ENDPOINT_MAX_BYTES // (1024 * 1024)
MAX_RECORD_BYTES = MAX_PAYLOAD_IN_MB * 1024 * 1024


def stage(
    records: Iterable[Record],
    plan: ColumnPlan,
    delimiter: str,
    write: Callable[[str], None],
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> int:
    """Write the staged form of ``records`` (the rows after the header) through ``write``; returns the rows."""
    rows = 0
    for batch in batches(records):
        for record in batch:
            check_width(record, plan.width)
        check_values(batch, plan)
        text = staged_text(batch, plan.positions, delimiter)
        if len(text.encode("utf-8")) > max_record_bytes:  # rare: then find the record that is too long
            for record, line in zip(batch, text.split("\n")[:-1], strict=True):
                size = len(line.encode("utf-8")) + 1
                if size > max_record_bytes:
                    raise InvalidCsvError(
                        f"line {record.line} is {size:,} bytes staged: "
                        f"a record the model is sent may hold {max_record_bytes:,}"
                    )
        write(text)
        rows += len(batch)
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
        streams.writer(staged_input_key(target), "text/csv") as out,
    ):
        records = read_records(text, run.columns.delimiter)
        header = next(records, None)
        if header is None:
            raise InvalidCsvError(f"{source.key} is empty: a file to score starts with a header line")
        rows = stage(records, plan_columns(header, run.columns), run.columns.delimiter, out.write)
        if rows == 0:
            raise InvalidCsvError(f"{source.key} has a header line and no rows to score")
    return Staged(input_prefix=bucket.uri(staged_input_prefix(target)), rows=rows, bytes=out.bytes_written)
