"""``workbench evidence`` and ``workbench audit``, run as a person runs them.

A test's later commands run in this process (``tests.support.cli``)."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import text

from tests.support import cli
from tests.support.app import TEST_SECRET_KEY
from tests.support.legal_data import World, build_world
from workbench.extensions import db


def _env(app: Flask) -> dict[str, str]:
    settings = app.extensions["workbench.settings"]
    return dict(os.environ, WORKBENCH_INSTANCE_DIR=str(settings.instance_dir),
                WORKBENCH_DATABASE_URL=settings.database_url,
                WORKBENCH_REDIS_URL=settings.redis_url, WORKBENCH_SECRET_KEY=TEST_SECRET_KEY)


def run(app: Flask, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # An export on a busy machine may take a while.
    return cli.run(_env(app), *args, cwd=tmp_path, timeout=300)


def invoke(app: Flask, *args: str) -> Result:
    return cli.invoke(_env(app), *args)


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        return build_world(db.session)


def test_export_writes_a_bundle_that_verify_accepts_then_names_a_change(
        app: Flask, world: World, tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    result = run(app, tmp_path, "evidence", "export", "--user", "calls:u-harasser",
                 "--reason", "IT Act s.69 order", "--request-ref", "ORD-4", "--out", str(out),
                 "--by", "legal@example.org")
    assert result.returncode == 0, result.stderr
    assert "sha256 " in result.stdout and (tmp_path / "bundle.certificate.txt").is_file()
    ok = invoke(app, "evidence", "verify", str(out))
    assert ok.exit_code == 0 and ok.stdout.startswith("ok: ")

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(tampered, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.endswith("data/reports.json"):
                body = body.replace(b"insulting", b"greeting!")
            zout.writestr(info, body)
    bad = run(app, tmp_path, "evidence", "verify", str(tampered))
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("altered: evidence-1/data/reports.json: ")


def test_export_is_refused_to_anyone_but_the_legal_team(app: Flask, world: World,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "bundle.zip"
    result = run(app, tmp_path, "evidence", "export", "--person", str(world.person_id),
                 "--reason", "curiosity", "--request-ref", "none", "--out", str(out),
                 "--by", "mod@example.org")
    assert result.returncode == 1 and "legal team" in result.stderr
    assert not out.exists()
    both = invoke(app, "evidence", "export", "--person", "1", "--case", "1",
                  "--reason", "r", "--request-ref", "x", "--out", str(out), "--by",
                  "legal@example.org")
    assert both.exit_code == 2 and "exactly one of --case, --person and --user" in both.stderr


def test_audit_verify_exits_non_zero_naming_an_edited_event(app: Flask, world: World,
                                                            tmp_path: Path) -> None:
    ok = invoke(app, "audit", "verify")
    assert ok.exit_code == 0 and ok.stdout.startswith("audit chain intact: ")
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        conn.execute(text("UPDATE audit_event SET actor_id = 'someone else' WHERE id = 2"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    bad = run(app, tmp_path, "audit", "verify")
    assert bad.returncode == 1
    assert bad.stdout.strip() == "event 2 altered: its content does not match its hash"
