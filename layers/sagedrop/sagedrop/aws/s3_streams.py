"""Objects of the data bucket read and written as streams: memory stays bounded whatever their size.

Reading wraps GetObject's streaming body in a text reader; writing buffers one part at a time and
uploads it as a part of a multipart upload (an object smaller than one part is a single PutObject).
A writer left by an exception aborts its upload, so no incomplete upload lingers (the bucket's
lifecycle rule would remove it after days, and bill its parts until then).
"""

from __future__ import annotations

import io
from typing import IO, Any

#: S3: every part of a multipart upload but the last is at least 5 MiB.
MULTIPART_MIN_PART_BYTES = 5 * 1024 * 1024
#: What a writer holds in memory before it uploads a part.
PART_BYTES = 8 * 1024 * 1024


class ObjectStreams:
    def __init__(self, client: Any, bucket: str, part_bytes: int = PART_BYTES) -> None:
        self.client = client
        self.bucket = bucket
        self.part_bytes = part_bytes

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def open_text(self, key: str, *, version_id: str | None = None, encoding: str = "utf-8") -> IO[str]:
        """The object as a text stream with newlines untranslated (what the ``csv`` module wants)."""
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        return io.TextIOWrapper(body, encoding=encoding, newline="")

    def writer(self, key: str, content_type: str) -> ObjectWriter:
        return ObjectWriter(self.client, self.bucket, key, content_type, self.part_bytes)


class ObjectWriter:
    """Text written to one object; use as a context manager (``close`` completes, an error aborts)."""

    def __init__(self, client: Any, bucket: str, key: str, content_type: str, part_bytes: int = PART_BYTES) -> None:
        if part_bytes < MULTIPART_MIN_PART_BYTES:
            raise ValueError(f"parts are at least {MULTIPART_MIN_PART_BYTES} bytes, not {part_bytes}")
        self.client = client
        self.bucket = bucket
        self.key = key
        self.content_type = content_type
        self.part_bytes = part_bytes
        self.bytes_written = 0
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, kind: Any, *_: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self._buffer += data
        self.bytes_written += len(data)
        if len(self._buffer) >= self.part_bytes:
            self._upload_part()

    def close(self) -> int:
        """Complete the object; returns its size in bytes."""
        if self._upload_id is None:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), ContentType=self.content_type
            )
        else:
            if self._buffer:
                self._upload_part()
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
            )
        self._buffer = bytearray()
        return self.bytes_written

    def abort(self) -> None:
        """Drop what was uploaded; the object is not created."""
        self._buffer = bytearray()
        if self._upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._upload_id = None

    def _upload_part(self) -> None:
        if self._upload_id is None:
            self._upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )["UploadId"]
        number = len(self._parts) + 1
        response = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=bytes(self._buffer)
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})
        self._buffer = bytearray()
