"""Batch Transform on the local SageMaker: the inference pipeline scoring S3 objects, joins, filters, failures.

The model artifacts are those of test_inference_pipeline (real preparation, a local XGBoost training
job, the real inference tarballs); this module makes its own local cloud with them.
"""

from __future__ import annotations

import csv
import gzip
import io
import tarfile
import time

import pytest
from botocore.exceptions import ClientError
from hypothesis import example, given
from hypothesis import strategies as st

from sagedrop.inference.packaging import container_environment
from sagedrop.inference.serving import SINGLE, handle, load_model
from sagedrop_local.sagemaker import transform_jobs
from sagedrop_local.sagemaker.transform_data import (
    MB,
    TransformDataError,
    join_csv,
    mini_batches,
    select_fields,
    split_records,
    stream_records,
)
from sagedrop_local.sagemaker.transform_jobs import MULTI_RECORD_PIPELINE_REASON

from . import test_inference_pipeline as serving
from .conftest import BUCKET, ROLE_ARN, wait_until
from .test_inference_pipeline import XGBOOST_IMAGE, Models, pipeline_containers, put

# The serving tests' module fixtures, instantiated again for this module: a cloud and trained artifacts.
cloud = serving.cloud
models = serving.models

PIPELINE_MODEL = "transform-pipeline"
ENCODED_MODEL = "transform-encoded"


@pytest.fixture(scope="module")
def model_names(cloud, models) -> dict[str, str]:
    cloud.sagemaker.create_model(
        ModelName=PIPELINE_MODEL,
        ExecutionRoleArn=ROLE_ARN,
        Containers=pipeline_containers(models),
        InferenceExecutionConfig={"Mode": "Serial"},
    )
    cloud.sagemaker.create_model(
        ModelName=ENCODED_MODEL,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": models.trained},
    )
    return {"pipeline": PIPELINE_MODEL, "encoded": ENCODED_MODEL}


def raw_rows(models: Models) -> list[bytes]:
    return models.raw_test.splitlines(keepends=True)[1:]


def transform_request(name: str, model: str, input_uri: str, output_uri: str, **overrides) -> dict:
    request = {
        "TransformJobName": name,
        "ModelName": model,
        "BatchStrategy": "SingleRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output_uri, "Accept": "text/csv", "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "DataProcessing": {"JoinSource": "Input"},
    }
    request.update(overrides)
    return request


def run_job(cloud, request: dict) -> dict:
    cloud.sagemaker.create_transform_job(**request)
    return wait_until(
        lambda: cloud.sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"]),
        lambda job: job["TransformJobStatus"] in ("Completed", "Failed", "Stopped"),
        timeout=60,
    )


def read(cloud, key: str) -> bytes:
    return cloud.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(cloud, prefix: str) -> list[str]:
    return [item["Key"] for item in cloud.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def expected_answers(cloud, models: Models, body: bytes, tmp_path) -> list[str]:
    """What the model's own code answers in process (single mode: featurize, predict, decode)."""
    with tarfile.open(fileobj=io.BytesIO(read(cloud, "run/single/model.tar.gz")), mode="r:gz") as tar:
        tar.extractall(tmp_path, filter="data")
    return handle(load_model(tmp_path, SINGLE), body, "text/csv", "text/csv").body.decode().splitlines()


# --- jobs end to end --------------------------------------------------------------------------


def test_a_pipeline_scores_an_object_and_joins_each_input_row_with_its_prediction(
    cloud,
    models,
    model_names,
    tmp_path,
):
    rows = raw_rows(models)
    put(cloud, "score/run-1/customers.csv", b"".join(rows))

    request = transform_request("join", PIPELINE_MODEL, f"s3://{BUCKET}/score/run-1/", f"s3://{BUCKET}/out")
    job = run_job(cloud, {**request, "MaxConcurrentTransforms": 4})  # answers still in input order

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    assert job["TransformEndTime"] >= job["TransformStartTime"] >= job["CreationTime"]
    lines = read(cloud, "out/customers.csv.out").decode().splitlines()
    answers = expected_answers(cloud, models, b"".join(rows), tmp_path)
    assert len(lines) == len(rows) == len(answers)
    for line, row, answer in zip(lines, rows, answers, strict=True):
        assert line == row.decode().rstrip("\n") + "," + answer


def test_filters_keep_an_id_column_out_of_the_model_and_in_the_output(cloud, models, model_names):
    rows = raw_rows(models)[:20]
    put(cloud, "score/ids/with-ids.csv", b"".join(b"id-%d," % number + row for number, row in enumerate(rows)))
    processing = {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-2:]"}

    job = run_job(
        cloud,
        transform_request(
            "ids", PIPELINE_MODEL, f"s3://{BUCKET}/score/ids/", f"s3://{BUCKET}/out-ids/", DataProcessing=processing
        ),
    )

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    output = list(csv.reader(io.StringIO(read(cloud, "out-ids/with-ids.csv.out").decode())))
    assert [row[0] for row in output] == [f"id-{number}" for number in range(20)]
    assert all(len(row) == 3 and row[1] in models.artifact.label_mapping for row in output)


@pytest.mark.parametrize("strategy", ["MultiRecord", None])
def test_multi_record_on_a_pipeline_fails_as_on_sagemaker(cloud, models, model_names, strategy):
    put(cloud, "score/multi/rows.csv", b"".join(raw_rows(models)[:5]))
    request = transform_request(
        f"multi-{strategy or 'default'}", PIPELINE_MODEL, f"s3://{BUCKET}/score/multi/", f"s3://{BUCKET}/out-multi/"
    )
    if strategy is None:
        request.pop("BatchStrategy")
    else:
        request["BatchStrategy"] = strategy

    job = run_job(cloud, request)

    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == MULTI_RECORD_PIPELINE_REASON
    assert "SingleRecord" in job["FailureReason"]
    assert keys(cloud, "out-multi/") == []


def test_multi_record_works_for_a_single_container_model(cloud, models, model_names):
    put(cloud, "score/encoded/features.csv", models.encoded_test)
    request = transform_request(
        "encoded",
        ENCODED_MODEL,
        f"s3://{BUCKET}/score/encoded/features.csv",
        f"s3://{BUCKET}/out-encoded",
        BatchStrategy="MultiRecord",
        MaxPayloadInMB=1,
    )
    request.pop("DataProcessing")

    job = run_job(cloud, request)

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    scores = [float(value) for value in read(cloud, "out-encoded/features.csv.out").decode().strip().split(",")]
    assert len(scores) == models.encoded_test.count(b"\n")
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_the_single_container_model_scores_raw_rows_multi_record_and_joins_them(cloud, models, model_names, tmp_path):
    # One container does every stage, so MultiRecord (and its large requests) is open to it.
    cloud.sagemaker.create_model(
        ModelName="transform-single",
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={
            "Image": XGBOOST_IMAGE,
            "ModelDataUrl": models.single,
            "Environment": container_environment(SINGLE),
        },
    )
    rows = raw_rows(models)
    put(cloud, "score/single/rows.csv", b"".join(rows))
    request = transform_request(
        "single-multi", "transform-single", f"s3://{BUCKET}/score/single/", f"s3://{BUCKET}/out-single"
    )

    job = run_job(cloud, {**request, "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 1})

    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    lines = read(cloud, "out-single/rows.csv.out").decode().splitlines()
    answers = expected_answers(cloud, models, b"".join(rows), tmp_path)
    assert lines == [row.decode().rstrip("\n") + "," + answer for row, answer in zip(rows, answers, strict=True)]


def test_a_bad_row_fails_its_object_and_the_job_naming_row_and_column(cloud, models, model_names):
    rows = raw_rows(models)[:4]
    bad = rows[:2] + [b"forty" + rows[2][rows[2].index(b",") :]] + rows[3:]
    put(cloud, "score/bad/a-good.csv", b"".join(rows))
    put(cloud, "score/bad/b-bad.csv", b"".join(bad))

    job = run_job(cloud, transform_request("bad-row", PIPELINE_MODEL, f"s3://{BUCKET}/score/bad/", f"s3://{BUCKET}/o"))

    assert job["TransformJobStatus"] == "Failed"
    reason = job["FailureReason"]
    assert reason.startswith("ClientError: See job logs for more information.")
    assert f"s3://{BUCKET}/score/bad/b-bad.csv: record 3: Received client error (400) from container-1" in reason
    assert "row 1, column 'age': 'forty' is not a number" in reason
    assert keys(cloud, "o/") == ["o/a-good.csv.out"]  # an object with a bad record gets no output
    log = cloud.logs.get_log_events(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamName=f"bad-row/{_instance(cloud, 'bad-row')}/data-log"
    )
    assert any("ClientError: 400" in event["message"] for event in log["events"])


def _instance(cloud, name: str) -> str:
    streams = cloud.logs.describe_log_streams(logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=name)
    return next(s["logStreamName"].split("/")[1] for s in streams["logStreams"] if s["logStreamName"].endswith("log"))


def test_a_header_line_is_a_record_like_any_other(cloud, models, model_names):
    put(cloud, "score/header/with-header.csv", models.raw_test)

    job = run_job(
        cloud, transform_request("header", PIPELINE_MODEL, f"s3://{BUCKET}/score/header/", f"s3://{BUCKET}/h")
    )

    assert job["TransformJobStatus"] == "Failed"
    assert "record 1:" in job["FailureReason"] and "a header and no rows" in job["FailureReason"]


def test_stop_list_and_describe(cloud, models, model_names):
    put(cloud, "score/stop/rows.csv", b"".join(raw_rows(models)[:3]))
    cloud.emulator.startup_seconds = 30
    try:
        cloud.sagemaker.create_transform_job(
            **transform_request("to-stop", PIPELINE_MODEL, f"s3://{BUCKET}/score/stop/", f"s3://{BUCKET}/stopped")
        )
        cloud.sagemaker.stop_transform_job(TransformJobName="to-stop")
        stopping = cloud.sagemaker.describe_transform_job(TransformJobName="to-stop")["TransformJobStatus"]
        started = time.monotonic()
        stopped = wait_until(
            lambda: cloud.sagemaker.describe_transform_job(TransformJobName="to-stop"),
            lambda job: job["TransformJobStatus"] == "Stopped",
        )
    finally:
        cloud.emulator.startup_seconds = 0.05

    assert stopping == "Stopping"
    assert stopped["TransformJobStatus"] == "Stopped" and time.monotonic() - started < 10
    assert keys(cloud, "stopped/") == []
    listed = cloud.sagemaker.list_transform_jobs(StatusEquals="Stopped")["TransformJobSummaries"]
    assert [job["TransformJobName"] for job in listed] == ["to-stop"]
    assert "to-stop" in [j["TransformJobName"] for j in cloud.sagemaker.list_transform_jobs()["TransformJobSummaries"]]


def test_a_crash_of_the_jobs_thread_is_a_failed_job(cloud, models, model_names, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(transform_jobs, "start_model", broken)
    put(cloud, "score/crash/rows.csv", b"".join(raw_rows(models)[:2]))

    job = run_job(cloud, transform_request("crash", PIPELINE_MODEL, f"s3://{BUCKET}/score/crash/", f"s3://{BUCKET}/c"))

    assert job["TransformJobStatus"] == "Failed"
    assert job["FailureReason"] == (
        "InternalServerError: the local SageMaker failed while running this transform job: RuntimeError: disk full"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.update(MaxPayloadInMB=101), "MaxPayloadInMB must be between 0 and 100"),
        (lambda r: r.update(MaxPayloadInMB=20, MaxConcurrentTransforms=6), "must not exceed 100 MB"),
        (lambda r: r["TransformOutput"].pop("AssembleWith"), "JoinSource Input needs SplitType Line and AssembleWith"),
        (lambda r: r["DataProcessing"].update(InputFilter="$[?(@.a)]"), "not a supported JSONPath"),
        (lambda r: r.update(ModelName="no-such-model"), 'Could not find model "arn:aws:sagemaker:'),
    ],
    ids=["payload", "concurrency", "join-without-lines", "jsonpath", "model"],
)
def test_create_transform_job_refuses_a_bad_request(cloud, model_names, change, expected):
    request = transform_request("refused", PIPELINE_MODEL, f"s3://{BUCKET}/score/x/", f"s3://{BUCKET}/y")
    change(request)

    with pytest.raises(ClientError) as caught:
        cloud.sagemaker.create_transform_job(**request)

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert expected in caught.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        cloud.sagemaker.describe_transform_job(TransformJobName="refused")


# --- the data handling, without a job ----------------------------------------------------------


def test_index_paths_select_as_the_documentation_says():
    fields = list("abcdef")

    assert select_fields(fields, "$") == fields
    assert select_fields(fields, "$[1:4]") == list("bcde")  # the end is included
    assert select_fields(fields, "$[:2]") == list("abc")
    assert select_fields(fields, "$[0,5:]") == list("af")
    assert select_fields(fields, "$[-1]") == ["f"]
    assert select_fields(fields, "$[0,-2:]") == list("aef")
    with pytest.raises(TransformDataError, match="outside a row of 6"):
        select_fields(fields, "$[6]")


@given(st.lists(st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"\n", b"") + b"\n"), max_size=40))
def test_multi_record_batches_keep_every_record_in_order_and_fill_each_request(records):
    limit_mb = 1
    batches = list(mini_batches(records, "MultiRecord", limit_mb))

    assert [record for batch in batches for record in batch.records] == records
    for batch, following in zip(batches, batches[1:], strict=False):
        size = sum(map(len, batch.records))
        assert size <= limit_mb * MB
        assert size + len(following.records[0]) > limit_mb * MB  # the next record would not have fit


@given(st.lists(st.integers(1, 300), min_size=1, max_size=30))
def test_a_batch_holds_as_many_whole_records_as_fit(sizes):
    records = [b"x" * (size - 1) + b"\n" for size in sizes]
    batches = list(mini_batches(records, "MultiRecord", 0))  # 0: no limit

    assert len(batches) == 1 and batches[0].records == records
    assert [batch.records for batch in mini_batches(records, "SingleRecord", 1)] == [[record] for record in records]


FIELD = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\r\n\x00"), max_size=8)


@given(st.lists(FIELD, min_size=1, max_size=6), st.lists(FIELD, min_size=1, max_size=3))
def test_a_csv_join_is_the_input_fields_then_the_output_fields(inputs, outputs):
    def line(fields):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(fields)
        return buffer.getvalue().encode()

    joined = join_csv(line(inputs), line(outputs))

    assert next(csv.reader(io.StringIO(joined.decode()))) == [*inputs, *outputs]


def test_a_gzip_object_is_read_as_a_stream_and_scored_like_the_plain_one(cloud, models, model_names):
    put(cloud, "score/plain/features.csv", models.encoded_test)
    put(cloud, "score/gzip/features.csv.gz", gzip.compress(models.encoded_test))
    for folder, compression in (("plain", "None"), ("gzip", "Gzip")):
        request = transform_request(
            f"encoded-{folder}", ENCODED_MODEL, f"s3://{BUCKET}/score/{folder}/", f"s3://{BUCKET}/out-{folder}"
        )
        request.pop("DataProcessing")
        request["TransformInput"]["CompressionType"] = compression
        job = run_job(cloud, request)
        assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    plain, unzipped = read(cloud, "out-plain/features.csv.out"), read(cloud, "out-gzip/features.csv.gz.out")
    assert plain == unzipped and plain.count(b"\n") == models.encoded_test.count(b"\n")


@given(
    text=st.lists(st.sampled_from([b"a", b"bc", b",", b" ", b"\n", b"\r", b"\r\n", b"\t"]), max_size=40),
    cuts=st.lists(st.integers(0, 80), max_size=8),
    split=st.sampled_from(["Line", "None", None]),
)
@example(text=[b"a", b"a", b"bc", b"\r", b"a"], cuts=[5], split="Line")  # a line ended by \r, then a block without one
def test_records_read_in_blocks_are_the_records_of_the_whole(text, cuts, split):
    data = b"".join(text)
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(data)), len(data)]
    blocks = [data[start:stop] for start, stop in zip(bounds, bounds[1:], strict=False)]
    whole = [line for line in data.splitlines(keepends=True) if line.strip()] if split == "Line" else [data]
    assert list(stream_records(blocks, split)) == [record for record in whole if record]


def test_answers_come_in_input_order_with_a_bounded_window():
    from concurrent.futures import ThreadPoolExecutor

    pulled = []

    def batches():
        for index in range(50):
            pulled.append(index)
            yield index

    def send(batch: int) -> int:
        time.sleep(0.001 * (batch % 3))  # answers finish out of order
        return batch * 10

    with ThreadPoolExecutor(max_workers=3) as pool:
        answered = transform_jobs._answered_in_order(pool, send, batches(), window=4)
        first = next(answered)
        assert first == (0, 0) and len(pulled) == 4  # not the whole object submitted ahead
        assert [first, *answered] == [(index, index * 10) for index in range(50)]


def test_a_failed_request_ends_the_answers():
    from concurrent.futures import ThreadPoolExecutor

    def send(batch: int) -> int:
        if batch == 5:
            raise TransformDataError("record 6 is too large")
        return batch

    with ThreadPoolExecutor(max_workers=2) as pool, pytest.raises(TransformDataError, match="record 6"):
        list(transform_jobs._answered_in_order(pool, send, iter(range(20)), window=4))


def test_records_are_lines_and_none_is_the_whole_object():
    assert split_records(b"a\nb\r\n\nc", "Line") == [b"a\n", b"b\r\n", b"c"]
    assert split_records(b"a\nb\n", "None") == [b"a\nb\n"]
    with pytest.raises(TransformDataError, match="record 2 is"):
        list(mini_batches([b"a\n", b"b" * (MB + 1)], "SingleRecord", 1))
