"""One local cloud per test module: moto + the real handlers + the local SageMaker."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd
import pytest

from sagedrop_local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
BANK_DATA = ROOT / "data" / "bank-full.csv.gz"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    work = tmp_path_factory.mktemp("cloud")
    with LocalCloud(work_dir=work / "out", state_dir=work / "state") as local_cloud:
        yield local_cloud


@pytest.fixture(scope="session")
def bank_sample() -> bytes:
    """3,000 rows of the bundled bank marketing data, as CSV bytes with a header."""
    frame = pd.read_csv(io.BytesIO(gzip.decompress(BANK_DATA.read_bytes())))
    return frame.sample(n=3000, random_state=7).to_csv(index=False).encode()


def run_to_end(cloud: LocalCloud, key: str, data: bytes, config: bytes | None = None) -> tuple[dict, dict]:
    """Upload (with an optional sagedrop.json beside it), deliver the S3 event, wait for the end."""
    if config is not None:
        cloud.put_object(str(Path(key).parent / "sagedrop.json"), config, "application/json")
    outcome = cloud.deliver(cloud.drop_csv(data, key))
    assert outcome["started"], outcome
    return outcome, cloud.wait(outcome["execution_arn"], timeout_seconds=300)
