"""S3, as the backfill's state machine uses it: the account snapshot, each batch's rows, the report.

boto3 honours `AWS_ENDPOINT_URL`, so the same code writes to moto's S3 in the sandbox.
"""

from __future__ import annotations

import io
from typing import IO, Any, Protocol

from sfzsync.errors import UpstreamError


class ObjectStore(Protocol):
    def upload(self, key: str, stream: IO[bytes], content_type: str) -> None:
        """Store a stream of any size (multipart: it is never held in memory whole)."""
        ...

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, in S3's (lexicographic) order."""
        ...


class S3ObjectStore:
    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self._client = client

    def upload(self, key: str, stream: IO[bytes], content_type: str) -> None:
        forward_only = _ForwardOnly(stream)
        self._guarded(
            "upload", lambda: self._client.upload_fileobj(forward_only, self.bucket, key, {"ContentType": content_type})
        )

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._guarded(
            "put", lambda: self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        )

    def get(self, key: str) -> bytes:
        answer = self._guarded("get", lambda: self._client.get_object(Bucket=self.bucket, Key=key))
        return bytes(answer["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        def listing() -> list[str]:
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

        found: list[str] = self._guarded("list", listing)
        return found

    def _guarded(self, action: str, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except (BotoCoreError, ClientError) as exc:
            raise UpstreamError("s3", f"S3_{action.upper()}_FAILED", type(exc).__name__, retryable=True) from None


class _ForwardOnly(io.RawIOBase):
    """A stream read once, front to back. A gzip stream over HTTP claims it can seek (by rewinding what it reads);
    boto3 then seeks it to size it: only this says no, and boto3 uploads it in parts as it is read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def s3_client(connect_timeout: float, read_timeout: float) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout, read_timeout=read_timeout, retries={"max_attempts": 5, "mode": "standard"}
    )
    return boto3.client("s3", config=config)
