"""A real S3-compatible server on 127.0.0.1 for the tests: moto's server mode, run as a
separate process so the code under test talks HTTP to it as it would to any object store.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

#: Credentials the local server accepts (it accepts any); never real ones.
ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-access-key"
REGION = "us-east-1"
START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Server:
    """``python -m moto.server`` on a free loopback port."""

    port: int = field(default_factory=_free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the S3 server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.endpoint_url + "/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the S3 server did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY_ID,
                            aws_secret_access_key=SECRET_ACCESS_KEY)

    def new_bucket(self) -> str:
        """A fresh, empty bucket (one per test, so tests never see each other's blobs)."""
        name = f"test-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings_for(self, bucket: str, prefix: str = "blobs") -> dict[str, str]:
        """Workbench settings overrides that keep blobs in ``bucket`` on this server."""
        return {"storage_url": f"s3://{bucket}/{prefix}", "s3_endpoint_url": self.endpoint_url,
                "s3_region": REGION, "s3_access_key_id": ACCESS_KEY_ID,
                "s3_secret_access_key": SECRET_ACCESS_KEY}

    def keys(self, bucket: str) -> list[str]:
        """Every key in ``bucket``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


#: The blob store backends a module runs on when it overrides ``storage_overrides``.
BACKENDS = ("local", "s3")


def blob_backend(request: Any) -> dict[str, str]:
    """Settings overrides for the backend named by ``request.param``: ``{}`` keeps the
    instance's directory, ``"s3"`` puts blobs in a fresh bucket on the local S3 server.

    Use it as a module's ``storage_overrides`` fixture, parametrised over ``BACKENDS``.
    """
    if request.param == "local":
        return {}
    server: S3Server = request.getfixturevalue("s3_server")
    return server.settings_for(server.new_bucket())
