"""The inference model tarball: layout, determinism, and that it serves on its own in a bare interpreter."""

import io
import json
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
import xgboost
from packaging.requirements import Requirement

from sagedrop.dataset import to_headerless_csv, to_source_csv
from sagedrop.inference.artifact import FeaturizerArtifact
from sagedrop.inference.packaging import (
    algorithm_files,
    build_model_tarball,
    container_environment,
    read_model_tarball,
)
from sagedrop.inference.serving import XGBOOST_MODEL_FILE


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_layout(bank_artifact):
    names = set(members(build_model_tarball(bank_artifact)))
    assert {"featurizer.json", "code/inference.py", "code/sagedrop/__init__.py", "code/sagedrop/errors.py"} <= names
    assert {f"code/sagedrop/inference/{m}.py" for m in ("serving", "featurizer", "decoder", "responses")} <= names
    assert {f"code/sagedrop/dataset/{m}.py" for m in ("reader", "encoding", "label", "writer")} <= names
    # Nothing that needs the Lambda layer's dependencies rides along.
    assert not {"code/sagedrop/dataset/prepare.py", "code/sagedrop/run_config/__init__.py"} & names
    assert not any(name.startswith("code/sagedrop/evaluation") for name in names)


def test_round_trip_and_deterministic_bytes(bank_artifact):
    data = build_model_tarball(bank_artifact, {XGBOOST_MODEL_FILE: b"model"})
    assert data == build_model_tarball(bank_artifact, {XGBOOST_MODEL_FILE: b"model"})
    read = read_model_tarball(data)
    assert read.artifact == bank_artifact
    assert read.files[XGBOOST_MODEL_FILE] == b"model"
    assert json.loads(read.files["featurizer.json"])["threshold"] == 0.5


def test_threshold_rides_in_the_artifact(bank):
    artifact = FeaturizerArtifact.from_schema(bank.schema, threshold=0.3)
    assert read_model_tarball(build_model_tarball(artifact)).artifact.threshold == 0.3


@pytest.mark.parametrize("name", ["featurizer.json", "code/inference.py", "../x", "/etc/x", "a/../../x"])
def test_extra_files_cannot_replace_or_escape(bank_artifact, name):
    with pytest.raises(ValueError, match="cannot add"):
        build_model_tarball(bank_artifact, {name: b"x"})


def test_reading_refuses_unsafe_paths_and_foreign_tarballs(bank_artifact):
    with pytest.raises(ValueError, match="unsafe path"):
        read_model_tarball(tarball({"../featurizer.json": bank_artifact.to_json()}))
    with pytest.raises(ValueError, match="no featurizer.json"):
        read_model_tarball(tarball({"xgboost-model": b"x"}))
    with pytest.raises(ValueError, match="not a readable model tarball"):
        read_model_tarball(b"not a tarball")


def test_algorithm_files_come_from_the_training_tarball():
    assert algorithm_files(tarball({"xgboost-model": b"m", "other": b"o"})) == {"xgboost-model": b"m"}
    with pytest.raises(ValueError, match="lacks xgboost-model"):
        algorithm_files(tarball({"model.pkl": b"m"}))


def test_container_environment():
    assert container_environment("featurize") == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        "SAGEDROP_INFERENCE_MODE": "featurize",
    }
    assert container_environment("single")["SAGEDROP_INFERENCE_MODE"] == "single"
    with pytest.raises(ValueError):
        container_environment("train")


# --- self-contained: served from the extracted tarball in an interpreter without the layer ------------

SERVE = r"""
import json, os, sys
code_dir, site_dir, model_dir, mode, content_type, accept = sys.argv[1:7]
sys.path[:0] = [code_dir, site_dir]
os.environ["SAGEDROP_INFERENCE_MODE"] = mode
for name in ("pydantic", "boto3", "jinja2", "aws_lambda_powertools"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{name} is importable: the interpreter is not bare")
import inference
model = inference.model_fn(model_dir)
body = sys.stdin.buffer.read()
answer = inference.output_fn(inference.predict_fn(inference.input_fn(body.decode(), content_type), model), accept)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sagedrop", "inference"))
files = sorted({os.path.dirname(sys.modules[m].__file__) for m in loaded})
print(json.dumps({"body": answer[0].decode(), "content_type": answer[1], "modules": loaded, "dirs": files}))
"""


def site_of(distributions: list[str], target: Path) -> Path:
    """A directory with links to ``distributions`` and their requirements (nothing else)."""
    target.mkdir()
    pending, seen = list(distributions), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        distribution = metadata.distribution(name)
        for requirement in map(Requirement, distribution.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
        for top in {Path(str(file)).parts[0] for file in distribution.files or [] if not str(file).startswith("..")}:
            source = Path(distribution.locate_file(top))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)
    return target


def serve_from(tarball_bytes: bytes, tmp_path: Path, site: Path, mode: str, body: bytes, content_type="text/csv"):
    model_dir = tmp_path / f"model-{mode}"
    with tarfile.open(fileobj=io.BytesIO(tarball_bytes), mode="r:gz") as tar:
        tar.extractall(model_dir, filter="data")
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SERVE, str(model_dir / "code"), str(site), str(model_dir), mode]
        + [content_type, "text/csv"],
        input=body,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr.decode()
    answer = json.loads(result.stdout)
    assert answer["dirs"] and all(Path(d).is_relative_to(model_dir / "code") for d in answer["dirs"])
    assert not [m for m in answer["modules"] if m.startswith(("sagedrop.run_config", "sagedrop.evaluation"))]
    return answer


@pytest.fixture(scope="module")
def bare_site(tmp_path_factory):
    return site_of(["pandas", "numpy"], tmp_path_factory.mktemp("site") / "numpy-pandas")


def test_the_tarball_serves_raw_bank_rows_on_its_own(bank, bank_artifact, tmp_path, bare_site):
    data = build_model_tarball(bank_artifact)
    rows = bank.raw_test.head(3)
    raw = to_source_csv(rows, delimiter=bank.schema["delimiter"])
    featurized = serve_from(data, tmp_path, bare_site, "featurize", raw)
    assert featurized["content_type"] == "text/csv"
    assert featurized["body"].encode() == to_headerless_csv(bank.test.iloc[:3, 1:])

    decoded = serve_from(data, tmp_path, bare_site, "decode", b"0.9\n0.1\n0.5\n")
    assert decoded["body"] == "yes,0.9\nno,0.9\nno,0.5\n"


def test_the_single_container_tarball_serves_with_the_hosts_xgboost(bank, bank_artifact, tmp_path):
    train = bank.train
    dtrain = xgboost.DMatrix(train.iloc[:, 1:].to_numpy(np.float32), label=train.iloc[:, 0].to_numpy())
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, dtrain, num_boost_round=10)
    data = build_model_tarball(bank_artifact, {XGBOOST_MODEL_FILE: bytes(booster.save_raw("ubj"))})
    site = site_of(["pandas", "numpy", "xgboost-cpu"], tmp_path / "site")

    raw = to_source_csv(bank.raw_test.head(5), delimiter=bank.schema["delimiter"])
    answer = serve_from(data, tmp_path, site, "single", raw)
    expected = booster.predict(xgboost.DMatrix(bank.test.iloc[:5, 1:].to_numpy(np.float32), missing=np.nan))
    got = [line.split(",") for line in answer["body"].splitlines()]
    assert [label for label, _ in got] == ["yes" if p > 0.5 else "no" for p in expected]
    np.testing.assert_allclose([float(p) for _, p in got], np.maximum(expected, 1 - expected), rtol=1e-6)
