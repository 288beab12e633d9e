"""model.tar.gz is unpacked safely on every Python 3.11, with or without ``extractall(filter=...)``."""

from __future__ import annotations

import io
import tarfile

import pytest

from sagedrop_local.sagemaker.artifacts import UnsafeArchive, extract_model

from .conftest import deploy, model_tar, to_csv, wait_for_endpoint
from .test_endpoints import train_and_upload


@pytest.fixture(params=["with data_filter", "like Python 3.11.2"])
def tarfile_version(request, monkeypatch):
    """Either today's tarfile, or one without ``data_filter`` whose extractall rejects ``filter``."""
    if request.param == "like Python 3.11.2":
        original = tarfile.TarFile.extractall

        def extractall(self, path=".", members=None, *, numeric_owner=False, **kwargs):
            if kwargs:  # 3.11.2's signature has no `filter`
                raise TypeError(f"extractall() got an unexpected keyword argument {next(iter(kwargs))!r}")
            return original(self, path, members, numeric_owner=numeric_owner)

        monkeypatch.delattr(tarfile, "data_filter")
        monkeypatch.setattr(tarfile.TarFile, "extractall", extractall)
    return request.param


def _archive(*members: tarfile.TarInfo, content: bytes = b"model") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return buffer.getvalue()


def _file(name: str, size: int = 5) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def _link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_plain_files_and_folders_are_extracted(tarfile_version, tmp_path):
    folder = tarfile.TarInfo("code")
    folder.type = tarfile.DIRTYPE
    extract_model(_archive(_file("xgboost-model"), folder, _file("code/inference.py")), tmp_path)

    assert (tmp_path / "xgboost-model").read_bytes() == b"model"
    assert (tmp_path / "code" / "inference.py").read_bytes() == b"model"


@pytest.mark.parametrize(
    "member",
    [
        _file("../outside"),
        _file("nested/../../outside"),
        _file("/etc/absolute"),
        _link("escape", "/etc/passwd", tarfile.SYMTYPE),
        _link("inside-link", "xgboost-model", tarfile.SYMTYPE),
        _link("hard", "/etc/passwd", tarfile.LNKTYPE),
        _link("fifo", "", tarfile.FIFOTYPE),
    ],
    ids=lambda member: member.name,
)
def test_members_that_could_escape_or_are_not_plain_files_are_refused(tarfile_version, tmp_path, member):
    destination = tmp_path / "model"
    destination.mkdir()

    with pytest.raises(UnsafeArchive):
        extract_model(_archive(_file("xgboost-model"), member), destination)

    # nothing at all was written: the check comes before the first member is extracted
    assert list(tmp_path.rglob("*")) == [destination]


def test_an_endpoint_serves_on_a_python_without_the_extraction_filter(tarfile_version, sagemaker, runtime, s3):
    url, booster, features = train_and_upload(s3, "runs/old-python/model.tar.gz", {"objective": "binary:logistic"})

    deploy(sagemaker, "ep-old-python", url)
    final = wait_for_endpoint(sagemaker, "ep-old-python")

    assert final["EndpointStatus"] == "InService", final.get("FailureReason")
    body = runtime.invoke_endpoint(EndpointName="ep-old-python", ContentType="text/csv", Body=to_csv(features[:2]))
    assert len(body["Body"].read().split(b",")) == 2


def test_an_archive_with_a_path_outside_fails_the_endpoint_health_check(sagemaker, s3, logs):
    from .conftest import BUCKET

    s3.put_object(Bucket=BUCKET, Key="runs/evil/model.tar.gz", Body=model_tar({"../../xgboost-model": b"x"}))

    deploy(sagemaker, "ep-evil", f"s3://{BUCKET}/runs/evil/model.tar.gz")
    final = wait_for_endpoint(sagemaker, "ep-evil")

    assert final["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in final["FailureReason"]
    events = logs.filter_log_events(logGroupName="/aws/sagemaker/Endpoints/ep-evil")["events"]
    assert any("outside the model directory" in event["message"] for event in events)
