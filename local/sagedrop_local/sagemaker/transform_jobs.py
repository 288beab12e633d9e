"""CreateTransformJob, DescribeTransformJob, StopTransformJob, ListTransformJobs, and the job's thread.

A transform job scores S3 objects with a model and no endpoint. Its thread starts the model's
containers as an endpoint would (``model_containers.start_model``: built-in, script-mode or an
inference pipeline), sends every object's records through them (``transform_data``: split,
mini-batches, ``DataProcessing``), and writes ``<S3OutputPath>/<path of the object under the input
prefix>.out`` for each object that succeeds. InProgress → Completed, or Failed with its
FailureReason (a bad record fails its object, whose output is not written; the other objects are
still processed), or Stopping → Stopped. A crash of the thread is a Failed job.

Input: ``S3Prefix`` (every object under it) or ``ManifestFile``; ``CompressionType: Gzip``;
``SplitType`` ``None`` or ``Line`` (RecordIO and TFRecord are not emulated);
``MaxConcurrentTransforms`` requests in flight (default 1). ``BatchStrategy`` defaults to
MultiRecord, as SageMaker's logs show it for built-in containers. A multi-container model (an
inference pipeline) with MultiRecord fails the way SageMaker's does (sagemaker-python-sdk issue
4042: SingleRecord works, MultiRecord fails), with a FailureReason that says so. Logs:
``/aws/sagemaker/TransformJobs``, streams ``<job>/<instance>`` (containers; with ``/<hostname>``
for each container of a pipeline) and ``<job>/<instance>/data-log`` (per object).
"""

from __future__ import annotations

import copy
import gzip
import json
import secrets
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import IO

from sagedrop_local.s3_objects import LOCAL_TRANSFER

from .context import Local, validate_name
from .errors import SageMakerApiError, could_not_find, validation_exception
from .inference_pipeline import Answer, PipelineServer, container_names, is_pipeline, model_error_message
from .listing import list_call
from .model_containers import ContainerLogs, ContainerStartError, ModelDataUnavailable, start_model
from .script_mode import post
from .store import Tables, merge_tags, public
from .training import FAILURE_REASON_LIMIT
from .training_data import parse_s3_uri
from .transform_data import (
    ROOT,
    Batch,
    TransformDataError,
    answer_records,
    assembled,
    check_path,
    filter_input,
    filter_output,
    is_json,
    join_csv,
    join_json,
    mini_batches,
    stream_records,
)
from .workers import Workers, crash_reason, orphaned

TABLE = "transform_jobs"
SCRATCH = "transform"
LOG_GROUP = "/aws/sagemaker/TransformJobs"
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB = 100
READ_BYTES = 1024 * 1024  # what the job reads of an input object at a time
OUTPUT_IN_MEMORY_BYTES = 8 * 1024 * 1024  # an object's output above this goes to a temp file until uploaded
MULTI_RECORD = "MultiRecord"
SINGLE_RECORD = "SingleRecord"
_RUNNING = ("InProgress", "Stopping")
_SUMMARY_KEYS = (
    "TransformJobName",
    "TransformJobArn",
    "CreationTime",
    "TransformEndTime",
    "LastModifiedTime",
    "TransformJobStatus",
    "FailureReason",
)
MULTI_RECORD_PIPELINE_REASON = (
    "ClientError: BatchStrategy MultiRecord fails for a model of several containers (an inference pipeline) "
    "on SageMaker (sagemaker-python-sdk issue 4042: SingleRecord works), so the local SageMaker fails it "
    "too. Use BatchStrategy SingleRecord."
)
_INTERRUPTED = (
    "InternalServerError: the local SageMaker process that was running this transform job exited before it finished."
)


class ObjectFailed(Exception):
    """One input object could not be transformed; ``lines`` go to its data log."""


class JobStopped(Exception):
    pass


def fail_unfinished_transforms(tables: Tables, now, unfinished) -> None:
    """Report Failed every transform job in progress that ``unfinished`` says cannot end."""
    for job in tables.setdefault(TABLE, {}).values():
        if job["TransformJobStatus"] in _RUNNING and unfinished(job):
            job.update(
                TransformJobStatus="Failed", FailureReason=_INTERRUPTED, TransformEndTime=now, LastModifiedTime=now
            )


def _job(tables: Tables, name: str) -> dict:
    job = tables.setdefault(TABLE, {}).get(name)
    if job is None:
        raise validation_exception(f"Could not find requested job with name {name}")
    return job


def validate_request(params: dict) -> None:
    """What CreateTransformJob refuses (and what this emulation cannot run), before anything is made."""
    payload = params.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
    if not 0 <= payload <= MAX_PAYLOAD_MB:
        raise validation_exception(f"MaxPayloadInMB must be between 0 and {MAX_PAYLOAD_MB}, got {payload}.")
    concurrency = params.get("MaxConcurrentTransforms") or 1
    if concurrency * payload > MAX_PAYLOAD_MB:
        raise validation_exception(
            f"MaxConcurrentTransforms * MaxPayloadInMB must not exceed {MAX_PAYLOAD_MB} MB "
            f"({concurrency} * {payload} MB was requested)."
        )
    transform_input, output = params["TransformInput"], params["TransformOutput"]
    split = transform_input.get("SplitType", "None")
    if split not in ("None", "Line"):
        raise validation_exception(f"SplitType {split} is not emulated by the local SageMaker (None or Line).")
    source = transform_input["DataSource"]["S3DataSource"]
    if source["S3DataType"] not in ("S3Prefix", "ManifestFile"):
        raise validation_exception(
            f"S3DataType {source['S3DataType']} is not emulated by the local SageMaker (S3Prefix or ManifestFile)."
        )
    processing = params.get("DataProcessing") or {}
    for field in ("InputFilter", "OutputFilter"):
        if processing.get(field):
            try:
                check_path(processing[field], field)
            except ValueError as error:
                raise validation_exception(str(error)) from None
    if processing.get("InputFilter", ROOT).strip() != ROOT and split != "Line":
        raise validation_exception("An InputFilter needs SplitType Line in the local SageMaker (one record per line).")
    if processing.get("JoinSource") == "Input":
        if split != "Line" or output.get("AssembleWith") != "Line":
            raise validation_exception("JoinSource Input needs SplitType Line and AssembleWith Line.")
        if is_json(transform_input.get("ContentType")) != is_json(output.get("Accept")):
            raise validation_exception("To join input and output, ContentType and Accept must be the same format.")


class TransformJobs:
    def __init__(self, local: Local, workers: Workers):
        self._local = local
        self._store = local.store
        self._workers = workers
        with self._store.write() as tables:
            # Jobs whose process has gone cannot finish: report them failed, remove their files.
            fail_unfinished_transforms(tables, local.now(), orphaned)
            running = {name for name, job in tables[TABLE].items() if job["TransformJobStatus"] in _RUNNING}
        scratch = local.state_dir / SCRATCH
        if scratch.is_dir():
            for folder in scratch.iterdir():
                # a folder is "<job name>-<random>", and the random part has no '-'
                if folder.name.rsplit("-", 1)[0] not in running:
                    shutil.rmtree(folder, ignore_errors=True)

    def operations(self) -> dict:
        return {
            ("sagemaker", "CreateTransformJob"): self.create,
            ("sagemaker", "DescribeTransformJob"): self.describe,
            ("sagemaker", "StopTransformJob"): self.stop,
            ("sagemaker", "ListTransformJobs"): self.list,
        }

    def interrupted(self, unfinished) -> None:
        """This instance closes: its jobs in progress cannot finish."""
        with self._store.write() as tables:
            fail_unfinished_transforms(tables, self._local.now(), unfinished)

    def create(self, params: dict, region: str, _context: dict) -> dict:
        name = params["TransformJobName"]
        validate_name(name, "transformJobName")
        validate_request(params)
        arn = self._local.arn(region, "transform-job", name)
        now = self._local.now()
        with self._store.write() as tables:
            jobs = tables.setdefault(TABLE, {})
            if name in jobs:
                raise SageMakerApiError(
                    "ResourceInUse", f"Job name must be unique within an AWS account and region ({arn} exists)."
                )
            model = tables["models"].get(params["ModelName"])
            if model is None:
                raise could_not_find("model", self._local.arn(region, "model", params["ModelName"]))
            job = copy.deepcopy({key: value for key, value in params.items() if key != "Tags"})
            job.update(
                TransformJobArn=arn,
                TransformJobStatus="InProgress",
                CreationTime=now,
                LastModifiedTime=now,
                _model=copy.deepcopy(model),  # the job keeps running if the model is deleted
                _instance=f"i-{secrets.token_hex(8)[:17]}",
                _owner=self._store.owner,
            )
            jobs[name] = job
            merge_tags(tables, arn, params.get("Tags"))
        self._workers.spawn(self._run, name, on_crash=partial(self._crashed, name))
        return {"TransformJobArn": arn}

    def describe(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.read() as tables:
            return public(_job(tables, params["TransformJobName"]))

    def stop(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.write() as tables:
            job = _job(tables, params["TransformJobName"])
            if job["TransformJobStatus"] == "InProgress":
                job.update(TransformJobStatus="Stopping", LastModifiedTime=self._local.now())
        return {}

    def list(self, params: dict, _region: str, _context: dict) -> dict:
        with self._store.read() as tables:
            tables.setdefault(TABLE, {})  # a state file written before transform jobs existed
        return list_call(self._store, params, TABLE, _SUMMARY_KEYS, "TransformJobSummaries", "TransformJobStatus")

    # ------------------------------------------------------------------ the job's thread

    def _status(self, name: str) -> str:
        with self._store.read() as tables:
            return tables[TABLE][name]["TransformJobStatus"]

    def _should_stop(self, name: str) -> bool:
        return self._workers.closed or self._status(name) != "InProgress"

    def _run(self, name: str) -> None:
        if self._workers.sleep(self._local.startup_seconds, lambda: self._should_stop(name)):
            self._finish(name, "Stopped")
            return
        with self._store.write() as tables:
            job = tables[TABLE][name]
            job.update(TransformStartTime=self._local.now(), LastModifiedTime=self._local.now())
            job = copy.deepcopy(job)
        model = job["_model"]
        if is_pipeline(model) and job.get("BatchStrategy", MULTI_RECORD) == MULTI_RECORD:
            self._data_log(job, [f"[sagemaker logs]: BatchStrategy=MULTI_RECORD: {MULTI_RECORD_PIPELINE_REASON}"])
            self._finish(name, "Failed", MULTI_RECORD_PIPELINE_REASON)
            return
        try:
            inputs = self._inputs(job)
        except ObjectFailed as error:
            self._finish(name, "Failed", f"ClientError: {error}")
            return
        scratch = tempfile.mkdtemp(prefix=f"{name}-", dir=self._scratch_root())
        try:
            server = self._start(job, scratch)
        except (ModelDataUnavailable, ContainerStartError) as error:
            shutil.rmtree(scratch, ignore_errors=True)
            self._finish(name, "Failed", self._start_failure(error))
            return
        try:
            self._transform_all(name, job, server, inputs)
        finally:
            server.stop()
            shutil.rmtree(scratch, ignore_errors=True)

    def _scratch_root(self):
        root = self._local.state_dir / SCRATCH
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _start(self, job: dict, scratch: str):
        model = copy.deepcopy(job["_model"])
        containers = model["Containers"] if is_pipeline(model) else [model["PrimaryContainer"]]
        for container in containers:  # the job's Environment reaches every container
            container["Environment"] = {**(container.get("Environment") or {}), **(job.get("Environment") or {})}
        base = f"{job['TransformJobName']}/{job['_instance']}"
        names = container_names(model)
        streams = {name: f"{base}/{name}" if is_pipeline(model) else base for name in names}
        logs = ContainerLogs(self._local, LOG_GROUP, streams)
        return start_model(self._local, model, Path(scratch), logs, intermediate_limit=None)

    @staticmethod
    def _start_failure(error: Exception) -> str:
        if isinstance(error, ModelDataUnavailable):
            return f"ClientError: {error.reason}"[:FAILURE_REASON_LIMIT]
        return (
            f"AlgorithmError: Model container(s) {', '.join(error.failed)} failed to respond to ping. Please ensure "
            "/ping endpoint is implemented and responds with an HTTP 200 status code."
        )[:FAILURE_REASON_LIMIT]

    def _inputs(self, job: dict) -> list[tuple[str, str, str]]:
        """(bucket, key, path under the input prefix) of every object to transform."""
        source = job["TransformInput"]["DataSource"]["S3DataSource"]
        uri = source["S3Uri"]
        bucket, prefix = parse_s3_uri(uri)
        if source["S3DataType"] == "ManifestFile":
            try:
                entries = json.loads(self._local.s3.get_object(Bucket=bucket, Key=prefix)["Body"].read())
                base_bucket, base = parse_s3_uri(entries[0]["prefix"])
                return [(base_bucket, base + key, key) for key in entries[1:]]
            except Exception as error:  # noqa: BLE001 — any unreadable manifest is the user's error
                raise ObjectFailed(f"Cannot read the manifest file {uri}: {error}") from error
        directory = prefix[: prefix.rfind("/") + 1]
        keys = []
        for page in self._local.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [item["Key"] for item in page.get("Contents", []) if not item["Key"].endswith("/")]
        if not keys:
            raise ObjectFailed(f'No S3 objects found under S3 URL "{uri}" given in input data source.')
        return [(bucket, key, key[len(directory) :]) for key in sorted(keys)]

    def _transform_all(self, name: str, job: dict, server, inputs: list[tuple[str, str, str]]) -> None:
        out_bucket, out_prefix = parse_s3_uri(job["TransformOutput"]["S3OutputPath"])
        failures = []
        for bucket, key, relative in inputs:
            try:
                output = self._transform_object(name, job, server, bucket, key)
            except JobStopped:
                self._finish(name, "Stopped")
                return
            except ObjectFailed as error:
                self._data_log(job, [f"{bucket}/{key}: {line}" for line in error.args[0].splitlines()])
                failures.append(f"s3://{bucket}/{key}: {error.args[0].splitlines()[-1]}")
                continue
            target = f"{out_prefix.rstrip('/')}/{relative}.out" if out_prefix.strip("/") else f"{relative}.out"
            with output:
                output.seek(0)
                self._local.s3.upload_fileobj(output, out_bucket, target, Config=LOCAL_TRANSFER)
        if failures:
            more = f" ({len(failures)} objects failed)" if len(failures) > 1 else ""
            self._finish(name, "Failed", f"ClientError: See job logs for more information{more}. {failures[0]}")
        else:
            self._finish(name, "Completed")

    def _transform_object(self, name: str, job: dict, server, bucket: str, key: str) -> IO[bytes]:
        """The object's output, in a spooled file: the input is read and answered as a stream, in order."""
        transform_input, output = job["TransformInput"], job["TransformOutput"]
        body = self._local.s3.get_object(Bucket=bucket, Key=key)["Body"]
        source = gzip.GzipFile(fileobj=body) if transform_input.get("CompressionType") == "Gzip" else body
        processing = job.get("DataProcessing") or {}
        json_records = is_json(transform_input.get("ContentType"))
        split = transform_input.get("SplitType", "None")
        join = processing.get("JoinSource") == "Input"
        per_record = join or processing.get("OutputFilter", ROOT).strip() != ROOT
        outputs = tempfile.SpooledTemporaryFile(OUTPUT_IN_MEMORY_BYTES)  # noqa: SIM115 - returned, closed by the caller

        def write(answered: bytes) -> None:
            outputs.write(assembled(answered, output.get("AssembleWith")))

        def send(batch: Batch) -> Answer:
            if self._should_stop(name):
                raise JobStopped
            sent = [filter_input(record, processing.get("InputFilter"), json_records) for record in batch.records]
            body = b"".join(_ended(record) for record in sent) if split == "Line" else sent[0]
            answer = _invoke(server, body, transform_input.get("ContentType"), output.get("Accept"))
            if answer.status != 200:
                raise ObjectFailed(_failure_lines(answer, batch.first, len(batch.records)))
            return answer

        # MaxConcurrentTransforms requests in flight; answers are taken in input order.
        workers = max(1, job.get("MaxConcurrentTransforms") or 1)
        pool = ThreadPoolExecutor(max_workers=workers)
        try:
            records = stream_records(iter(lambda: source.read(READ_BYTES), b""), split)
            batches = mini_batches(
                records, job.get("BatchStrategy", MULTI_RECORD), job.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
            )
            for batch, answer in _answered_in_order(pool, send, batches, window=2 * workers):
                if not per_record:
                    write(answer.body)
                    continue
                answers = answer_records(answer.body, len(batch.records))
                for record, answered in zip(batch.records, answers, strict=True):
                    if join:
                        answered = join_json(record, answered) if json_records else join_csv(record, answered)
                    write(filter_output(answered, processing.get("OutputFilter"), json_records))
        except BaseException as error:
            outputs.close()
            if isinstance(error, TransformDataError | ValueError | UnicodeDecodeError):
                raise ObjectFailed(f"ClientError: {error}") from error
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return outputs

    def _data_log(self, job: dict, lines: list[str]) -> None:
        now = self._local.now()
        stream = f"{job['TransformJobName']}/{job['_instance']}/data-log"
        self._local.write_logs(LOG_GROUP, stream, [(now, line) for line in lines])

    def _finish(self, name: str, result: str, reason: str | None = None) -> None:
        if self._workers.closed:
            return  # this instance is going away; close() reports the job as interrupted
        now = self._local.now()
        with self._store.write() as tables:
            job = tables[TABLE][name]
            if job["TransformJobStatus"] not in _RUNNING:
                return
            job.update(TransformJobStatus=result, TransformEndTime=now, LastModifiedTime=now)
            if reason:
                job["FailureReason"] = reason[:FAILURE_REASON_LIMIT]

    def _crashed(self, name: str, error: BaseException) -> None:
        now = self._local.now()
        with self._store.write() as tables:
            job = tables.setdefault(TABLE, {}).get(name)
            if job is None or job["TransformJobStatus"] not in _RUNNING:
                return
            job.update(
                TransformJobStatus="Failed",
                FailureReason=crash_reason("running this transform job", error),
                TransformEndTime=now,
                LastModifiedTime=now,
            )


def _answered_in_order(pool: ThreadPoolExecutor, send: Callable, batches: Iterator, window: int) -> Iterator[tuple]:
    """(batch, answer) in input order, with at most ``window`` requests submitted ahead (not the whole object)."""
    ahead: deque = deque()
    for batch in batches:
        ahead.append((batch, pool.submit(send, batch)))
        if len(ahead) >= window:
            first, answer = ahead.popleft()
            yield first, answer.result()
    while ahead:
        first, answer = ahead.popleft()
        yield first, answer.result()


def _ended(record: bytes) -> bytes:
    return record if record.endswith(b"\n") else record + b"\n"


def _invoke(server, body: bytes, content_type: str | None, accept: str | None) -> Answer:
    if isinstance(server, PipelineServer):
        return server.run(body, content_type, accept)
    return Answer(*post(server.port, body, content_type, accept))


def _failure_lines(answer: Answer, first: int, count: int) -> str:
    """The data log's account of a failed request, ending with the line the FailureReason quotes."""
    side = "ClientError" if answer.status < 500 else "ServerError"
    where = f"record {first + 1}" if count == 1 else f"records {first + 1}-{first + count}"
    text = answer.body.decode("utf-8", errors="replace")
    headers = answer.headers()
    return f"{side}: {answer.status}\n\nMessage:\n{text}\n{where}: {model_error_message(answer.status, text, headers)}"
