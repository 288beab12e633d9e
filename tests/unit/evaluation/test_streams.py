"""The evaluation's streamed inputs give exactly what the whole-file reading gave: labels, scores, metrics, sample."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import numpy as np
import pytest

from sagedrop.errors import FeatureCountMismatchError, InvalidCsvError, InvalidPredictionError
from sagedrop.evaluation import build_evaluation, features_only
from sagedrop.evaluation.permutation import read_raw_sample as whole_file_sample
from sagedrop.evaluation.streams import (
    endpoint_scores,
    read_labels,
    read_raw_sample,
    sample_positions,
    transform_scores,
)
from sagedrop.predicting import iter_chunks, predict_raw_csv

BINARY = "binary_classification"
MULTICLASS = "multiclass_classification"
REGRESSION = "regression"


def raw_csv(rows: int, seed: int = 0) -> bytes:
    """Raw rows as the preparation writes them: a header, text with delimiters, quotes and line breaks."""
    rng = np.random.default_rng(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["age", "job", "note"])
    notes = ["plain", "has, comma", 'says "hi"', "two\nlines", "", "ünïcode"]
    for _ in range(rows):
        writer.writerow([str(rng.integers(18, 90)), rng.choice(["admin.", "blue-collar"]), rng.choice(notes)])
    return buffer.getvalue().encode()


def probability(record: list[str]) -> float:
    """A deterministic 'model': the score depends on the row's content, so an order slip changes it."""
    return int(hashlib.sha256("\x1f".join(record).encode()).hexdigest()[:6], 16) / 0xFFFFFF


class Endpoint:
    """Answers the contract's JSON for a raw CSV request with a header; counts the requests."""

    def __init__(self, problem_type: str = BINARY):
        self.problem_type = problem_type
        self.requests = 0

    def row(self, record: list[str]) -> dict:
        p = probability(record)
        if self.problem_type == REGRESSION:
            return {"predicted_label": 100 * p}
        if self.problem_type == MULTICLASS:
            return {"probabilities": [p / 2, 1 - p, p / 2], "labels": ["a", "b", "c"]}
        return {"probabilities": [1 - p, p], "labels": ["no", "yes"]}

    def invoke(self, body: bytes, content_type: str, accept: str) -> bytes:
        self.requests += 1
        records = [r for r in csv.reader(io.StringIO(body.decode(), newline="")) if r][1:]
        return json.dumps({"predictions": [self.row(r) for r in records]}).encode()


def labels_csv(labels: list[float]) -> bytes:
    return "".join(f"{label:g},1.5,0\n" for label in labels).encode()


def test_labels_are_read_part_by_part_in_order_as_the_whole_file_reading_read_them():
    parts = [labels_csv([0, 1, 1]), b"\n" + labels_csv([0, 0]) + b"\n", labels_csv([1])]
    streamed = read_labels(io.StringIO(part.decode()) for part in parts)
    whole = np.concatenate([features_only(part)[0] for part in parts])
    assert streamed.dtype == np.float64 and streamed.tolist() == whole.tolist() == [0, 1, 1, 0, 0, 1]


def test_a_test_row_without_features_or_with_a_text_label_is_refused():
    with pytest.raises(FeatureCountMismatchError, match="test row 2"):
        read_labels([io.StringIO("1,2\n0\n")])
    with pytest.raises(InvalidCsvError, match="non-numeric label"):
        read_labels([io.StringIO("1,2\nyes,3\n")])


@pytest.mark.parametrize("problem_type", [BINARY, MULTICLASS, REGRESSION])
def test_streamed_scores_and_metrics_are_identical_to_the_whole_file_evaluation(problem_type):
    data = raw_csv(2_500)
    endpoint = Endpoint(problem_type)
    # small requests: many chunks, several in flight, a quoted line break never cut
    streamed = endpoint_scores(
        io.StringIO(data.decode(), newline=""),
        endpoint.invoke,
        problem_type,
        delimiter=",",
        max_bytes=4_000,
        max_rows=50,
        concurrency=3,
    )
    assert endpoint.requests >= 50
    whole = predict_raw_csv(data, Endpoint(problem_type).invoke, problem_type, max_bytes=4_000, max_rows=50)
    assert np.array_equal(streamed, whole)
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))[1:]
    assert len(streamed) == len(rows) == 2_500
    expected_first = Endpoint(problem_type).row(rows[0])
    assert streamed[0] == pytest.approx(
        {BINARY: lambda r: r["probabilities"][1], REGRESSION: lambda r: r["predicted_label"]}.get(
            problem_type, lambda r: r["probabilities"]
        )(expected_first)
    )

    rng = np.random.default_rng(1)
    y = rng.integers(0, 3 if problem_type == MULTICLASS else 2, len(rows)).astype(float)
    arguments = {"run_id": "r", "problem_type": problem_type, "label": "y", "y_true": y}
    mapping = {MULTICLASS: ["a", "b", "c"], BINARY: ["no", "yes"]}.get(problem_type)
    stats = {"majority_class": 0, "class_counts": [1, 1, 1][: len(mapping)]} if mapping else {"mean": 0.5}
    extra = {"label_mapping": mapping, "label_stats": stats}
    assert build_evaluation(predictions=streamed, **arguments, **extra) == build_evaluation(
        predictions=whole, **arguments, **extra
    )


def test_memory_holds_the_requests_in_flight_not_the_split():
    """The stream is read as requests go out: at most ``concurrency`` + 1 chunks ahead of the answers."""
    data = raw_csv(3_000).decode()
    stream = io.StringIO(data, newline="")
    ahead = []
    endpoint = Endpoint()

    def invoke(body, content_type, accept):
        ahead.append(stream.tell())
        return endpoint.invoke(body, content_type, accept)

    endpoint_scores(stream, invoke, BINARY, delimiter=",", max_bytes=2_000, max_rows=1_000, concurrency=2)
    assert len(ahead) > 20 and ahead[0] < len(data) / 5  # the first request left before the file was read


def test_transform_output_lines_give_the_scores_the_endpoint_gives():
    data = raw_csv(300)
    endpoint = Endpoint()
    header, *rows = [r for r in csv.reader(io.StringIO(data.decode(), newline="")) if r]
    # requests of up to 7 rows, each answer joined to its request as JoinSource Input writes it, as
    # the label decoder answers; AssembleWith Line may leave blank lines
    lines = []
    for start in range(0, len(rows), 7):
        asked = rows[start : start + 7]
        lines.append(
            json.dumps(
                {
                    "instances": [dict(zip(header, r, strict=True)) for r in asked],
                    "SageMakerOutput": {"predictions": [endpoint.row(r) for r in asked]},
                }
            )
            + "\n"
            + ("\n" if start % 3 == 0 else "")
        )
    by_transform = transform_scores(io.StringIO("".join(lines)), BINARY)
    by_endpoint = endpoint_scores(
        io.StringIO(data.decode(), newline=""),
        endpoint.invoke,
        BINARY,
        delimiter=",",
        max_bytes=10_000,
        max_rows=100,
        concurrency=2,
    )
    assert np.array_equal(by_transform, by_endpoint)


def test_a_transform_line_that_does_not_answer_each_row_it_asked_for_names_its_line():
    answer = {"probabilities": [0.2, 0.8]}

    def line(asked, answered):
        return json.dumps({"instances": [{"a": "1"}] * asked, "SageMakerOutput": {"predictions": [answer] * answered}})

    miscount = "line 3 of the transform output answers 2 rows for a request of 3 rows"
    with pytest.raises(InvalidPredictionError, match=miscount):
        transform_scores(io.StringIO(f"{line(1, 1)}\n\n{line(3, 2)}\n"), BINARY)
    bad = json.dumps({"instances": [{"a": "1"}], "SageMakerOutput": {"predictions": answer}})
    with pytest.raises(InvalidPredictionError, match="line 1 of the transform output answers no list of rows"):
        transform_scores(io.StringIO(bad + "\n"), BINARY)
    with pytest.raises(InvalidPredictionError, match="line 1 of the transform output is not a request joined"):
        transform_scores(io.StringIO(json.dumps({"predictions": [answer]}) + "\n"), BINARY)  # not joined
    with pytest.raises(InvalidPredictionError, match="line 1 of the transform output is not"):
        transform_scores(io.StringIO("predicted_label,probability\n"), BINARY)


def test_the_permutation_sample_is_the_whole_file_readings_sample():
    data = raw_csv(4_000)
    positions = sample_positions(4_000, 1_000, seed=42)
    streamed = read_raw_sample(io.StringIO(data.decode(), newline=""), ",", positions)
    whole, picked = whole_file_sample(data, ",", 1_000, 42)
    assert picked.tolist() == positions.tolist()
    assert streamed.equals(whole.astype(object))
    assert streamed.to_csv(index=False) == whole.to_csv(index=False)


def test_chunks_of_requests_are_whole_records():
    data = raw_csv(500).decode()
    bodies = [chunk.body.decode() for chunk in iter_chunks(io.StringIO(data, newline=""), max_bytes=1_500)]
    assert all(body.startswith("age,job,note\n") for body in bodies)
    assert sum(len(list(csv.reader(io.StringIO(b, newline="")))) - 1 for b in bodies) == 500
