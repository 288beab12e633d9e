"""Prepared datasets to serve: the bundled bank data, and a small table with every column kind."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sagedrop.dataset import prepare_dataset
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.run_config import resolve_run_config

BANK = Path(__file__).resolve().parents[3] / "data" / "bank-full.csv.gz"


def prepare(data: bytes, **override):
    return prepare_dataset(data, resolve_run_config(None, override, source="test"), source="test.csv")


@pytest.fixture(scope="session")
def bank():
    return prepare(gzip.decompress(BANK.read_bytes()), label="y")


@pytest.fixture(scope="session")
def bank_artifact(bank):
    return FeaturizerArtifact.from_schema(bank.schema)


def small_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """age (int), score (float with gaps), colour (text), ident (dropped: an identifier), y (label)."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n).round(2).astype(object)
    score[::7] = ""
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, size=n),
            "score": score,
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "constant": ["same"] * n,
            "y": rng.choice(["no", "yes"], size=n),
        }
    )


@pytest.fixture(scope="session")
def small():
    return prepare(small_frame().to_csv(index=False).encode(), label="y")


@pytest.fixture(scope="session")
def small_artifact(small):
    return FeaturizerArtifact.from_schema(small.schema)
