"""S3's "Object Created" events on their way through EventBridge to the functions, off the request thread.

In the cloud S3 answers the upload, then EventBridge delivers the event asynchronously; here a
worker thread does the same, in upload order, so the client's PutObject returns at once.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class UploadEvents:
    def __init__(self, cloud: Any, report: Callable[[str], None]) -> None:
        self._cloud = cloud
        self._report = report
        self._queue: queue.Queue[tuple[str, str, str | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._deliver_all, name="sagedrop-upload-events", daemon=True)
        self._thread.start()

    def object_created(self, bucket: str, key: str, version_id: str | None) -> None:
        # Only the data bucket has EventBridge notifications on (template.yaml).
        if bucket == self._cloud.bucket:
            self._queue.put((bucket, key, version_id))

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _deliver_all(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._deliver(*item)
            except Exception as error:  # noqa: BLE001 - one bad event must not stop the deliveries
                self._report(f"s3://{item[0]}/{item[1]}: event not delivered: {type(error).__name__}: {error}")

    def _deliver(self, bucket: str, key: str, version_id: str | None) -> None:
        extra = {"VersionId": version_id} if version_id else {}
        head = self._cloud.s3.head_object(Bucket=bucket, Key=key, **extra)
        event = self._cloud.object_created_event(key, version_id, head["ETag"].strip('"'), head["ContentLength"])
        for function, response in self._cloud.publish(event):
            self._report(f"s3://{bucket}/{key} -> {function}: {_summary(response)}")


def _summary(response: dict) -> str:
    if "error" in response:
        return f"failed: {response['error']}"
    if response.get("started"):
        return (
            f"scoring {response['scoring_id']} started"
            if response.get("scoring_id")
            else f"run {response['run_id']} started"
        )
    if "started" in response:
        return f"no run started: {response.get('reason')}"
    return "done"
