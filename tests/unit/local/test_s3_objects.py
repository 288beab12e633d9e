"""Large objects in the local cloud's S3 (``s3_objects``): the same answers as moto's, without whole copies."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import tracemalloc
from types import SimpleNamespace

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from moto.s3.utils import compute_checksum

from sagedrop_local import s3_objects
from sagedrop_local.cloud_client import CloudClient
from sagedrop_local.s3_objects import LARGE_BYTES, ObjectRange, RangeStream, _RunningChecksum

s3_objects.install()

BUCKET = "large-objects"
PART = 5 * 1024 * 1024  # S3's smallest part but the last
MIB = 1024 * 1024


def _data(size: int) -> bytes:
    """Bytes that differ at every offset a slice could start from (a repeated block would hide an off-by-one)."""
    blocks, counter = [], 0
    while sum(map(len, blocks)) < size:
        blocks.append(hashlib.sha256(counter.to_bytes(8, "big")).digest() * 2048)
        counter += 1
    return b"".join(blocks)[:size]


LARGE = _data(LARGE_BYTES + 3 * MIB + 12345)  # above the threshold, and not a whole number of chunks


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _parts(s3, key: str, data: bytes, part: int = PART, **create: object) -> tuple[str, list[dict]]:
    """A multipart upload of ``data`` in parts of ``part`` bytes, not completed: its id and parts."""
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, **create)["UploadId"]
    parts = []
    for number, offset in enumerate(range(0, len(data), part), start=1):
        body = data[offset : offset + part]
        etag = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    return upload, parts


def _multipart(s3, key: str, data: bytes, part: int = PART, **create: object) -> None:
    upload, parts = _parts(s3, key, data, part, **create)
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})


def _multipart_etag(data: bytes, part: int = PART) -> str:
    digests = b"".join(hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part))  # noqa: S324
    return f'"{hashlib.md5(digests).hexdigest()}-{-(-len(data) // part)}"'  # noqa: S324


def _peak_mib(action) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


# --- the range object ---------------------------------------------------------------------------


class _Key:
    """What ObjectRange reads of a moto key: its buffer, lock and size."""

    def __init__(self, data: bytes) -> None:
        import threading

        self._value_buffer = io.BytesIO(data)
        self.lock = threading.Lock()
        self.size = len(data)


@given(
    data=st.binary(max_size=300),
    first=st.tuples(st.none() | st.integers(-400, 400), st.none() | st.integers(-400, 400)),
    second=st.tuples(st.none() | st.integers(-400, 400), st.none() | st.integers(-400, 400)),
)
def test_a_range_slices_as_bytes_slice(data, first, second):
    whole = ObjectRange(_Key(data))
    once, twice = whole[first[0] : first[1]], whole[first[0] : first[1]][second[0] : second[1]]
    assert bytes(once) == data[first[0] : first[1]] and len(once) == len(data[first[0] : first[1]])
    expected = data[first[0] : first[1]][second[0] : second[1]]
    assert bytes(twice) == expected and len(twice) == len(expected)
    assert b"".join(twice.chunks(7)) == expected


def test_a_range_refuses_steps_and_indexes():
    whole = ObjectRange(_Key(b"abcdef"))
    with pytest.raises(TypeError):
        whole[::2]
    with pytest.raises(TypeError):
        whole[1]


@given(data=st.binary(max_size=200), reads=st.lists(st.integers(-1, 50), max_size=12))
def test_the_raw_response_reads_what_was_asked(data, reads):
    stream, expected = RangeStream(ObjectRange(_Key(data))), io.BytesIO(data)
    for amount in reads:
        assert stream.read(amount) == expected.read(amount)
    assert b"".join(stream.stream()) == expected.read()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=6))
def test_the_running_checksum_is_mosts_checksum_of_the_whole(algorithm, data, cuts):
    running = _RunningChecksum(algorithm)
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(data)), len(data)]
    for start, stop in zip(bounds, bounds[1:], strict=False):
        running.update(data[start:stop])
    assert base64.b64encode(running.digest()) == compute_checksum(data, algorithm)


# --- through moto ---------------------------------------------------------------------------------


def test_a_large_upload_reads_back_whole_by_range_and_by_download(s3, tmp_path):
    _multipart(s3, "big.csv", LARGE)
    head = s3.head_object(Bucket=BUCKET, Key="big.csv")
    assert head["ContentLength"] == len(LARGE) and head["ETag"] == _multipart_etag(LARGE)
    body = s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"]
    assert b"".join(body.iter_chunks(MIB)) == LARGE
    for first, last in [(0, 0), (1, 2 * MIB), (LARGE_BYTES - 1, len(LARGE) + 50), (len(LARGE) - 1, len(LARGE) - 1)]:
        got = s3.get_object(Bucket=BUCKET, Key="big.csv", Range=f"bytes={first}-{last}")
        assert got["Body"].read() == LARGE[first : last + 1]
        assert got["ContentRange"] == f"bytes {first}-{min(last, len(LARGE) - 1)}/{len(LARGE)}"
    suffix = s3.get_object(Bucket=BUCKET, Key="big.csv", Range="bytes=-1000")["Body"].read()
    assert suffix == LARGE[-1000:]
    with pytest.raises(ClientError, match="InvalidRange"):
        s3.get_object(Bucket=BUCKET, Key="big.csv", Range=f"bytes={len(LARGE)}-")
    s3.download_file(BUCKET, "big.csv", str(tmp_path / "copy"))
    assert (tmp_path / "copy").read_bytes() == LARGE


def test_a_large_object_is_read_without_a_whole_copy(s3, tmp_path):
    s3.upload_fileobj(io.BytesIO(LARGE), BUCKET, "big.csv")
    # moto alone: the whole object read for each request, and copied into botocore's response
    streamed = _peak_mib(lambda: sum(map(len, s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].iter_chunks(MIB))))
    ranged = _peak_mib(lambda: s3.get_object(Bucket=BUCKET, Key="big.csv", Range="bytes=5-10")["Body"].read())
    assert streamed < 4 and ranged < 2, (streamed, ranged)
    # bounded by boto3's 8 MB ranges on its threads, not by the object
    downloaded = _peak_mib(lambda: s3.download_file(BUCKET, "big.csv", str(tmp_path / "copy")))
    assert downloaded < len(LARGE) / MIB, downloaded


def test_a_copy_by_parts_is_streamed_and_equal(s3):
    source = LARGE * 3  # moto reads a new part's ETag 16 MiB at a time: the source must be well above that
    s3.upload_fileobj(io.BytesIO(source), BUCKET, "big.csv")
    original = s3.head_object(Bucket=BUCKET, Key="big.csv")
    one_at_a_time = TransferConfig(use_threads=False)  # one 8 MB part in flight
    copied = _peak_mib(lambda: s3.copy({"Bucket": BUCKET, "Key": "big.csv"}, BUCKET, "copy.csv", Config=one_at_a_time))
    assert copied < len(source) / 2 / MIB, copied  # moto alone reads the whole source for each part
    assert s3.get_object(Bucket=BUCKET, Key="copy.csv")["Body"].read() == source
    # CopyObject in one request (what boto3 does below its threshold; S3 allows it up to 5 GB)
    s3.copy_object(Bucket=BUCKET, Key="whole.csv", CopySource={"Bucket": BUCKET, "Key": "big.csv"})
    # moto gives the copy its source's composite checksum as a whole-object one (without this change
    # too), so botocore's automatic validation would refuse the right bytes
    unvalidated = boto3.client(
        "s3", region_name="us-east-1", config=Config(response_checksum_validation="when_required")
    )
    whole = unvalidated.get_object(Bucket=BUCKET, Key="whole.csv")
    assert whole["Body"].read() == source and whole["ContentLength"] == original["ContentLength"]


def test_a_replaced_object_is_read_as_the_new_one(s3):
    _multipart(s3, "big.csv", LARGE)
    _multipart(s3, "big.csv", LARGE[::-1])
    assert s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].read() == LARGE[::-1]


def test_versions_of_a_large_object_stay_apart(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    _multipart(s3, "big.csv", LARGE)
    first = s3.head_object(Bucket=BUCKET, Key="big.csv")["VersionId"]
    _multipart(s3, "big.csv", LARGE[1:] + b"!")
    assert s3.get_object(Bucket=BUCKET, Key="big.csv", VersionId=first)["Body"].read() == LARGE
    assert s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"].read() == LARGE[1:] + b"!"


@pytest.mark.parametrize("checksum_type", ["COMPOSITE", "FULL_OBJECT"])
def test_a_large_upload_keeps_mosts_checksums(s3, checksum_type):
    _multipart(s3, "big.csv", LARGE, ChecksumAlgorithm="CRC32", ChecksumType=checksum_type)
    head = s3.head_object(Bucket=BUCKET, Key="big.csv", ChecksumMode="ENABLED")
    if checksum_type == "FULL_OBJECT":
        expected = base64.b64encode(binascii.crc32(LARGE).to_bytes(4, "big")).decode()
    else:  # the CRC of the parts' CRCs (moto's HeadObject leaves out the "-<parts>" suffix)
        parts = b"".join(binascii.crc32(LARGE[i : i + PART]).to_bytes(4, "big") for i in range(0, len(LARGE), PART))
        expected = base64.b64encode(binascii.crc32(parts).to_bytes(4, "big")).decode()
    assert head["ChecksumCRC32"] == expected and head["ChecksumType"] == checksum_type


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda parts: [*parts[:-1], {**parts[-1], "ETag": '"0123"'}], "InvalidPart"),
        (lambda parts: [*parts, {"PartNumber": 99, "ETag": parts[0]["ETag"]}], "InvalidPart"),
        (lambda parts: [], "MalformedXML"),
    ],
    ids=["wrong ETag", "unknown part", "no parts"],
)
def test_a_large_upload_is_refused_as_moto_refuses_it(s3, change, error):
    upload, parts = _parts(s3, "big.csv", LARGE)
    with pytest.raises(ClientError, match=error):
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key="big.csv", UploadId=upload, MultipartUpload={"Parts": change(parts)}
        )
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_a_small_part_before_the_last_is_refused(s3):
    data = _data(LARGE_BYTES + 2 * PART)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="big.csv")["UploadId"]
    sizes = [MIB, len(data) - MIB]  # a 1 MiB first part, then the rest
    parts, offset = [], 0
    for number, size in enumerate(sizes, start=1):
        body = data[offset : offset + size]
        offset += size
        etag = s3.upload_part(Bucket=BUCKET, Key="big.csv", UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    with pytest.raises(ClientError, match="EntityTooSmall"):
        s3.complete_multipart_upload(Bucket=BUCKET, Key="big.csv", UploadId=upload, MultipartUpload={"Parts": parts})


def test_small_objects_take_motos_own_path(s3):
    s3.put_object(Bucket=BUCKET, Key="small.csv", Body=b"a,b\n1,2\n")
    body = s3.get_object(Bucket=BUCKET, Key="small.csv")["Body"]
    assert not isinstance(body._raw_stream, RangeStream) and body.read() == b"a,b\n1,2\n"
    s3.upload_fileobj(io.BytesIO(LARGE), BUCKET, "big.csv")
    assert isinstance(s3.get_object(Bucket=BUCKET, Key="big.csv")["Body"]._raw_stream, RangeStream)


def test_a_request_body_is_freed_when_answered(s3):
    import gc

    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="big.csv")["UploadId"]
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        for number in range(1, 5):
            s3.upload_part(Bucket=BUCKET, Key="big.csv", UploadId=upload, PartNumber=number, Body=LARGE[:PART])
        held = tracemalloc.get_traced_memory()[0] / MIB
        tracemalloc.stop()
    finally:
        gc.enable()
    # without the change each part's body waits in a reference cycle for the collector (4 x 5 MiB)
    assert held < 2 * PART / MIB, held


def test_install_is_idempotent():
    from moto.s3.models import FakeKey

    getter = FakeKey.value
    s3_objects.install()
    assert FakeKey.value is getter


def test_the_local_server_streams_a_large_object():
    from sagedrop_local.server.moto_app import MotoApplication

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.upload_fileobj(io.BytesIO(LARGE), BUCKET, "big.csv")
        started = SimpleNamespace(status=None, headers=None)

        def start_response(status, headers):
            started.status, started.headers = status, dict(headers)

        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": f"/{BUCKET}/big.csv",
            "RAW_URI": f"/{BUCKET}/big.csv",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "5000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "HTTP_HOST": "127.0.0.1:5000",
        }
        answer = MotoApplication()(environ, start_response)
        assert not isinstance(answer, list)  # an iterator of chunks, not one body
        length = {name.lower(): value for name, value in started.headers.items()}["content-length"]
        assert started.status.startswith("200") and length == str(len(LARGE))
        assert b"".join(answer) == LARGE


def test_a_commands_download_streams_each_object_to_its_file(s3, tmp_path):
    # Given a run's folder with a large data part (a 1 GB upload's parts are hundreds of MB) and a small file
    big = LARGE * 4
    s3.upload_fileobj(io.BytesIO(big), BUCKET, "runs/r/data/train/part-00000.csv")
    s3.put_object(Bucket=BUCKET, Key="runs/r/run.json", Body=b"{}")
    client = CloudClient.__new__(CloudClient)  # what `local run` downloads through, on either cloud
    client.s3, client.bucket = s3, BUCKET
    # When the command downloads the run's folder
    peak = _peak_mib(lambda: client.download("runs/r/", tmp_path / "bucket"))
    # Then every object is its file, and memory held ranges of the large one, never the whole
    assert (tmp_path / "bucket/runs/r/data/train/part-00000.csv").read_bytes() == big
    assert (tmp_path / "bucket/runs/r/run.json").read_bytes() == b"{}"
    assert peak < len(big) / 2 / MIB, peak


def test_a_commands_upload_holds_a_few_parts_not_boto3s_ten(s3):
    big = LARGE * 4  # ten 8 MB parts and more
    client = CloudClient.__new__(CloudClient)
    client.s3, client.bucket = s3, BUCKET
    source = io.BytesIO(big)
    peak = _peak_mib(lambda: client.upload_csv(source, "incoming/big.csv"))
    assert s3.get_object(Bucket=BUCKET, Key="incoming/big.csv")["Body"].read() == big
    # moto answers one request at a time: boto3's 10 threads only hold more parts, each in several
    # copies (about 330 MiB traced here with them, about 160 with 2)
    assert peak < 3 * len(big) / MIB, peak
