"""Blob storage: the same behaviour from the local directory and from a real S3 server.

Recordings and evidence bundles are written once and read later, possibly on another
machine; these tests hold both backends to the one ``BlobStore`` interface, then run the
recording path (upload, then the classify job) on each.
"""

from __future__ import annotations

import hashlib
import io
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.support.app import TEST_SECRET_KEY
from tests.support.jobs import run_jobs
from tests.support.platform_api import PlatformApi
from tests.support.storage_server import BACKENDS, REGION, S3Server, blob_backend
from workbench.app import create_app
from workbench.extensions import db
from workbench.models import ClassifierScore, Recording
from workbench.settings import SettingsError, load_settings
from workbench.storage import (
    S3_PART_BYTES,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
    S3Client,
    S3Location,
    blob_store,
)

MIB = 1024 * 1024
DEMO = Path(__file__).resolve().parents[2] / "workbench" / "demo" / "data" / "recordings"


class ForwardOnly(io.RawIOBase):
    """``size_mib`` MiB made up chunk by chunk: a stream that cannot seek and is never
    whole in memory (like a request body read as it arrives)."""

    def __init__(self, size_mib: int) -> None:
        self.size_mib = size_mib
        self.index = 0
        self.pending = b""

    @staticmethod
    def chunk(i: int) -> bytes:
        return hashlib.sha256(str(i).encode()).digest() * (MIB // 32)

    @classmethod
    def expected_sha256(cls, size_mib: int) -> str:
        digest = hashlib.sha256()
        for i in range(size_mib):
            digest.update(cls.chunk(i))
        return digest.hexdigest()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pending:
            if self.index >= self.size_mib:
                return 0
            self.pending = self.chunk(self.index)
            self.index += 1
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each backend, empty: a fresh directory, or a fresh bucket on the local S3 server."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue("s3_server")
    return blob_store(load_settings({"instance_dir": tmp_path,
                                     **server.settings_for(server.new_bucket())}))


def test_a_blob_is_stored_under_its_sha256_and_read_back_byte_for_byte(
    store: BlobStore,
) -> None:
    data = b"RIFF" + bytes(range(256)) * 4000
    sha, size = store.put_stream(io.BytesIO(data))
    assert sha == hashlib.sha256(data).hexdigest() and size == len(data)
    assert store.exists(sha)
    with store.open(sha) as stream:
        assert stream.read() == data
    with store.local_path(sha) as path:
        assert path.read_bytes() == data
    # The same bytes again are the same blob, not a second one.
    assert store.put_stream(io.BytesIO(data)) == (sha, size)


def test_a_byte_range_of_a_blob_is_read_without_the_bytes_before_it(store: BlobStore) -> None:
    data = bytes(range(256)) * 4000
    sha, _ = store.put_stream(io.BytesIO(data))
    for start, stop in [(0, 1), (1000, 5000), (len(data) - 7, len(data)), (500, 500)]:
        with store.open_range(sha, start, stop) as stream:
            assert stream.read(stop - start) == data[start:stop], (start, stop)
    with pytest.raises(FileNotFoundError):
        store.open_range("0" * 64, 0, 10).read(10)


def test_a_deleted_blob_is_gone_and_deleting_it_again_is_no_error(store: BlobStore) -> None:
    sha, _ = store.put_stream(io.BytesIO(b"evidence bundle"))
    other, _ = store.put_stream(io.BytesIO(b"another recording"))
    store.delete(sha)
    store.delete(sha)
    assert not store.exists(sha) and store.exists(other)
    with pytest.raises(FileNotFoundError):
        store.open(sha)
    with pytest.raises(FileNotFoundError), store.local_path(sha):
        pass


@pytest.mark.parametrize("bad", ["../../etc/passwd", "AB" * 32, "0" * 63, ""])
def test_a_key_that_is_not_a_sha256_is_refused(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="SHA-256"):
        store.exists(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        store.open(bad)


def test_a_large_forward_only_stream_is_stored_without_holding_it_in_memory(
    store: BlobStore,
) -> None:
    size_mib = 40
    tracemalloc.start()
    try:
        sha, size = store.put_stream(ForwardOnly(size_mib))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sha == ForwardOnly.expected_sha256(size_mib) and size == size_mib * MIB
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB while storing {size_mib} MiB"
    tracemalloc.start()
    try:
        digest = hashlib.sha256()
        with store.open(sha) as stream:
            while chunk := stream.read(MIB):
                digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == sha
    assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB while reading {size_mib} MiB"


def test_a_large_blob_goes_to_s3_in_parts_under_the_prefix(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    store = blob_store(load_settings({"instance_dir": tmp_path,
                                      **s3_server.settings_for(bucket, prefix="prod/blobs")}))
    assert isinstance(store, S3BlobStore)
    sha, _ = store.put_stream(ForwardOnly(20))  # type: ignore[arg-type]
    assert s3_server.keys(bucket) == [f"prod/blobs/{sha[:2]}/{sha[2:4]}/{sha}"]
    etag = s3_server.client().head_object(Bucket=bucket, Key=store.key(sha))["ETag"]
    parts = -(-20 * MIB // S3_PART_BYTES)
    assert etag.strip('"').endswith(f"-{parts}")  # a multipart upload's ETag counts parts


def test_a_missing_bucket_is_an_error_not_a_missing_blob(s3_server: S3Server) -> None:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import ClientError

    client = S3Client(s3_server.endpoint_url, REGION, "key", "secret").connect()
    store = S3BlobStore(client, S3Location("no-such-bucket-here"))
    with pytest.raises(S3UploadFailedError, match="NoSuchBucket"):
        store.put_stream(io.BytesIO(b"x"))
    sha = hashlib.sha256(b"x").hexdigest()
    with pytest.raises(ClientError, match="NoSuchBucket"):  # not FileNotFoundError
        store.open(sha)
    with pytest.raises(ClientError, match="NoSuchBucket"), store.local_path(sha):
        pass  # so a recording is not marked unreadable; its job fails and is retried


# Settings: one line naming the variable, at start-up.

@pytest.mark.parametrize(
    ("env", "name", "words"),
    [
        ({"WORKBENCH_STORAGE_URL": "ftp://host/x"}, "WORKBENCH_STORAGE_URL", "expected file:"),
        ({"WORKBENCH_STORAGE_URL": "file://relative/x"}, "WORKBENCH_STORAGE_URL", "absolute"),
        ({"WORKBENCH_STORAGE_URL": "s3://Bad_Bucket/x"}, "WORKBENCH_STORAGE_URL",
         "not a valid S3 bucket name"),
        ({"WORKBENCH_STORAGE_URL": "s3://"}, "WORKBENCH_STORAGE_URL", "bucket name"),
        ({"WORKBENCH_STORAGE_URL": "s3://bucket/x", "WORKBENCH_S3_ENDPOINT_URL": "minio:9000"},
         "WORKBENCH_S3_ENDPOINT_URL", "http(s)://"),
        ({"WORKBENCH_STORAGE_URL": "s3://bucket/x", "WORKBENCH_S3_ACCESS_KEY_ID": "AKIA"},
         "WORKBENCH_S3_ACCESS_KEY_ID", "together"),
    ],
)
def test_a_bad_storage_setting_stops_start_up_with_one_line(
    tmp_path: Path, env: dict[str, str], name: str, words: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path), **env})
    message = str(err.value)
    assert message.startswith(name) and words in message and "\n" not in message


def test_the_storage_url_picks_the_backend(tmp_path: Path) -> None:
    local = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path),
                                   "WORKBENCH_STORAGE_URL": f"file://{tmp_path}/shared%20blobs"})
    assert local.storage_dir == tmp_path / "shared blobs"
    assert isinstance(blob_store(local), LocalBlobStore)
    default = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path)})
    default_store = blob_store(default)
    assert isinstance(default_store, LocalBlobStore) and default_store.root == tmp_path / "blobs"
    s3 = load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path),
                                "WORKBENCH_STORAGE_URL": "s3://workbench-blobs/eu/prod/",
                                "WORKBENCH_S3_REGION": "eu-central-1"})
    store = blob_store(s3)
    assert isinstance(store, S3BlobStore)
    assert store.location == S3Location("workbench-blobs", "eu/prod/")
    assert store.client.meta.region_name == "eu-central-1"


# The recording path, end to end, on each backend.

@pytest.fixture(params=BACKENDS)
def storage_overrides(request: pytest.FixtureRequest) -> dict[str, str]:
    return blob_backend(request)


def _upload_demo_recording(api: PlatformApi) -> bytes:
    entry = next(e for e in json.loads((DEMO / "recordings.json").read_text()) if e["abusive"])
    audio: bytes = (DEMO / entry["file"]).read_bytes()
    boundary = "b0undary"
    meta = {"id": "rec-1", "owner_id": "caller", "kind": "call", "call_id": "call-1",
            "recorded_at": "2026-11-20T10:00:00Z"}
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            f"{json.dumps(meta)}\r\n--{boundary}\r\nContent-Disposition: form-data; "
            f'name="audio"; filename="{entry["file"]}"\r\n\r\n').encode() + audio + \
        f"\r\n--{boundary}--\r\n".encode()
    r = api.post("/api/v1/recordings", raw=body,
                 content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 202, r.json
    return audio


def test_an_uploaded_recording_is_classified_from_the_blob_store(
    app: Flask, platforms: dict[str, PlatformApi]
) -> None:
    audio = _upload_demo_recording(platforms["calls"])
    store = blob_store(app.extensions["workbench.settings"])
    assert store.exists(hashlib.sha256(audio).hexdigest())
    run_jobs(app)
    with app.app_context():
        rec = db.session.scalars(select(Recording)).one()
        assert rec.status == "processed", rec.error
        assert rec.transcript and rec.segments
        score = db.session.scalars(select(ClassifierScore)).one()
        assert score.flagged is not None and "abusive" in score.flagged["labels"]


@pytest.fixture
def second_machine(app: Flask, tmp_path: Path,
                   storage_overrides: dict[str, str]) -> Iterator[Flask]:
    """Another worker machine: same database, Redis and storage settings, its own disk."""
    settings = app.extensions["workbench.settings"]
    other = create_app({"instance_dir": tmp_path / "machine-b",
                        "database_url": settings.database_url, "redis_url": settings.redis_url,
                        "secret_key": TEST_SECRET_KEY, **storage_overrides})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_worker_on_another_machine_reads_the_recording_only_from_shared_storage(
    app: Flask, second_machine: Flask, platforms: dict[str, PlatformApi],
    storage_overrides: dict[str, str],
) -> None:
    _upload_demo_recording(platforms["calls"])
    run_jobs(second_machine)
    with second_machine.app_context():
        rec = db.session.scalars(select(Recording)).one()
    if storage_overrides:  # S3: every machine sees the same bucket
        assert rec.status == "processed", rec.error
    else:  # a local directory is one machine's: the other machine's job cannot find it
        assert rec.status == "failed" and "no blob" in (rec.error or "")
