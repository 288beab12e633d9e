"""Step 5, "Assemble the scores": the upload's rows, each with its prediction, under ``scores/``.

Three streams at once: the upload (the exact version dropped) read again record by record, the
transform job's output line by line, and a multipart upload of the scores file. Rows pair with
answers in order; a count or shape that does not match fails the step (TransformOutputMismatch)
instead of writing a file that labels a row with another row's prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.scoring.csvstream import Record, batches, check_width, encode_rows, prediction_rows, read_records
from sagedrop.scoring.errors import TransformOutputMismatch
from sagedrop.scoring.keys import ScoringTarget, scores_key, transform_output_key
from sagedrop.scoring.run_model import read_run_model, reading_encoding
from sagedrop.scoring.state import AssembleInput, Scores


def assemble(
    header: Record,
    records: Iterable[Record],
    predictions: Iterable[list[str]],
    prediction_columns: list[str],
    delimiter: str,
    write: Callable[[str], None],
) -> int:
    """Write the header and every record with its prediction's columns through ``write``; returns the rows."""
    write(encode_rows([[*header.fields, *prediction_columns]], delimiter))
    answers = iter(predictions)
    rows = 0
    for batch in batches(records):
        joined = []
        for record in batch:
            check_width(record, len(header.fields))
            answer = next(answers, None)
            if answer is None:
                raise TransformOutputMismatch(
                    f"the transform output ends after {rows} prediction(s); the file has more rows (line {record.line})"
                )
            joined.append([*record.fields, *answer])
            rows += 1
        write(encode_rows(joined, delimiter))
    extra = sum(1 for _ in answers)
    if extra:
        raise TransformOutputMismatch(f"the transform output has {rows + extra} predictions for {rows} rows")
    return rows


def assemble_scores(state: AssembleInput, bucket: DataBucket, streams: ObjectStreams) -> Scores:
    """Write ``scores/<run-id>/<name>.csv``: the upload's columns, then ``predicted_label`` (and ``probability``)."""
    validated = state.validated
    target = ScoringTarget(validated.run_id, validated.name)
    run = read_run_model(bucket, target.run_id)
    delimiter = run.columns.delimiter
    source = state.source
    key = scores_key(target)
    with (
        streams.open_text(
            source.key, version_id=source.version_id, encoding=reading_encoding(run.text_encoding)
        ) as text,
        streams.open_text(transform_output_key(target), encoding="utf-8") as output,
        streams.writer(key, "text/csv") as out,
    ):
        records = read_records(text, delimiter)
        header = next(records)
        rows = assemble(
            header,
            records,
            prediction_rows(output, len(validated.prediction_columns)),
            validated.prediction_columns,
            delimiter,
            out.write,
        )
        if rows != state.staged.rows:
            raise TransformOutputMismatch(f"the file has {rows} rows now; {state.staged.rows} were staged")
    return Scores(scores_key=key, rows=rows)
