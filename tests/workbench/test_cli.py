"""The ``workbench`` command line, run as a person runs it: in a subprocess.

What a test runs after its first command (the same command refusing bad input, a
listing) runs in this process (``tests.support.cli``).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import click
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session

from tests.support.app import TEST_SECRET_KEY, reset_tables
from tests.support.cli import cli_environment, invoke, run
from workbench.cli import LAZY_COMMANDS, main
from workbench.crypto import decrypt_secret
from workbench.models import Account, EnforcementDelivery, Moderator, Person, Platform


@pytest.fixture
def cli_env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_environment(database_url, redis_url, tmp_path)


def test_help_lists_every_command_with_a_description(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "--help").stdout
    for command in ("init-db", "create-user", "platforms", "seed-demo", "serve", "worker", "demo",
                    "cases", "act", "statements", "dashboard", *LAZY_COMMANDS):
        line = next(line for line in out.splitlines() if line.strip().startswith(command + " "))
        assert len(line.split(maxsplit=1)[1]) > 10


def test_help_imports_no_lazy_group_and_a_group_imports_only_its_own() -> None:
    probe = ("import sys\n"
             "from workbench.cli import main\n"
             "try:\n"
             "    main(sys.argv[1:], prog_name='workbench')\n"
             "except SystemExit:\n"
             "    pass\n"
             "print(sorted({'classifiers.cli', 'workbench.cli.legal', 'workbench.cli.images',"
             " 'sklearn'} & set(sys.modules)), file=sys.stderr)\n")

    def imported(*args: str) -> str:
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                                text=True, timeout=120)
        return result.stderr.strip().splitlines()[-1]

    assert imported("--help") == "[]"
    assert imported("audit", "--help") == "['workbench.cli.legal']"


def test_a_database_command_starts_without_the_web_or_the_jobs(cli_env: dict[str, str]) -> None:
    # What ``platforms list`` needs is the base app: settings and the database.
    heavy = ["workbench.app", "workbench.console", "workbench.api", "queues.worker",
             "queues.jobs", "actions.enforcement", "workbench.demo.seed"]
    probe = ("import sys\n"
             "from workbench.cli import main\n"
             "try:\n"
             "    main(['platforms', 'list'], prog_name='workbench')\n"
             "except SystemExit as exc:\n"
             "    assert not exc.code, exc.code\n"
             f"print(sorted(set({heavy!r}) & set(sys.modules)), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], env=cli_env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_a_lazy_command_is_listed_with_its_own_summary(name: str) -> None:
    group = main.get_command(click.Context(main), name)
    assert isinstance(group, click.Command) and group.name == name
    stand_in = click.Command(name, help=LAZY_COMMANDS[name].summary)
    for width in (30, 45, 80, 200):
        assert stand_in.get_short_help_str(width) == group.get_short_help_str(width)


def test_a_lazy_groups_command_runs(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("audit chain intact: 0 events")


def test_platforms_add_prints_the_secret_once_and_stores_it_encrypted(
    cli_env: dict[str, str], database_url: str
) -> None:
    result = run(cli_env, "platforms", "add", "calls", "--webhook-url",
                 "http://127.0.0.1:9/hook", "--json")
    assert result.returncode == 0, result.stderr
    creds = json.loads(result.stdout)
    assert set(creds) == {"slug", "key_id", "secret"} and creds["slug"] == "calls"
    engine = create_engine(database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(Platform.secret_encrypted)).scalar_one()
    engine.dispose()
    assert creds["secret"].encode() not in stored
    assert decrypt_secret(TEST_SECRET_KEY, stored) == creds["secret"]
    listing = invoke(cli_env, "platforms", "list").stdout
    assert "calls" in listing and creds["secret"] not in listing


def test_platforms_add_refuses_a_duplicate_and_a_bad_slug(cli_env: dict[str, str]) -> None:
    assert invoke(cli_env, "platforms", "add", "calls").exit_code == 0
    again = invoke(cli_env, "platforms", "add", "calls")
    assert again.exit_code != 0 and "already exists" in again.stderr
    bad = invoke(cli_env, "platforms", "add", "Bad Slug!")
    assert bad.exit_code != 0 and "slug" in bad.stderr


def test_create_user_hashes_the_password(cli_env: dict[str, str], database_url: str) -> None:
    result = run(cli_env, "create-user", "Lead@Example.org", "--role", "senior",
                 "--password-stdin", stdin="correct horse battery\n")
    assert result.returncode == 0, result.stderr
    engine = create_engine(database_url)
    with engine.connect() as conn:
        email, role, hashed = conn.execute(
            select(Moderator.email, Moderator.role, Moderator.password_hash)
        ).one()
    engine.dispose()
    assert (email, role) == ("lead@example.org", "senior")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed


def test_create_user_refuses_a_short_password(cli_env: dict[str, str]) -> None:
    result = invoke(cli_env, "create-user", "a@b.org", "--role", "moderator",
                    "--password-stdin", stdin="short\n")
    assert result.exit_code != 0 and "password" in result.stderr


def test_create_user_refuses_a_guessable_admin_password_and_says_why(
        cli_env: dict[str, str], database_url: str) -> None:
    # Strong enough for a moderator (zxcvbn 3), not for an administrator (4).
    result = invoke(cli_env, "create-user", "boss@example.org", "--role", "admin",
                    "--password-stdin", stdin="password-0123456789\n")
    assert result.exit_code != 0 and "too easy to guess" in result.stderr
    result = invoke(cli_env, "create-user", "spaces@example.org", "--role", "moderator",
                    "--password-stdin", stdin=" " * 10 + "\n")
    assert result.exit_code != 0 and "only spaces" in result.stderr
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(Moderator.email).where(Moderator.email.in_(
            ["boss@example.org", "spaces@example.org"]))).all() == []
    engine.dispose()


def test_init_db_creates_no_logins(cli_env: dict[str, str], database_url: str) -> None:
    assert run(cli_env, "init-db").returncode == 0
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count(Moderator.id))).scalar_one() == 0
    engine.dispose()


def test_bad_configuration_fails_with_one_line_naming_the_variable(
    cli_env: dict[str, str],
) -> None:
    env = dict(cli_env, WORKBENCH_DATABASE_URL="mysql://nobody@nowhere/x")
    result = run(env, "init-db")
    assert result.returncode != 0
    assert "WORKBENCH_DATABASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    env = dict(cli_env, WORKBENCH_MAX_BATCH_ITEMS="lots")
    result = run(env, "platforms", "list")
    assert "WORKBENCH_MAX_BATCH_ITEMS" in result.stderr


def test_a_command_before_init_db_says_to_run_it(cli_env: dict[str, str],
                                                tmp_path: Path) -> None:
    env = dict(cli_env, WORKBENCH_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    result = run(env, "platforms", "list")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: the database has no tables yet: run `workbench init-db` first"]
    # Which it then does, with nothing but its one line: no warning from the migrations.
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        made = invoke(env, "init-db")
    assert made.exit_code == 0
    assert made.output.startswith("database at revision ")
    assert [str(w.message) for w in seen if issubclass(w.category, SAWarning)] == []


def test_an_unreachable_database_is_one_line(cli_env: dict[str, str]) -> None:
    # Port 9 (discard) on this machine: nothing listens there.
    env = dict(cli_env, WORKBENCH_DATABASE_URL="postgresql://nobody@127.0.0.1:9/none")
    result = invoke(env, "platforms", "list")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: the database cannot be reached: ") and "9" in line


def test_act_warns_a_person_and_queues_a_delivery_to_each_account(
        cli_env: dict[str, str], database_url: str) -> None:
    assert invoke(cli_env, "platforms", "add", "calls", "--webhook-url",
                  "http://127.0.0.1:9/hook").exit_code == 0
    assert invoke(cli_env, "create-user", "lead@example.org", "--role", "senior",
                  "--password-stdin", stdin="correct horse battery\n").exit_code == 0
    engine = create_engine(database_url)
    with Session(engine) as session:
        person = Person()
        session.add(person)
        session.flush()
        platform_id = session.scalars(select(Platform.id)).one()
        session.add(Account(platform_id=platform_id, platform_user_id="u-7",
                            person_id=person.id))
        session.commit()
    result = run(cli_env, "act", "--platform", "calls", "--user", "u-7", "--type", "warn",
                 "--reason", "harassment", "--by", "lead@example.org")
    assert result.returncode == 0, result.stderr
    assert "warn of person" in result.stdout and "to calls (sequence 1): u-7" in result.stdout
    with engine.connect() as conn:
        assert conn.execute(select(func.count(EnforcementDelivery.id))).scalar_one() == 1
    engine.dispose()
    nobody = invoke(cli_env, "act", "--platform", "calls", "--user", "u-404", "--type", "warn",
                    "--reason", "harassment", "--by", "lead@example.org")
    assert nobody.exit_code == 1 and "no user 'u-404' on platform 'calls'" in nobody.stderr


SEED_ARGS = ("seed-demo", "--seed", "3", "--people", "60", "--messages", "500", "--reports", "40")


def _seeded(database_url: str) -> tuple[tuple[object, ...], ...]:
    """What a seeding wrote: the messages, the users' report categories, the logins."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        texts = conn.execute(text("SELECT text FROM message ORDER BY id")).scalars().all()
        # --reports counts the users' reports; the demo's images add a bank match
        # and a flagged frame of their own.
        cats = conn.execute(text("SELECT category FROM report WHERE source = 'user' "
                                 "ORDER BY id")).scalars().all()
        emails = conn.execute(text("SELECT email FROM moderator ORDER BY email")).scalars()
        seeded = tuple(texts), tuple(cats), tuple(emails)
    engine.dispose()
    return seeded


def test_seed_demo_is_deterministic_and_creates_the_demo_logins(
    cli_env: dict[str, str], database_url: str
) -> None:
    assert run(cli_env, *SEED_ARGS).returncode == 0
    first = _seeded(database_url)
    assert len(first[0]) == 500 and len(first[1]) == 40
    assert first[2] == ("admin@demo.local", "legal@demo.local", "moderator@demo.local",
                        "senior@demo.local")
    reset_tables(database_url)
    # The second seeding runs in this process: not the first one's, so another hash seed.
    assert invoke(cli_env, *SEED_ARGS).exit_code == 0
    assert _seeded(database_url) == first


def test_seed_demo_on_a_seeded_database_changes_nothing(
    cli_env: dict[str, str], database_url: str
) -> None:
    assert invoke(cli_env, *SEED_ARGS).exit_code == 0
    first = _seeded(database_url)
    assert invoke(cli_env, *SEED_ARGS).exit_code == 0
    assert _seeded(database_url) == first


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_starts_answers_and_stops(cli_env: dict[str, str]) -> None:
    env = dict(cli_env)
    env.pop("WORKBENCH_REDIS_URL")  # the demo starts its own embedded Redis
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "demo", "--port", str(port), "--exit-after-start",
         # A small demo: what is checked here is starting, answering and stopping.
         "--people", "60", "--messages", "500", "--reports", "40"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"http://127.0.0.1:{port}/" in result.stdout
    assert "moderator@demo.local" in result.stdout and "demo-moderator-harbour" in result.stdout
    # The demo platforms' webhooks go to the sink of this demo, on this port.
    listing = invoke(env, "platforms", "list").stdout
    assert f"http://127.0.0.1:{port}/demo/platforms/harmoni-calls/webhook" in listing
    # Everything it started has stopped: the port is free again.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_platforms_add_refuses_a_metadata_webhook_in_production_settings(
        cli_env: dict[str, str]) -> None:
    strict = dict(cli_env, WORKBENCH_ALLOW_PRIVATE_WEBHOOKS="false",
                  WORKBENCH_ALLOW_HTTP_WEBHOOKS="false")
    result = run(strict, "platforms", "add", "calls", "--webhook-url",
                 "https://169.254.169.254/latest/meta-data/")
    assert result.returncode != 0
    assert "not a public address" in result.stderr and "Traceback" not in result.stderr
    assert "calls" not in run(strict, "platforms", "list").stdout
