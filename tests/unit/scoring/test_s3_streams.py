"""Objects read and written as streams: parts of bounded size, one PutObject when small, abort on error."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from sagedrop.aws.s3_streams import MULTIPART_MIN_PART_BYTES, ObjectStreams
from tests.constants import BUCKET, REGION


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield client


def calls(client, operation: str) -> list[dict]:
    seen: list[dict] = []
    client.meta.events.register(f"before-parameter-build.s3.{operation}", lambda params, **_: seen.append(dict(params)))
    return seen


def test_a_large_object_goes_up_in_parts_and_reads_back_whole(s3):
    streams = ObjectStreams(s3, BUCKET, part_bytes=MULTIPART_MIN_PART_BYTES)
    parts, puts = calls(s3, "UploadPart"), calls(s3, "PutObject")
    piece = "é" * 1000 + "\n"  # 2001 bytes of UTF-8

    with streams.writer("big.csv", "text/csv") as out:
        for _ in range(6000):  # about 12 MB
            out.write(piece)

    assert out.bytes_written == 6000 * 2001
    assert [len(p["Body"]) >= MULTIPART_MIN_PART_BYTES for p in parts] == [True, True, False]
    assert puts == []
    with streams.open_text("big.csv") as text:
        assert text.read() == piece * 6000


def test_a_small_object_is_one_put(s3):
    streams = ObjectStreams(s3, BUCKET)
    puts, creates = calls(s3, "PutObject"), calls(s3, "CreateMultipartUpload")

    with streams.writer("small.csv", "text/csv") as out:
        out.write("a,b\n")

    assert len(puts) == 1 and creates == []
    assert s3.get_object(Bucket=BUCKET, Key="small.csv")["ContentType"] == "text/csv"


def test_an_error_while_writing_aborts_the_upload_and_creates_no_object(s3):
    streams = ObjectStreams(s3, BUCKET, part_bytes=MULTIPART_MIN_PART_BYTES)

    with pytest.raises(RuntimeError), streams.writer("broken.csv", "text/csv") as out:
        out.write("x" * (MULTIPART_MIN_PART_BYTES + 1))  # one part uploaded
        raise RuntimeError("the input was bad")

    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_parts_smaller_than_s3_allows_are_refused():
    with pytest.raises(ValueError, match="at least"):
        ObjectStreams(None, BUCKET, part_bytes=1024).writer("k", "text/csv")


def test_a_version_is_read_as_asked(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=BUCKET, Key="k.csv", Body=b"one\r\n")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="k.csv", Body=b"two\n")

    with ObjectStreams(s3, BUCKET).open_text("k.csv", version_id=first) as text:
        assert text.read() == "one\r\n"  # newlines untranslated, as the csv module needs
