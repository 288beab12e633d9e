"""``sagedrop local up``: the local cloud as a service on 127.0.0.1, until Ctrl-C.

One LocalCloud (moto with the stack of template.yaml, the real handlers, the local SageMaker) lives
in this process; moto's ``mock_aws`` stays active so the Step Functions executor's Lambda calls
reach the in-process handlers and every backend is shared with the HTTP side. Uploads under
incoming/*.csv start runs through the template's EventBridge rule; the template's schedules (the
nightly cleanup) fire in this machine's clock.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from werkzeug.serving import BaseWSGIServer, make_server

from sagedrop_local.cloud import LocalCloud
from sagedrop_local.cloud_client import REGION
from sagedrop_local.server import discovery
from sagedrop_local.server.app import LocalCloudApp
from sagedrop_local.server.schedule import Schedule, ScheduledInvocations, UnsupportedSchedule
from sagedrop_local.server.uploads import UploadEvents
from sagedrop_local.server.wire import InProcessApi

IN_PROCESS_SERVICES = ("sagemaker", "sagemaker-runtime", "lambda")


class _Console:
    """Timestamped lines for the person watching ``local up``; the request threads share it."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self._stream.write(f"[{datetime.now().strftime('%H:%M:%S')}] {line}\n")
            self._stream.flush()


def _schedules(cloud: LocalCloud, console: Callable[[str], None]) -> list[ScheduledInvocations]:
    kept = []
    for logical_id, properties in cloud.schedules():
        expression = properties["ScheduleExpression"]
        try:
            schedule = Schedule(expression, properties.get("ScheduleExpressionTimezone", "UTC"))
        except (UnsupportedSchedule, ValueError) as error:
            console(f"{logical_id}: schedule {expression} not kept locally ({error}); invoke it on demand")
            continue
        event = json.loads(properties.get("Input") or "{}")

        def fire(logical_id: str = logical_id, event: dict = event) -> None:
            try:
                outcome = cloud.invoke(logical_id, event)
                console(f"{logical_id} (scheduled): {json.dumps(outcome)[:200]}")
            except RuntimeError as error:
                console(f"{logical_id} (scheduled) failed: {error}")

        kept.append(ScheduledInvocations(logical_id, schedule, fire, clock=lambda: datetime.now(UTC)))
    return kept


def _route_access_log(work_dir: Path) -> None:
    """The werkzeug request log belongs in a file, not between the console's lines."""
    handler = logging.FileHandler(work_dir / "access.log", encoding="utf-8")
    access = logging.getLogger("werkzeug")
    access.handlers = [handler]
    access.setLevel(logging.INFO)
    access.propagate = False


class _Stopper:
    """SIGINT or SIGTERM stops the server; repeats while the cloud shuts down are ignored."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.server: BaseWSGIServer | None = None

    def __call__(self, _signum: int, _frame: Any) -> None:
        if not self.requested.is_set():
            self.requested.set()
            if self.server is not None:
                threading.Thread(target=self.server.shutdown, daemon=True).start()

    def __enter__(self) -> _Stopper:
        self._previous = {sig: signal.signal(sig, self) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def serve(state_dir: Path, port: int, stream: IO[str], *, warm_containers: bool = True) -> int:
    """Serve until interrupted; ``warm_containers``: keep container processes ready (``sagemaker.warm``)."""
    state_dir = Path(state_dir).resolve()
    running = discovery.find_running(state_dir)
    if running:
        stream.write(f"sagedrop: local up is already serving {state_dir} at {running['url']}\n")
        return 1
    if port and not _port_free(port):  # say so now, not after building the cloud
        stream.write(f"sagedrop: 127.0.0.1:{port} is in use; pass --port with another port (0 picks a free one)\n")
        return 1
    with _Stopper() as stopper:
        return _serve(state_dir, port, stream, stopper, warm_containers)


def _serve(state_dir: Path, port: int, stream: IO[str], stopper: _Stopper, warm_containers: bool) -> int:
    work_dir = state_dir / "up"
    console = _Console(stream)
    with LocalCloud(work_dir=work_dir, state_dir=state_dir, warm_containers=warm_containers) as cloud:
        _route_access_log(work_dir)
        try:
            server = make_server("127.0.0.1", port, None, threaded=True)
        except OSError as error:
            stream.write(f"sagedrop: cannot listen on 127.0.0.1:{port}: {error.strerror or error}\n")
            return 1
        url = f"http://127.0.0.1:{server.server_port}"
        uploads = UploadEvents(cloud, console)
        server.app = LocalCloudApp(
            InProcessApi(cloud.session, REGION, IN_PROCESS_SERVICES),
            function_names={function.name for function in cloud.functions.values()},
            on_object_created=uploads.object_created,
            health=lambda: {
                "url": url,
                "pid": os.getpid(),
                "state_dir": str(state_dir),
                "outputs": cloud.outputs(),
                "functions": cloud.function_arns,
                "inbox_url": cloud.inbox_url,
            },
        )
        schedules = _schedules(cloud, console)
        stopper.server = server
        try:
            if not stopper.requested.is_set():
                discovery.announce(state_dir, url)  # before the banner: whoever reads it can use the server
                _print_banner(stream, cloud, url, work_dir, schedules)
                for scheduled in schedules:
                    scheduled.start()
                server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            discovery.withdraw(state_dir)
            for scheduled in schedules:
                scheduled.stop()
            uploads.close()
            stream.write("stopping: running executions are stopped; endpoints stay in the state directory\n")
            stream.flush()
    return 0


def _print_banner(
    stream: IO[str], cloud: LocalCloud, url: str, work_dir: Path, schedules: list[ScheduledInvocations]
) -> None:
    for name, value in cloud.outputs().items():
        stream.write(f"{name}={value}\n")
    stream.write(f"\nsagedrop local up: the AWS API of the stack at {url} (region {REGION})\n")
    stream.write(f"  aws --endpoint-url {url} --region {REGION} s3 cp data.csv s3://{cloud.bucket}/incoming/data/\n")
    for scheduled in schedules:
        stream.write(f"  {scheduled.name}: {scheduled.schedule.expression}, next {scheduled.next_run.isoformat()}\n")
    stream.write(f"  logs: {work_dir / 'lambda.log'}, {work_dir / 'access.log'}\n")
    stream.write("Ctrl-C stops.\n")
    stream.flush()
