"""Recording and evidence blobs, content-addressed by SHA-256.

Everything else lives in the database; blobs live behind this one interface, either in
a local directory (one machine, or a mount every machine shares) or in an S3-compatible
object store (any number of machines). ``blob_store(settings)`` picks the backend from
``WORKBENCH_STORAGE_URL``: ``file:///path`` or ``s3://bucket/prefix``.

A blob is written once and never changes, so the same bytes always land under the same
key: storing them twice is harmless, and readers never see a half-written blob.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast
from urllib.parse import urlparse

if TYPE_CHECKING:
    from workbench.settings import Settings

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
#: Uploads to S3 above this size go in parts of this size (S3's smallest part is 5 MiB).
S3_PART_BYTES = 8 * 1024 * 1024
#: Parts in flight per transfer: an upload holds at most this many parts in memory.
S3_CONCURRENCY = 2
#: S3's rule for bucket names (3-63 lowercase letters, digits, dots and hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HEX = frozenset("0123456789abcdef")


class BlobStore(Protocol):
    """Where recordings and evidence bundles are kept, by the SHA-256 of their bytes."""

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store a stream's bytes (read in chunks, never whole); return (sha256, size)."""

    def open(self, sha256: str) -> BinaryIO:
        """A blob's bytes as a forward-only stream; FileNotFoundError if there is none."""

    def open_range(self, sha256: str, start: int, stop: int) -> BinaryIO:
        """Bytes ``start`` up to ``stop`` (exclusive) of a blob, as a forward-only stream
        that may run on past ``stop`` (read no more than ``stop - start``)."""

    def local_path(self, sha256: str) -> AbstractContextManager[Path]:
        """A local file holding the blob for the ``with`` block, for readers that seek."""

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under this hash."""

    def delete(self, sha256: str) -> None:
        """Remove a blob; removing one that is not there is not an error."""


def check_sha256(sha256: str) -> str:
    """``sha256`` if it is a lowercase hex SHA-256 digest, else ValueError (no path tricks)."""
    if len(sha256) != 64 or not _HEX.issuperset(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def _copy_hashing(source: BinaryIO, out: BinaryIO | None) -> tuple[str, int]:
    """Read ``source`` to its end in chunks, hashing (and copying to ``out`` if given)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if out is not None:
            out.write(chunk)
    return digest.hexdigest(), size


class LocalBlobStore:
    """Blobs in a directory, as ``ab/cd/abcd…`` by hash; writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                sha, size = _copy_hashing(stream, out)
            final = self.path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha, size

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def open_range(self, sha256: str, start: int, stop: int) -> BinaryIO:
        stream = self.open(sha256)
        stream.seek(start)
        return stream

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        path = self.path(sha256)
        if not path.is_file():
            raise FileNotFoundError(f"no blob {sha256}")
        yield path

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


@dataclass(frozen=True)
class S3Location:
    """A bucket and key prefix, parsed from ``s3://bucket/prefix``."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """Parse and check an ``s3://`` URL; ValueError says what is wrong."""
        parsed = urlparse(url)
        if parsed.scheme != "s3":
            raise ValueError(f"expected s3://bucket/prefix, got {url!r}")
        if not _BUCKET.match(parsed.netloc) or ".." in parsed.netloc:
            raise ValueError(f"{parsed.netloc!r} is not a valid S3 bucket name")
        if parsed.query or parsed.fragment:
            raise ValueError(f"an s3:// URL takes no query or fragment, got {url!r}")
        prefix = parsed.path.strip("/")
        return cls(parsed.netloc, f"{prefix}/" if prefix else "")


@dataclass(frozen=True)
class S3Client:
    """How to reach the object store; empty values fall back to the AWS defaults
    (``AWS_ACCESS_KEY_ID``, ``AWS_REGION``, an instance role, ...)."""

    endpoint_url: str = ""
    region: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""

    def connect(self) -> Any:
        """A boto3 S3 client, one per process: a client is not safe to share across fork."""
        return _s3_client(os.getpid(), self)


@functools.lru_cache(maxsize=8)
def _s3_client(pid: int, conf: S3Client) -> Any:
    # Heavy: imported on first use, not when the module loads.
    import boto3

    # Heavy: imported on first use, not when the module loads.
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id=conf.access_key_id or None,
        aws_secret_access_key=conf.secret_access_key or None,
        region_name=conf.region or None)
    # S3-compatible servers (MinIO, Ceph, a local test server) are reached by path, not
    # by a bucket subdomain that their host name cannot have.
    return session.client("s3", endpoint_url=conf.endpoint_url or None, config=Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60,
        s3={"addressing_style": "path"} if conf.endpoint_url else None))


def _not_found(exc: Exception) -> bool:
    # Heavy: imported on first use, not when the module loads.
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    """Blobs in an S3-compatible bucket, as ``<prefix>ab/cd/abcd…`` by hash.

    An upload is read once, in chunks, into a temporary file while it is hashed (the key
    is the hash, so it is known only at the end), then sent from that file in parts:
    boto3 reads a file named by its path part by part, where from a file object it would
    read every part ahead into memory. Reads stream from the object.
    """

    def __init__(self, client: Any, location: S3Location) -> None:
        # Heavy: imported on first use, not when the module loads.
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.location = location
        self.transfer = TransferConfig(
            multipart_threshold=S3_PART_BYTES, multipart_chunksize=S3_PART_BYTES,
            max_concurrency=S3_CONCURRENCY, io_chunksize=CHUNK)

    def key(self, sha256: str) -> str:
        check_sha256(sha256)
        return f"{self.location.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        with tempfile.NamedTemporaryFile(prefix="workbench-blob-") as spool:
            sha, size = _copy_hashing(stream, cast(BinaryIO, spool))
            spool.flush()
            # Same hash, same bytes: a blob already there needs no second upload.
            if not self.exists(sha):
                self.client.upload_file(spool.name, self.location.bucket, self.key(sha),
                                        Config=self.transfer)
        return sha, size

    def open(self, sha256: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.location.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(f"no blob {sha256}") from None
            raise
        return cast(BinaryIO, response["Body"])

    def open_range(self, sha256: str, start: int, stop: int) -> BinaryIO:
        if stop <= start:
            return io.BytesIO()
        try:
            response = self.client.get_object(Bucket=self.location.bucket, Key=self.key(sha256),
                                              Range=f"bytes={start}-{stop - 1}")
        except Exception as exc:
            if _not_found(exc):
                raise FileNotFoundError(f"no blob {sha256}") from None
            raise
        return cast(BinaryIO, response["Body"])

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        # One streamed GET rather than boto3's ranged download: its first step is a HEAD,
        # whose bare 404 cannot tell a missing blob from a missing bucket, and a recording
        # must not be marked unreadable because the bucket is misconfigured.
        with tempfile.TemporaryDirectory(prefix="workbench-blob-") as directory:
            path = Path(directory) / sha256
            with self.open(sha256) as source, path.open("wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            yield path

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.location.bucket, Key=self.key(sha256))
        except Exception as exc:
            if _not_found(exc):
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.location.bucket, Key=self.key(sha256))


def blob_store(settings: Settings) -> BlobStore:
    """The store the settings name: S3 for an ``s3://`` storage URL, else the directory."""
    if settings.storage_url.startswith("s3://"):
        client = S3Client(settings.s3_endpoint_url, settings.s3_region,
                          settings.s3_access_key_id, settings.s3_secret_access_key)
        return S3BlobStore(client.connect(), S3Location.parse(settings.storage_url))
    return LocalBlobStore(settings.storage_dir)
