"""CloudClient.wait: progress reading never takes more than a bounded share of a run's time."""

from __future__ import annotations

import time

from sagedrop_local.cloud_client import HISTORY_SHARE, CloudClient

READ_SECONDS = 0.05


class SlowHistory(CloudClient):
    """An execution that runs for ``polls`` reads, each history read taking READ_SECONDS."""

    def __init__(self, polls: int) -> None:
        self.polls = polls
        self.reads: list[float] = []
        self.sfn = self

    def describe_execution(self, executionArn: str) -> dict:  # noqa: N803 - boto3's spelling
        return {"status": "RUNNING" if len(self.reads) < self.polls else "SUCCEEDED"}

    def history(self, execution_arn: str) -> list[dict]:
        self.reads.append(time.monotonic())
        time.sleep(READ_SECONDS)
        return [{"id": index} for index in range(len(self.reads))]


def test_a_slow_history_read_is_followed_by_a_proportionally_longer_pause():
    cloud = SlowHistory(polls=4)
    seen: list[dict] = []

    final = cloud.wait("arn", on_event=seen.append, poll_seconds=0.001)

    assert final["status"] == "SUCCEEDED"
    gaps = [later - earlier for earlier, later in zip(cloud.reads, cloud.reads[1:], strict=False)]
    # a read, then at least HISTORY_SHARE reads' worth of pause: reading is at most 1/(1+share) of the time
    assert all(gap >= (1 + HISTORY_SHARE) * READ_SECONDS * 0.9 for gap in gaps), gaps
    assert [event["id"] for event in seen] == list(range(len(seen)))  # each event passed on once, in order


def test_without_progress_the_poll_interval_is_the_given_one():
    cloud = SlowHistory(polls=0)
    started = time.monotonic()
    assert cloud.wait("arn", poll_seconds=5)["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 1  # ended on the first read: no pause at all
