"""Cleanup benchmark: API calls by kind and wall time for N = 10, 100, 1,000 endpoints on moto.

    python benchmarks/cleanup_bench.py [N ...]

Each account holds N endpoints of this stack (each with its own config and model): 40 % invoked,
40 % idle, 10 % protected by tag, 10 % younger than the grace period; metric data for the invoked
ones, an endpoint log group for every tenth endpoint and N/10 stale log groups. CLEANUP_MAX_DELETIONS
is raised to N so the deletions are part of the measurement. Only run_cleanup is timed, not the
set-up. Goal: ceil(N/500) GetMetricData calls, and 1,000 endpoints in under 10 s.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import boto3
import time_machine
from moto import mock_aws

from sagedrop.cleanup import CleanupClients, CleanupSettings, run_cleanup

REGION = "us-east-1"
STACK = "sagedrop-bench"
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/bench"


def build_account(clients: CleanupClients, n: int) -> int:
    """Create the account; return how many endpoints should be measured (need GetMetricData)."""
    sm, cw, logs = clients.sagemaker, clients.cloudwatch, clients.logs
    clients.s3.create_bucket(Bucket="bench-data")
    clients.sns.create_topic(Name="bench")
    metric_data, measured = [], 0
    stack_tag = [{"Key": "sagedrop:stack", "Value": STACK}]
    for i in range(n):
        kind = ("busy", "busy", "busy", "busy", "idle", "idle", "idle", "idle", "keep", "young")[i % 10]
        age = timedelta(hours=2) if kind == "young" else timedelta(days=3)
        name = f"{kind}-{i:05d}"
        with time_machine.travel(NOW - age, tick=False):
            sm.create_model(
                ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}, Tags=stack_tag
            )
            sm.create_endpoint_config(
                EndpointConfigName=f"{name}-config",
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": f"{name}-model",
                        "InitialInstanceCount": 1,
                        "InstanceType": "ml.m5.large",
                    }
                ],
                Tags=stack_tag,
            )
            tags = stack_tag + ([{"Key": "sagedrop:keep", "Value": "true"}] if kind == "keep" else [])
            sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags)
            if i % 10 == 0:
                logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/{name}")
        if kind in ("busy", "idle"):
            measured += 1
        if kind == "busy":
            metric_data.append(
                {
                    "MetricName": "Invocations",
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": name},
                        {"Name": "VariantName", "Value": "AllTraffic"},
                    ],
                    "Value": 3.0,
                    "Timestamp": NOW - timedelta(hours=2),
                }
            )
    with time_machine.travel(NOW - timedelta(days=60), tick=False):
        for i in range(max(1, n // 10)):
            logs.create_log_group(logGroupName=f"/aws/sagemaker/Endpoints/gone-{i:05d}")
    with time_machine.travel(NOW, tick=False):
        for start in range(0, len(metric_data), 500):
            cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=metric_data[start : start + 500])
    return measured


def bench(n: int) -> tuple[float, Counter, int]:
    with mock_aws():
        clients = CleanupClients.create(boto3.session.Session(region_name=REGION))
        measured = build_account(clients, n)
        calls: Counter = Counter()

        def count(model, **_):
            calls[model.name] += 1

        for client in (clients.sagemaker, clients.cloudwatch, clients.logs, clients.s3, clients.sns):
            client.meta.events.register("before-call.*.*", count)
        settings = CleanupSettings(
            data_bucket="bench-data",
            notification_topic_arn=f"arn:aws:sns:{REGION}:123456789012:bench",
            stack_name=STACK,
            max_deletions=n,
        )
        started = time.perf_counter()
        report = run_cleanup(clients, settings, now=NOW)
        elapsed = time.perf_counter() - started
        assert not report.failures, report.failures
        assert len(report.summary()["endpoints_deleted"]) == 4 * n // 10
        return elapsed, calls, measured


def main(sizes: list[int]) -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cleanup benchmark on moto (load average {load:.2f}, {os.cpu_count()} CPUs)\n")
    ok = True
    for n in sizes:
        elapsed, calls, measured = bench(n)
        expected_gmd = math.ceil(measured / 500)
        print(f"N = {n:>5}  wall time {elapsed:6.2f} s  total API calls {sum(calls.values())}")
        for operation, count in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
            print(f"    {operation:<28}{count:>6}")
        gmd_ok = calls["GetMetricData"] == expected_gmd
        print(
            f"    GetMetricData {calls['GetMetricData']} for {measured} measured endpoints "
            f"(ceil({measured}/500) = {expected_gmd}) {'OK' if gmd_ok else 'NOT OK'}\n"
        )
        ok &= gmd_ok and not (n >= 1000 and elapsed >= 10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main([int(arg) for arg in sys.argv[1:]] or [10, 100, 1000]))
