"""`workbench banks fetch stopncii|ncmec` against local servers that answer like the APIs."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

import numpy as np
import pytest
from click.testing import CliRunner, Result

from classifiers.images import bank_hashes
from classifiers.images.samples import photograph
from tests.support.app import TEST_SECRET_KEY, reset_tables
from tests.support.platform_server import STOP_POLL_S
from tests.support.present import present
from workbench.cli import main
from workbench.settings import SettingsError, load_settings

#: The date form NCMEC's API reads and writes (the library formats local time with it).
NCMEC_DATE = "%Y-%m-%dT%H:%M:%SZ"


def pdq_of(seed: int) -> str:
    return str(bank_hashes(np.asarray(photograph(seed)))[0].hex)


class FakeApi(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records each request's path, query and headers."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StopNCIIHandler(BaseHTTPRequestHandler):
    """``GET /v1/FetchHashes``: the records changed since ``startTimestamp``, two a page."""

    server: FakeApi
    PAGE = 2

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append({"path": url.path, "query": query,
                                     "headers": dict(self.headers)})
        if url.path != "/v1/FetchHashes":
            return self._send(404, {"error": "not found"})
        if (self.headers.get("x-functions-key"), self.headers.get(
                "Ocp-Apim-Subscription-Key")) != ("fetch-key", "sub-key"):
            return self._send(401, {"statusCode": 401, "message": "Access denied"})
        start = int(query["startTimestamp"])
        changed = sorted((r for r in self.server.records if r["lastModtimestamp"] >= start),
                         key=lambda r: r["lastModtimestamp"])
        offset = int(query.get("nextPageToken") or 0)
        page = changed[offset:offset + self.PAGE]
        more = offset + self.PAGE < len(changed)
        self._send(200, {
            "count": len(page), "hashRecords": page, "hasMoreRecords": more,
            "nextPageToken": str(offset + self.PAGE) if more else None,
            "nextSetTimestamp": max((r["lastModtimestamp"] for r in changed),
                                    default=start - 1) + 1})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def stopncii_record(pdq: str, at: int, status: str = "Active",
                    kind: str = "ImagePDQ") -> dict[str, Any]:
    return {"lastModtimestamp": at, "signalType": kind, "hashValue": pdq,
            "hashStatus": status, "caseNumbers": {f"case-{at}": status},
            "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": [], "source": "csp"}]}


class NCMECHandler(BaseHTTPRequestHandler):
    """``GET /v2/entries?from=&to=``: the image entries changed in the window, as XML."""

    server: FakeApi

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append({"path": url.path, "query": query,
                                     "headers": dict(self.headers)})
        expected = "Basic " + base64.b64encode(b"esp-user:esp-pass").decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, "<error>unauthorized</error>")
        if url.path != "/hashsharing/v2/entries":
            return self._send(404, "<error>not found</error>")
        start, end = (datetime.strptime(query[k], NCMEC_DATE).timestamp()
                      for k in ("from", "to"))
        entries = [e for e in self.server.records if start <= e["at"] < end]
        newest = max((e["at"] for e in entries), default=end)
        items = "".join(_entry_xml(e) for e in entries)
        images = (f'<images count="{len(entries)}" maxTimestamp="'
                  f'{datetime.fromtimestamp(newest, UTC).strftime(NCMEC_DATE)}">{items}</images>'
                  if entries else "")
        self._send(200, '<?xml version="1.0" encoding="UTF-8"?><queryResult '
                        f'xmlns="https://hashsharing.ncmec.org/hashsharing/v2">{images}'
                        '<paging/></queryResult>')

    def _send(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _entry_xml(entry: dict[str, Any]) -> str:
    tag = "deletedImage" if entry.get("deleted") else "image"
    prints = "" if entry.get("deleted") else (
        f"<fingerprints><md5>{'0' * 32}</md5><pdq>{escape(entry['pdq'])}</pdq></fingerprints>")
    return (f"<{tag}><id>{entry['id']}</id><classification>A1</classification>"
            f'<member id="7">Example ESP</member>{prints}</{tag}>')


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[FakeApi]:
    server = FakeApi(handler)
    thread = threading.Thread(target=server.serve_forever, args=(STOP_POLL_S,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def stopncii() -> Iterator[FakeApi]:
    yield from serve(StopNCIIHandler)


@pytest.fixture
def ncmec() -> Iterator[FakeApi]:
    yield from serve(NCMECHandler)


@pytest.fixture
def env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    reset_tables(database_url)
    return {"WORKBENCH_INSTANCE_DIR": str(tmp_path / "instance"),
            "WORKBENCH_DATABASE_URL": database_url, "WORKBENCH_REDIS_URL": redis_url,
            "WORKBENCH_SECRET_KEY": TEST_SECRET_KEY}


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def matched_banks(env: dict[str, str], tmp_path: Path, seed: int) -> list[str]:
    path = tmp_path / f"p{seed}.png"
    photograph(seed).save(path)
    result = run(env, "images", "match", str(path), "--json", "--no-nudity")
    return sorted(m["bank"] for m in json.loads(result.output)["matches"])


def banks(env: dict[str, str]) -> dict[str, tuple[str, int]]:
    listed = map(json.loads, run(env, "banks", "list", "--json").output.splitlines())
    return {b["name"]: (b["category"], b["entries"]) for b in listed}


def test_stopncii_hashes_are_fetched_then_only_what_changed(
        env, stopncii: FakeApi, tmp_path: Path) -> None:
    env = dict(env, WORKBENCH_STOPNCII_URL=stopncii.base + "/v1",
               WORKBENCH_STOPNCII_KEY="sub-key", WORKBENCH_STOPNCII_FUNCTION_KEY="fetch-key")
    stopncii.records += [stopncii_record(pdq_of(51), 100), stopncii_record(pdq_of(52), 200),
                         stopncii_record("d41d8cd98f00b204e9800998ecf8427e", 250, kind="VideoMD5"),
                         stopncii_record(pdq_of(53).upper(), 300)]
    first = run(env, "banks", "fetch", "stopncii")
    assert first.exit_code == 0, first.output
    assert "stopncii into stopncii: 2 page(s), 3 hash(es) added, 0 withdrawn" in first.output
    assert banks(env) == {"stopncii": ("ncii", 3)}
    assert matched_banks(env, tmp_path, 51) == ["stopncii"]
    assert [r["query"].get("nextPageToken") for r in stopncii.requests] == [None, "2"]
    assert stopncii.requests[0]["query"]["startTimestamp"] == "10"  # the library's start

    # The person behind 51 withdrew it; a new hash arrived.
    stopncii.records[0] = stopncii_record(pdq_of(51), 400, status="Withdrawn")
    stopncii.records.append(stopncii_record(pdq_of(54), 500))
    stopncii.requests.clear()
    second = run(env, "banks", "fetch", "stopncii", "--bank", "stopncii")
    assert "1 page(s), 1 hash(es) added, 1 withdrawn" in second.output
    assert stopncii.requests[0]["query"]["startTimestamp"] == "301"  # from the checkpoint
    assert banks(env) == {"stopncii": ("ncii", 3)}
    assert matched_banks(env, tmp_path, 51) == []
    assert matched_banks(env, tmp_path, 54) == ["stopncii"]

    # Nothing new: one empty page, nothing changes.
    third = run(env, "banks", "fetch", "stopncii")
    assert "1 page(s), 0 hash(es) added, 0 withdrawn" in third.output
    # Withdrawn hashes stay out of exports.
    exported = run(env, "banks", "export", "stopncii", "-", "--format", "te").output
    assert f"pdq {pdq_of(51)}" not in exported and f"pdq {pdq_of(54)}" in exported


def test_a_refused_key_is_reported_and_changes_nothing(env, stopncii: FakeApi) -> None:
    env = dict(env, WORKBENCH_STOPNCII_URL=stopncii.base + "/v1",
               WORKBENCH_STOPNCII_KEY="wrong", WORKBENCH_STOPNCII_FUNCTION_KEY="fetch-key")
    stopncii.records.append(stopncii_record(pdq_of(51), 100))
    result = run(env, "banks", "fetch", "stopncii", "--bank", "ncii-partner")
    assert result.exit_code == 1
    assert "stopncii fetch stopped" in result.output and "401" in result.output
    assert banks(env) == {"ncii-partner": ("ncii", 0)}


def test_ncmec_entries_are_fetched_then_only_the_new_window(
        env, ncmec: FakeApi, tmp_path: Path) -> None:
    env = dict(env, WORKBENCH_NCMEC_URL=ncmec.base + "/hashsharing",
               WORKBENCH_NCMEC_USER="esp-user", WORKBENCH_NCMEC_PASSWORD="esp-pass")
    long_ago = int(time.time()) - 3600
    ncmec.records += [{"id": "e1", "at": long_ago, "pdq": pdq_of(61)},
                      {"id": "e2", "at": long_ago + 1, "pdq": pdq_of(62)},
                      {"id": "e3", "at": long_ago + 2, "pdq": "not-a-pdq"}]
    first = run(env, "banks", "fetch", "ncmec", "--bank", "csam-ncmec")
    assert first.exit_code == 0, first.output
    assert "ncmec into csam-ncmec: 1 page(s), 2 hash(es) added, 0 withdrawn" in first.output
    assert banks(env) == {"csam-ncmec": ("csam", 2)}
    assert matched_banks(env, tmp_path, 61) == ["csam-ncmec"]
    [request] = ncmec.requests
    window_end = request["query"]["to"]

    # Entry e1 is deleted and e4 added, both after the first window; once the clock has
    # passed the new window's start (the library fetches up to five seconds ago), fetch.
    at = int(datetime.strptime(window_end, NCMEC_DATE).timestamp())
    ncmec.records += [{"id": "e1", "at": at, "deleted": True},
                      {"id": "e4", "at": at, "pdq": pdq_of(64)}]
    while int(time.time()) - 5 <= at:
        time.sleep(0.05)
    ncmec.requests.clear()
    second = run(env, "banks", "fetch", "ncmec", "--bank", "csam-ncmec")
    assert "1 hash(es) added, 1 withdrawn" in second.output, second.output
    assert ncmec.requests[0]["query"]["from"] == window_end
    assert matched_banks(env, tmp_path, 61) == []
    assert matched_banks(env, tmp_path, 64) == ["csam-ncmec"]


def test_exchanges_are_off_until_configured(env) -> None:
    result = run(env, "banks", "fetch", "ncmec")
    assert result.exit_code == 1
    assert "ncmec is off: set WORKBENCH_NCMEC_URL and its credentials" in result.output


@pytest.mark.parametrize(("environ", "message"), [
    ({"WORKBENCH_STOPNCII_URL": "https://api.example.org/v1"},
     "WORKBENCH_STOPNCII_KEY: required when WORKBENCH_STOPNCII_URL is set"),
    ({"WORKBENCH_NCMEC_USER": "u", "WORKBENCH_NCMEC_PASSWORD": "p"},
     "WORKBENCH_NCMEC_USER: set WORKBENCH_NCMEC_URL too"),
    ({"WORKBENCH_NCMEC_URL": "http://hashsharing.example.org", "WORKBENCH_NCMEC_USER": "u",
      "WORKBENCH_NCMEC_PASSWORD": "p"}, "WORKBENCH_NCMEC_URL: expected https://"),
])
def test_exchange_settings_are_checked_at_start(tmp_path: Path, environ: dict[str, str],
                                                message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ={"WORKBENCH_INSTANCE_DIR": str(tmp_path), **environ})


def test_the_scheduled_job_fetches_when_due_and_not_before(
        app, stopncii: FakeApi) -> None:
    from dataclasses import replace

    from sqlalchemy import select

    from queues.exchanges import fetch_exchanges
    from queues.names import QueueName
    from queues.runtime import queue
    from queues.scheduler import periodic_jobs
    from tests.support.jobs import run_jobs
    from workbench.extensions import db
    from workbench.models import BankEntry, ExchangeCheckpoint
    from workbench.settings import SETTINGS_KEY

    assert any(p.func is fetch_exchanges for p in periodic_jobs())
    app.extensions[SETTINGS_KEY] = replace(
        app.extensions[SETTINGS_KEY], stopncii_url=stopncii.base + "/v1",
        stopncii_key="sub-key", stopncii_function_key="fetch-key", stopncii_bank="ncii-feed")
    stopncii.records.append(stopncii_record(pdq_of(71), 100))
    with app.app_context():
        queue(QueueName.MAINTENANCE).enqueue(fetch_exchanges)
    run_jobs(app)
    with app.app_context():
        assert db.session.scalars(select(BankEntry.pdq)).all() == [pdq_of(71)]
        checkpoint = db.session.scalars(select(ExchangeCheckpoint)).one()
        assert (checkpoint.exchange, present(checkpoint.checkpoint)["update_time"],
                checkpoint.added) == ("stopncii", 101, 1)
    asked = len(stopncii.requests)
    with app.app_context():  # within the hour: not due, the exchange is not asked
        assert fetch_exchanges() == {"stopncii": "not due"}
    assert len(stopncii.requests) == asked
