"""The local cloud: the stack of template.yaml on moto, real handlers, a real local SageMaker.

    with LocalCloud(work_dir=Path("out")) as cloud:
        event = cloud.drop_csv(Path("bank.csv").read_bytes(), "incoming/bank/bank.csv")
        started = cloud.deliver(event)            # the starter handler gets S3's EventBridge event
        final = cloud.wait(started["execution_arn"])

What runs for real: moto executes the template's state machines (statemachine/pipeline.asl.json and
scoring.asl.json) with its Step Functions executor,
every Lambda task runs the handler in functions/ in this process, SageMaker training uses the
xgboost package and endpoints are HTTP model servers on 127.0.0.1. S3, SNS, SQS, EventBridge,
CloudWatch and Logs are moto's, in memory: they end with the process. The local SageMaker keeps
its state (and kept endpoints) in ``state_dir``, so a later process (``sagedrop local cleanup``)
sees them. ``sagedrop local up`` serves one LocalCloud over HTTP (sagedrop_local.server).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

import boto3

from sagedrop_local import environ, lazy_batch, s3_objects, sfn_interpreter
from sagedrop_local.cloud_client import REGION, CloudClient, default_state_dir
from sagedrop_local.lambdas import LocalLambdaRuntime
from sagedrop_local.stack import ACCOUNT_ID, LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]
# A Wait state takes whole seconds, so the local wait loops wait 0 s and the local SageMaker's
# Describe paces them instead: it answers when the job's or endpoint's status changes, or after
# LONG_POLL_SECONDS (sagemaker/long_poll.py). A loop ends when the work does, polling once a second.
LOCAL_PARAMETERS = {"PollIntervalSeconds": "0", "MaxPolls": "600"}
LONG_POLL_SECONDS = 1.0
# The cloud takes minutes to provision; locally nothing needs emulating (tests may ask for more).
LOCAL_STARTUP_SECONDS = 0.0


#: Where a finished local cloud's log handlers write until the next one takes them over.
_DETACHED = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process


def _repoint_handlers(old_stream: IO[str], new_stream: IO[str]) -> None:
    """Every logging handler writing to ``old_stream`` writes to ``new_stream`` from now on."""
    loggers = [
        logging.getLogger(),
        *(item for item in logging.root.manager.loggerDict.values() if isinstance(item, logging.Logger)),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is old_stream:
                handler.setStream(new_stream)


class LocalCloud(CloudClient):
    def __init__(
        self,
        *,
        work_dir: Path,
        state_dir: Path | None = None,
        root: Path = REPO_ROOT,
        parameter_overrides: dict[str, str] | None = None,
        startup_seconds: float = LOCAL_STARTUP_SECONDS,
        clock: Callable[[], datetime] | None = None,
        warm_containers: bool = False,
    ) -> None:
        if not (root / "template.yaml").exists():
            raise FileNotFoundError(f"{root} has no template.yaml: run sagedrop from a checkout of the project")
        self.root = root
        self.work_dir = Path(work_dir)
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.stack = LocalStack.from_template(
            root, region=REGION, parameter_overrides={**LOCAL_PARAMETERS, **(parameter_overrides or {})}
        )
        name_state_machines(self.stack)
        self.startup_seconds = startup_seconds
        self.clock = clock
        self.warm_containers = warm_containers  # the commands' clouds: containers started ahead of need
        # Imported here, not at the top: a command that talks to a running ``local up`` needs
        # CloudClient only, not moto or the local SageMaker (which imports xgboost: seconds).
        from moto import mock_aws

        lazy_batch.install()  # before moto's Step Functions interpreter is first imported
        sfn_interpreter.install()
        s3_objects.install()
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self.log: IO[str] | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.work_dir / "lambda.log", "a", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        self._route_library_logs()
        # Powertools warns on every handler that adds no metric; in Lambda that goes to the log.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        if str(self.root) not in sys.path:
            sys.path.insert(0, str(self.root))
        self._mock.start()
        try:
            self._build()
        except BaseException:
            self._mock.stop()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._stop_running_executions()
            self.sagemaker.close()
            self.lambdas.forget_handlers()
            environ.release_added()
        finally:
            self._mock.stop()
            boto3.DEFAULT_SESSION = None
            if self.log:
                _repoint_handlers(self.log, _DETACHED)
                self.log.close()

    def _stop_running_executions(self) -> None:
        """An execution left running would call into a cloud that no longer exists."""
        for machine_arn in self.state_machine_arns.values():
            for page in self.sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine_arn, statusFilter="RUNNING"
            ):
                for execution in page["executions"]:
                    self.sfn.stop_execution(executionArn=execution["executionArn"], cause="local cloud shut down")

    def _route_library_logs(self) -> None:
        """moto logs every failed state at WARNING; those belong in the log file, not the terminal.

        The handlers' Powertools Logger, made once per process, is pointed at this cloud's log file
        for each invocation by the Lambda runtime (``lambdas._service_logs_to``).
        """
        handler = logging.StreamHandler(self.log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        for name in ("moto", "sagedrop_local.sagemaker"):
            library_logger = logging.getLogger(name)
            library_logger.handlers = [handler]
            library_logger.propagate = False

    def _build(self) -> None:
        boto3.setup_default_session(region_name=REGION)
        self.session = boto3.DEFAULT_SESSION
        self.s3 = self.session.client("s3")
        self.sfn = self.session.client("stepfunctions")
        self._events = self.session.client("events")
        # Logical ids of the template's resources this local cloud really creates (for outputs()).
        self._built = {"DataBucket", "RunNotificationTopic"}
        self.state_machine_arns: dict[str, str] = {}
        self.bucket = self.stack.resource("DataBucket")
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})

        sns = self.session.client("sns")
        sqs = self.session.client("sqs")
        self.topic_arn = sns.create_topic(Name=self.stack.resource("RunNotificationTopic", "TopicName"))["TopicArn"]
        # Stands in for the e-mail subscription: what the topic publishes can be read back.
        self._inbox_url = sqs.create_queue(QueueName="sagedrop-local-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self._inbox_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        self._sqs = sqs

        from sagedrop_local.sagemaker import LocalSageMaker

        self.sagemaker = LocalSageMaker(
            self.s3,
            self.state_dir,
            logs_client=self.session.client("logs"),
            cloudwatch_client=self.session.client("cloudwatch"),
            startup_seconds=self.startup_seconds,
            warm_containers=self.warm_containers,
            long_poll_seconds=LONG_POLL_SECONDS,
            **({"clock": self.clock} if self.clock else {}),
        )
        self.sagemaker.install(self.session)
        if self.warm_containers:
            self.sagemaker.prewarm()

        functions = self.stack.functions()
        for function in functions.values():
            function.environment.update(AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, POWERTOOLS_TRACE_DISABLED="true")
        self.functions = functions
        self.function_arns = {logical_id: function.arn for logical_id, function in functions.items()}
        self.lambdas = LocalLambdaRuntime(functions, log=self.log)
        self.lambdas.install(self.session.events)
        self._lambda = self.session.client("lambda")  # after install: the hook is copied into new clients

        self._create_event_rules()
        for logical_id, resource in self.stack.template["Resources"].items():
            if resource["Type"] != "AWS::Serverless::StateMachine":
                continue
            name = self.stack.resource(logical_id, "Name")
            self.state_machine_arns[logical_id] = self.sfn.create_state_machine(
                name=name,
                definition=self.stack.state_machine_definition(logical_id),
                roleArn=f"arn:aws:iam::123456789012:role/{name}-role",
                type=resource["Properties"].get("Type", "STANDARD"),
            )["stateMachineArn"]
            self._built.add(logical_id)
        self.state_machine_arn = self.state_machine_arns["PipelineStateMachine"]
        self.scoring_state_machine_arn = self.state_machine_arns["ScoringStateMachine"]

    def _create_event_rules(self) -> None:
        """The bucket sends every event to EventBridge; the template's rules route them to functions."""
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        events = self._events
        for logical_id, rule in function_events(self.stack, "EventBridgeRule"):
            name = rule.get("RuleName") or f"{self.stack.stack_name}-{logical_id}".lower()
            events.put_rule(Name=name, EventPattern=json.dumps(rule["Pattern"]), State="ENABLED")
            target = {"Id": logical_id, "Arn": self.functions[logical_id].arn}
            if "DeadLetterConfig" in rule:
                queue_arn = rule["DeadLetterConfig"]["Arn"]
                self._sqs.create_queue(QueueName=queue_arn.rsplit(":", 1)[1])
                self._built |= {queue for queue, names in self.stack.physical.items() if names.get("Arn") == queue_arn}
                target["DeadLetterConfig"] = {"Arn": queue_arn}
            if "RetryPolicy" in rule:
                target["RetryPolicy"] = {key: int(value) for key, value in rule["RetryPolicy"].items()}
            events.put_targets(Rule=name, Targets=[target])

    def schedules(self) -> list[tuple[str, dict]]:
        """(function logical id, ScheduleV2 properties) of every schedule the template declares."""
        return function_events(self.stack, "ScheduleV2")

    def outputs(self) -> dict[str, str]:
        """The template's stack outputs, as ``sam deploy`` prints them: those of resources built here."""
        shown = {}
        for name, output in self.stack.template["Outputs"].items():
            value = output["Value"]
            referenced = value.get("Ref") or (value.get("Fn::GetAtt") or [None])[0] if isinstance(value, dict) else None
            if referenced is None or referenced in self._built:
                shown[name] = str(self.stack.resolve(value))
        return shown

    # --- what a user does ------------------------------------------------------------------------
    def drop_csv(self, data: bytes, key: str) -> dict:
        """Upload a CSV as a user would; returns the EventBridge event S3 would send for it."""
        response = self.put_object(key, data, "text/csv")
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        return self.object_created_event(key, response.get("VersionId"), head["ETag"].strip('"'), len(data))

    def object_created_event(self, key: str, version_id: str | None, etag: str, size: int) -> dict:
        from urllib.parse import quote_plus

        event = json.loads((self.root / "events" / "object_created.json").read_text())
        now = datetime.now(UTC)
        event.update(time=now.strftime("%Y-%m-%dT%H:%M:%SZ"), region=REGION, resources=[f"arn:aws:s3:::{self.bucket}"])
        event["detail"]["bucket"]["name"] = self.bucket
        # S3 URL-encodes keys in its notifications.
        event["detail"]["object"].update(
            {"key": quote_plus(key, safe="/"), "size": size, "etag": etag, "sequencer": f"{time.time_ns():X}"}
        )
        if version_id:
            event["detail"]["object"]["version-id"] = version_id
        else:
            event["detail"]["object"].pop("version-id", None)
        return event

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def start_run(self, data: bytes, key: str) -> dict:
        return self.deliver(self.drop_csv(data, key))

    def start_run_from(self, source: BinaryIO, key: str) -> dict:
        version_id, etag, size = self.upload_csv(source, key)
        return self.deliver(self.object_created_event(key, version_id, etag, size))

    def start_scoring(self, data: bytes, key: str) -> dict:
        return self.deliver(self.drop_csv(data, key))  # the starter routes score/ keys to the scoring

    def deliver(self, event: dict) -> dict:
        """Hand an S3 event to the starter, as the EventBridge rule does."""
        return self.invoke("StartPipelineFunction", event)


def function_events(stack: LocalStack, kind: str) -> list[tuple[str, dict]]:
    """(function logical id, event properties) of every SAM event source of ``kind``, resolved."""
    found = []
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for source in resource.get("Properties", {}).get("Events", {}).values():
            if source.get("Type") == kind:
                found.append((logical_id, stack.resolve(source.get("Properties", {}))))
    return found


def name_state_machines(stack: LocalStack) -> None:
    """Each state machine under the name its template ``Name`` gives (``<stack>-pipeline``, ``<stack>-scoring``).

    LocalStack names every state machine ``<stack>-pipeline``; with two machines the second would
    take the first's ARN (and so would the starter's SCORING_STATE_MACHINE_ARN), so the names are
    set from the template here, before the functions' environments are resolved.
    """
    for logical_id, resource in stack.template["Resources"].items():
        name = resource.get("Properties", {}).get("Name")
        if resource["Type"] != "AWS::Serverless::StateMachine" or name is None:
            continue
        resolved = str(stack.resolve(name))
        arn = f"arn:aws:states:{stack.region}:{ACCOUNT_ID}:stateMachine:{resolved}"
        stack.physical[logical_id] = {"Ref": arn, "Arn": arn, "Name": resolved}
