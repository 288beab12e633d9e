"""The data bucket, as the pipeline uses it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from sagedrop.aws.errors import is_not_found


class DataBucket:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def key_of(self, uri: str) -> str:
        """The key of an ``s3://`` URI in this bucket; a URI elsewhere is a programming error."""
        prefix = f"s3://{self.bucket}/"
        if not uri.startswith(prefix):
            raise ValueError(f"{uri!r} is not in bucket {self.bucket!r}")
        return uri[len(prefix) :]

    def read_bytes(self, key: str, version_id: str | None = None) -> bytes:
        """One object's bytes; ``version_id`` pins the exact upload that started the run."""
        extra = {"VersionId": version_id} if version_id and version_id != "null" else {}
        return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()

    def read_bytes_if_exists(self, key: str) -> bytes | None:
        try:
            return self.read_bytes(key)
        except ClientError as error:
            if is_not_found(error):
                return None
            raise

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, in key order (a split's part files, for example)."""
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(found)

    def copy_version(self, key: str, version_id: str | None, target: str) -> str:
        """A server-side copy of one object version (the exact upload) to ``target``; the source is only read.

        boto3's managed copy: one CopyObject, or UploadPartCopy parts above its multipart threshold
        (CopyObject stops at 5 GB); no byte passes through this process.
        """
        source = {"Bucket": self.bucket, "Key": key}
        if version_id and version_id != "null":
            source["VersionId"] = version_id
        self.client.copy(source, self.bucket, target)
        return self.uri(target)

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def write_bytes(self, key: str, data: bytes, content_type: str) -> str:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return self.uri(key)

    def write_json(self, key: str, value: Any) -> str:
        body = json.dumps(value, indent=2, sort_keys=False, default=str).encode()
        return self.write_bytes(key, body, "application/json")
