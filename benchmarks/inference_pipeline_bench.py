"""Throughput of raw rows through a local inference-pipeline endpoint, next to today's pre-encoded path.

One process, one local cloud (moto S3 + the local SageMaker), one run: bank-full is prepared, a local
XGBoost training job trains on it (the tutorial's hyperparameters), and three endpoints serve the
same trained model:

* pipeline — the serial inference pipeline (scikit-learn featurizer → XGBoost → decoder), raw rows in,
  ``predicted_label,probability`` out;
* single — the serverless single-container form (XGBoost image in script mode), raw rows in;
* encoded — the built-in XGBoost container alone, fed the pre-encoded feature rows (no label), as
  the endpoint was called before the pipeline.

Every one of the 45,211 rows goes through InvokeEndpoint in requests as large as each path allows
(raw requests are cut so their features stay under the pipeline's 5 MB limit between containers;
serverless requests under 4 MB); best of ``--repeat`` passes, the endpoints taking turns so a busy
moment costs each alike; plus the median latency of a one-row request. Then Batch Transform jobs
(start of their containers included): the pipeline, SingleRecord as it must be, on the first
``--transform-rows`` raw rows with 1 and 4 requests in flight; the single-container model,
MultiRecord, on every row.

    .venv/bin/python benchmarks/inference_pipeline_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

import boto3
import botocore.session
from moto import mock_aws

from sagedrop.dataset import prepare_dataset, read_table, to_headerless_csv, to_source_csv
from sagedrop.image_uris import SKLEARN, image_uri, xgboost_image_uri
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.featurizer import Featurizer
from sagedrop.inference.packaging import algorithm_files, build_model_tarball, container_environment
from sagedrop.inference.serving import DECODE, FEATURIZE, SINGLE
from sagedrop.limits import SERVERLESS_INVOKE_MAX_BYTES
from sagedrop.run_config import resolve_run_config
from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.inference_pipeline import INTERMEDIATE_PAYLOAD_MAX_BYTES

BANK = Path(__file__).resolve().parents[1] / "data" / "bank-full.csv.gz"
REGION = "us-east-1"
BUCKET = "bench"
ROLE = "arn:aws:iam::123456789012:role/bench"
HYPERPARAMETERS = {
    "max_depth": "5",
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "subsample": "0.7",
    "objective": "binary:logistic",
    "num_round": "50",
}
ENCODED_REQUEST_BYTES = 5_000_000  # what the evaluation sends per request (sagedrop.limits)


def chunks(lines: list[bytes], max_bytes: int) -> list[bytes]:
    """Whole lines, each request at most ``max_bytes``."""
    requests, current, size = [], [], 0
    for line in lines:
        if current and size + len(line) > max_bytes:
            requests.append(b"".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        requests.append(b"".join(current))
    return requests


def wait(describe, key: str, done: tuple[str, ...]) -> dict:
    while True:
        answer = describe()
        if answer[key] in done:
            return answer
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--transform-rows", type=int, default=2000, help="rows scored by the transform jobs")
    args = parser.parse_args()

    data = gzip.decompress(BANK.read_bytes())
    prepared = prepare_dataset(data, resolve_run_config(None, {"label": "y"}, source="bench"), "bank-full.csv")
    artifact = FeaturizerArtifact.from_schema(prepared.schema)
    table = read_table(data)
    raw_lines = to_source_csv(table.frame.drop(columns="y"), header=False).splitlines(keepends=True)
    encoded_lines = Featurizer(artifact).featurize(b"".join(raw_lines), "text/csv").splitlines(keepends=True)
    expansion = sum(map(len, encoded_lines)) / sum(map(len, raw_lines))
    # Raw requests whose features stay under the limit between the pipeline's containers.
    raw_request_bytes = int(INTERMEDIATE_PAYLOAD_MAX_BYTES / expansion * 0.97)

    with mock_aws(), tempfile.TemporaryDirectory() as state:
        core = botocore.session.get_session()
        session = boto3.Session(botocore_session=core, region_name=REGION)
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        local = LocalSageMaker(s3, Path(state), startup_seconds=0.05)
        local.install(session)
        sagemaker, runtime = session.client("sagemaker"), session.client("sagemaker-runtime")
        try:
            for channel in ("train", "validation"):
                body = to_headerless_csv(getattr(prepared, channel))
                s3.put_object(Bucket=BUCKET, Key=f"data/{channel}/part.csv", Body=body)
            xgboost = xgboost_image_uri(REGION, "1.7-1")
            sagemaker.create_training_job(
                TrainingJobName="bench",
                AlgorithmSpecification={"TrainingImage": xgboost, "TrainingInputMode": "File"},
                RoleArn=ROLE,
                HyperParameters=HYPERPARAMETERS,
                InputDataConfig=[
                    {
                        "ChannelName": channel,
                        "ContentType": "text/csv",
                        "DataSource": {
                            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data/{channel}/"}
                        },
                    }
                    for channel in ("train", "validation")
                ],
                OutputDataConfig={"S3OutputPath": f"s3://{BUCKET}/model"},
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
            )
            job = wait(lambda: sagemaker.describe_training_job(TrainingJobName="bench"), "TrainingJobStatus",
                       ("Completed", "Failed"))  # fmt: skip
            trained = job["ModelArtifacts"]["S3ModelArtifacts"]
            trained_bytes = s3.get_object(Bucket=BUCKET, Key=trained.removeprefix(f"s3://{BUCKET}/"))["Body"].read()
            s3.put_object(Bucket=BUCKET, Key="inference.tar.gz", Body=build_model_tarball(artifact))
            single_tarball = build_model_tarball(artifact, algorithm_files(trained_bytes))
            s3.put_object(Bucket=BUCKET, Key="single.tar.gz", Body=single_tarball)
            sklearn, inference = image_uri(SKLEARN, REGION), f"s3://{BUCKET}/inference.tar.gz"
            models = {
                "pipeline": {
                    "Containers": [
                        {"Image": sklearn, "ModelDataUrl": inference, "Environment": container_environment(FEATURIZE)},
                        {"Image": xgboost, "ModelDataUrl": trained},
                        {"Image": sklearn, "ModelDataUrl": inference, "Environment": container_environment(DECODE)},
                    ]
                },
                "single": {
                    "PrimaryContainer": {
                        "Image": xgboost,
                        "ModelDataUrl": f"s3://{BUCKET}/single.tar.gz",
                        "Environment": container_environment(SINGLE),
                    }
                },
                "encoded": {"PrimaryContainer": {"Image": xgboost, "ModelDataUrl": trained}},
            }
            for name, model in models.items():
                sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, **model)
                variant = {"VariantName": "AllTraffic", "ModelName": name}
                if name == "single":
                    variant["ServerlessConfig"] = {"MemorySizeInMB": 4096, "MaxConcurrency": 5}
                else:
                    variant.update(InstanceType="ml.m5.large", InitialInstanceCount=1)
                sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
                sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
            for name in models:
                status = wait(lambda n=name: sagemaker.describe_endpoint(EndpointName=n), "EndpointStatus",
                              ("InService", "Failed"))  # fmt: skip
                assert status["EndpointStatus"] == "InService", status

            requests = {
                "pipeline": chunks(raw_lines, raw_request_bytes),
                "single": chunks(raw_lines, min(raw_request_bytes, int(SERVERLESS_INVOKE_MAX_BYTES * 0.97))),
                "encoded": chunks(encoded_lines, ENCODED_REQUEST_BYTES),
            }

            def one_pass(name: str) -> float:
                started = time.perf_counter()
                answered = 0
                for body in requests[name]:
                    answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)
                    answered += len(answer["Body"].read().splitlines()) if name != "encoded" else 0
                seconds = time.perf_counter() - started
                assert name == "encoded" or answered == len(raw_lines)
                return seconds

            def one_row(name: str) -> float:
                body = raw_lines[0] if name != "encoded" else encoded_lines[0]
                started = time.perf_counter()
                runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)["Body"].read()
                return time.perf_counter() - started

            # Interleaved, so a busy moment of the machine costs every endpoint alike.
            passes = {name: [] for name in models}
            latencies = {name: [] for name in models}
            for _ in range(args.repeat):
                for name in models:
                    passes[name].append(one_pass(name))
            for _ in range(20):
                for name in models:
                    latencies[name].append(one_row(name))

            rows = len(raw_lines)
            print(f"{rows:,} rows of bank-full; raw CSV {sum(map(len, raw_lines)) / 1e6:.1f} MB, features CSV "
                  f"{sum(map(len, encoded_lines)) / 1e6:.1f} MB ({expansion:.2f}x the raw bytes); "
                  f"best of {args.repeat} passes, median of 20 one-row requests")  # fmt: skip
            print(f"{'endpoint':<52} {'requests':>8} {'best s':>7} {'rows/s':>9} {'median s':>9} {'1-row ms':>9}")
            labels = {
                "pipeline": "pipeline: raw rows (featurize > XGBoost > decode)",
                "single": "single-container form: raw rows (serverless)",
                "encoded": "built-in XGBoost: pre-encoded rows",
            }
            for name in models:
                best = min(passes[name])
                print(
                    f"{labels[name]:<52} {len(requests[name]):>8} {best:>7.2f} {rows / best:>9,.0f} "
                    f"{statistics.median(passes[name]):>9.2f} {statistics.median(latencies[name]) * 1000:>9.1f}"
                )

            # Batch Transform of raw rows: the pipeline must go one row per request (SingleRecord); the
            # single-container model may fill requests (MultiRecord).
            s3.put_object(Bucket=BUCKET, Key="score/some/rows.csv", Body=b"".join(raw_lines[: args.transform_rows]))
            s3.put_object(Bucket=BUCKET, Key="score/all/rows.csv", Body=b"".join(raw_lines))
            for model, strategy, concurrency, prefix in (
                ("pipeline", "SingleRecord", 1, "some"),
                ("pipeline", "SingleRecord", 4, "some"),
                ("single", "MultiRecord", 1, "all"),
            ):
                job_name = f"score-{model}-{concurrency}"
                count = args.transform_rows if prefix == "some" else rows
                started = time.perf_counter()
                sagemaker.create_transform_job(
                    TransformJobName=job_name,
                    ModelName=model,
                    BatchStrategy=strategy,
                    MaxConcurrentTransforms=concurrency,
                    TransformInput={
                        "DataSource": {
                            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/score/{prefix}/"}
                        },
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                    },
                    TransformOutput={"S3OutputPath": f"s3://{BUCKET}/{job_name}", "AssembleWith": "Line"},
                    TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
                    DataProcessing={"JoinSource": "Input"},
                )
                job = wait(lambda n=job_name: sagemaker.describe_transform_job(TransformJobName=n),
                           "TransformJobStatus", ("Completed", "Failed"))  # fmt: skip
                seconds = time.perf_counter() - started
                assert job["TransformJobStatus"] == "Completed", job
                label = f"transform job: {model}, {strategy} x{concurrency}"
                print(f"{label:<52} {'-':>8} {seconds:>7.2f} {count / seconds:>9,.0f}   ({count:,} rows)")
        finally:
            local.close()


if __name__ == "__main__":
    main()
