"""Large objects in the local cloud's S3 without whole copies in memory; moto keeps the storage.

moto stores each object in a ``SpooledTemporaryFile`` (on disk above 5 MB), but it reads and joins
whole values on the way in and out, so the local cloud held several copies of a large upload at once
(a 1 GB ``local run`` peaked at about 11.8 GB):

* every GET reads the whole object, and a ranged GET slices it afterwards. boto3's
  ``download_file`` fetches 8 MB ranges on 10 threads: a 1 GB object was read 128 times whole;
* the body is copied again into botocore's response (a ``BytesIO``);
* CompleteMultipartUpload joins the parts in a ``bytearray``, copies it to ``bytes``, and a
  full-object checksum keeps a third copy;
* UploadPartCopy (boto3's managed copy) reads the whole source for every part;
* each request's body stays in a reference cycle (moto's werkzeug ``Request`` and its input
  stream) until the garbage collector runs, so the parts of an upload piled up.

For objects above ``LARGE_BYTES`` these now read only the bytes asked for, chunk by chunk, from
moto's own buffer (:class:`ObjectRange`), and a completed upload or a copy is streamed from buffer
to buffer, and a request's input stream is closed once moto has answered it. Smaller objects take
moto's path unchanged. Everything else (headers, ETags, checksums,
versions, notifications, errors) is still moto's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

from boto3.s3.transfer import TransferConfig

LARGE_BYTES = 16 * 1024 * 1024  # above this an object is read by range; moto's parts are 5 MB and up
#: boto3's managed transfers to and from the local cloud's S3: moto answers in one process (the GIL),
#: so boto3's default 10 threads do not transfer faster, and they hold 10 parts in several copies each
#: (a 300 MB upload_fileobj: 521 MB over the process's base in 2.6 s by default, 186 MB in 2.1 s with 2).
LOCAL_TRANSFER = TransferConfig(max_concurrency=2)
CHUNK_BYTES = 1024 * 1024  # what one read of a stored object takes

_lazy = threading.local()  # set while a wrapped moto operation runs: large values come as ObjectRange


class ObjectRange:
    """Bytes ``[start, stop)`` of a moto key's stored value, read only when consumed.

    Supports what moto and its callers do with a value: ``len``, slicing, iteration (by chunks) and
    ``bytes()``. The key stays referenced, so its buffer lives as long as this range.
    """

    def __init__(self, key: Any, start: int = 0, stop: int | None = None) -> None:
        self._key = key
        self.start = start
        self.stop = key.size if stop is None else stop

    def __len__(self) -> int:
        return max(self.stop - self.start, 0)

    def __getitem__(self, item: slice) -> ObjectRange:
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise TypeError("an object range takes contiguous slices only")
        start, stop, _ = item.indices(len(self))
        return ObjectRange(self._key, self.start + start, self.start + max(stop, start))

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` within this range."""
        size = min(size, len(self) - offset)
        if size <= 0:
            return b""
        with self._key.lock:  # moto's lock for its buffer; the position is shared by readers
            buffer = self._key._value_buffer
            buffer.seek(self.start + offset)
            return buffer.read(size)

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[bytes]:
        offset = 0
        while offset < len(self):
            block = self.read_at(offset, size)
            if not block:
                return
            offset += len(block)
            yield block

    __iter__ = chunks

    def __bytes__(self) -> bytes:
        return b"".join(self.chunks())

    def copy_to(self, target: io.IOBase) -> int:
        written = 0
        for block in self.chunks():
            target.write(block)
            written += len(block)
        return written


class JoinedParts:
    """A completed multipart upload's value, already joined in a spooled file the new key adopts.

    moto disposes of the parts (closes their buffers) before it stores the completed object.
    """

    def __init__(self, spooled: Any, size: int) -> None:
        self.spooled = spooled
        self.size = size

    def __len__(self) -> int:
        return self.size


class RangeStream(io.RawIOBase):
    """botocore's raw response for an :class:`ObjectRange` body: read as the caller reads."""

    def __init__(self, body: ObjectRange) -> None:
        super().__init__()
        self._body = body
        self._offset = 0

    def readable(self) -> bool:
        return True

    def read(self, amt: int | None = -1) -> bytes:
        size = len(self._body) - self._offset if amt is None or amt < 0 else amt
        block = self._body.read_at(self._offset, size)
        self._offset += len(block)
        return block

    def readinto(self, buffer: Any) -> int:
        block = self.read(len(buffer))
        buffer[: len(block)] = block
        return len(block)

    def stream(self, **kwargs: Any) -> Iterator[bytes]:  # as moto's MockRawResponse
        while block := self.read(CHUNK_BYTES):
            yield block


class _RunningChecksum:
    """moto's ``compute_checksum`` of the whole object, fed part by part (same algorithms, same fallbacks)."""

    def __init__(self, algorithm: str) -> None:
        self._algorithm = algorithm
        self._crc = 0
        self._update: Callable[[bytes, int], int] = binascii.crc32
        self._hash = None
        self._width = 4
        if algorithm == "SHA1":
            self._hash = hashlib.sha1(usedforsecurity=False)
        elif algorithm == "CRC32C":
            try:
                import crc32c

                self._update = lambda data, crc: crc32c.crc32c(data, value=crc)
            except ImportError:  # moto's fallback when the optional library is missing
                pass
        elif algorithm == "CRC64NVME":
            from moto.s3.utils import HAS_CRT

            if HAS_CRT:
                from awscrt import checksums

                self._update, self._width = checksums.crc64nvme, 8
        elif algorithm != "CRC32":
            self._hash = hashlib.sha256(usedforsecurity=False)

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        else:
            self._crc = self._update(data, self._crc)

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(self._width, "big")


def _complete_large(multipart: Any, body: Iterator[tuple[int, str]]) -> tuple[JoinedParts, str, tuple | None]:
    """``FakeMultipart.complete`` with its checks and answers, joining the parts in a spooled file, not in memory."""
    from moto.s3.models import MultipartChecksumBuilder
    from moto.settings import get_s3_default_key_buffer_size
    from moto.utilities.utils import md5_hash

    checksums = MultipartChecksumBuilder(
        multipart.metadata.get("x-amz-checksum-algorithm"), multipart.metadata.get("x-amz-checksum-type")
    )
    joined = tempfile.SpooledTemporaryFile(get_s3_default_key_buffer_size())  # noqa: SIM115 - the new key's buffer
    try:
        parts, whole = _join_parts(multipart, body, checksums, joined)
    except BaseException:
        joined.close()
        raise
    if checksums.checksum_type == "COMPOSITE":
        checksum = checksums.build()
    else:  # FULL_OBJECT: the checksum of the whole object, which moto computes from its joined copy
        checksum = (checksums.checksum_type, base64.b64encode(whole.digest()).decode(), 1)
    etag = md5_hash()
    etag.update(b"".join(bytes.fromhex(part.etag.replace('"', "")) for part in parts))
    return JoinedParts(joined, sum(part.size for part in parts)), f"{etag.hexdigest()}-{len(parts)}", checksum


def _join_parts(multipart: Any, body: Iterator[tuple[int, str]], checksums: Any, joined: Any) -> tuple[list, Any]:
    """Check the listed parts as moto does and copy them to ``joined``, feeding the checksums as they pass."""
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
    from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE

    whole = _RunningChecksum(checksums.checksum_algorithm)
    composite = checksums.checksum_type == "COMPOSITE"
    parts: list[Any] = []
    for number, etag in body:
        part = multipart.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if parts and parts[-1].contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        # COMPOSITE: a checksum per part (what moto's addPart appends); FULL_OBJECT: one over them all
        running = _RunningChecksum(checksums.checksum_algorithm) if composite else whole
        for block in ObjectRange(part).chunks():
            running.update(block)
            joined.write(block)
        if composite:
            checksums.checksum.extend(running.digest())
        checksums.part_count += 1
        parts.append(part)
    if not parts:
        raise MalformedXML
    return parts, whole


def install() -> None:
    """Patch moto's S3 (idempotent). Call once moto is importable; affects every moto backend in the process."""
    from moto.core import botocore_stubber
    from moto.s3.models import FakeKey, FakeMultipart, S3Backend
    from moto.s3.responses import S3Response

    if getattr(FakeKey, "sagedrop_ranges", False):
        return
    stored = FakeKey.value

    def get_value(key: Any) -> Any:
        if getattr(_lazy, "on", False) and key.size > LARGE_BYTES:
            return ObjectRange(key)
        return stored.fget(key)

    def set_value(key: Any, value: Any) -> None:
        if isinstance(value, JoinedParts):
            key._value_buffer.close()
            key._value_buffer, key.contentsize = value.spooled, value.size
            return
        if not isinstance(value, ObjectRange):
            stored.fset(key, value)
            return
        key._value_buffer.seek(0)
        key._value_buffer.truncate()
        key.contentsize = value.copy_to(key._value_buffer)

    FakeKey.value = property(get_value, set_value)
    FakeKey.sagedrop_ranges = True

    def lazily(method: Callable) -> Callable:
        def run(*args: Any, **kwargs: Any) -> Any:
            _lazy.on = True
            try:
                return method(*args, **kwargs)
            finally:
                _lazy.on = False

        return run

    # GetObject's body, UploadPartCopy's source range and CopyObject's source: read where consumed
    S3Response.get_object = lazily(S3Response.get_object)
    S3Backend.upload_part_copy = lazily(S3Backend.upload_part_copy)
    S3Backend.copy_object = lazily(S3Backend.copy_object)

    complete = FakeMultipart.complete

    def complete_multipart(multipart: Any, body: Any) -> Any:
        listed = list(body)
        parts = [multipart.parts.get(number) for number, _ in listed]
        if sum(part.size for part in parts if part is not None) <= LARGE_BYTES:
            return complete(multipart, iter(listed))
        return _complete_large(multipart, iter(listed))

    FakeMultipart.complete = complete_multipart

    raw_response = botocore_stubber.MockRawResponse

    def response_body(body: Any) -> Any:
        return RangeStream(body) if isinstance(body, ObjectRange) else raw_response(body)

    botocore_stubber.MockRawResponse = response_body

    normalize = botocore_stubber.normalize_request
    answer = botocore_stubber.BotocoreStubber.process_request

    def normalize_request(request: Any) -> Any:
        normalized = normalize(request)
        getattr(_lazy, "requests", []).append(normalized)
        return normalized

    def process_request(stubber: Any, request: Any) -> Any:
        _lazy.requests = made = []
        try:
            return answer(stubber, request)
        finally:
            _lazy.requests = []
            for normalized in made:  # frees the body now, not at the next cycle collection
                normalized.environ["wsgi.input"].close()
                normalized.__dict__.pop("data", None)  # werkzeug's cached copies of the body
                normalized.__dict__.pop("_cached_data", None)

    botocore_stubber.normalize_request = normalize_request
    botocore_stubber.BotocoreStubber.process_request = process_request
