"""Run it like a service (issue 35): no silent misconfiguration, an anonymity secret that cannot
be swapped quietly, readiness and metrics that tell the truth within 2 s, logs a collector reads."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters import build_dispatcher, load_settings, misspelt_variables
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import ConfigError, Settings
from bot.public_page import RateLimit
from storage import Database
from tests.conftest import POSTGRES_URL, START, _fresh_postgres
from tests.harness import Harness
from tests.test_console import coalition_bot, console

SECRET = "3f9a1c77e2b04d8e9a6c5b1f0d2e7a48c1b9e3d5f7a2c4e6"
WRONG = "b7e1d4c9a2f05e8b3c6d9a1f4e7b2c5d8a0f3e6b9c2d5a8f"  # another good secret, not this database's


def _run(
    tmp_path: Path, *args: str, env: dict[str, str], stdin: int | None = subprocess.DEVNULL
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))}
    environment.update(env)
    return subprocess.run(
        [*coalition_bot(), *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
    )


# Silent misconfiguration ------------------------------------------------------------------------


def test_run_with_no_platform_and_nobody_at_the_keyboard_exits_non_zero(tmp_path: Path) -> None:
    """As systemd and `docker run` (without -i) start it: standard input is /dev/null."""
    done = _run(tmp_path, "run", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
    assert done.returncode == 2, done.stderr
    assert "no platform is configured: set SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN" in done.stderr
    assert "coalition-bot console" in done.stderr
    assert not (tmp_path / "c.db").exists()  # nothing was started


def test_mistyped_variables_are_named_with_the_likely_one(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HTTP_PROT=8080\nCOALITION_TIMEZONE=UTC\n")
    settings = load_settings({"SLAK_BOT_TOKEN": "xoxb-1", "PATH": "/usr/bin", "HTTPS_PROXY": "x"}, tmp_path / ".env")
    problems = misspelt_variables(settings)
    assert problems == [
        "HTTP_PROT (in .env) is not a setting coalition-bot reads; did you mean HTTP_PORT?",
        "SLAK_BOT_TOKEN (in the environment) is not a setting coalition-bot reads; did you mean SLACK_BOT_TOKEN?",
    ]
    # The console warns at start, and the doctor fails on them.
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "DISCORD_BOT_TOKNE": "x"}
    started = console(tmp_path, "/coalition whoami\n", "console", env=env)
    assert started.returncode == 0 and "did you mean DISCORD_BOT_TOKEN?" in started.stderr
    doctor = console(tmp_path, "", "doctor", env=env)
    assert doctor.returncode == 1 and "did you mean HTTP_PORT?" in doctor.stdout


def test_an_unwritable_data_folder_names_the_variable_and_the_user() -> None:
    """/proc/self is a folder nobody, root included, can make a file in (the test runs as root in CI,
    where permission bits would not stop it)."""
    with pytest.raises(ConfigError) as refused:
        load_settings({"COALITION_DATA_DIR": "/proc/self"}, None)
    folder = Path("/proc/self").resolve()
    assert str(refused.value).startswith(
        f"COALITION_DATA_DIR: {folder} is not writable by the user the bot runs as ({getpass.getuser()})"
    )


def test_the_example_env_file_overrides_nothing_a_container_sets() -> None:
    """`docker run --env-file .env` with a copy of .env.example: an empty `HTTP_PORT=` would unset
    the image's HTTP_PORT. Every setting in it is commented out or has a value."""
    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text().splitlines()
    empty = [line for line in example if line.strip() and not line.startswith("#") and line.endswith("=")]
    assert empty == []


# The anonymity secret ----------------------------------------------------------------------------


async def _database_with_an_open_anonymous_poll(path: Path, secret: str) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    bot = Harness(
        build_dispatcher(App(Settings(database_url=db.url, anonymity_secret=secret), db, SimulatedClock(START)))
    )
    await bot.start()
    await bot.run('/poll create "Budget?" Yes No --anonymous')
    await db.dispose()


async def test_a_database_without_its_secret_or_with_another_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    await _database_with_an_open_anonymous_poll(path, SECRET)
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    # Moved without its secret file: no new secret is made beside it.
    refused = _run(tmp_path, "console", env=env, stdin=None)
    assert refused.returncode == 2
    assert "exists but its secret file c.db.secret is not beside it" in refused.stderr
    assert not (tmp_path / "c.db.secret").exists()
    # The wrong secret: one line naming the fix; the doctor says the same.
    wrong = _run(
        tmp_path,
        "console",
        env={**env, "ANONYMITY_SECRET": WRONG},
        stdin=None,
    )
    assert wrong.returncode == 2
    lines = [line for line in wrong.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "does not open the sealed keys of anonymous poll(s) #1" in lines[0], lines
    doctor = _run(tmp_path, "doctor", env={**env, "ANONYMITY_SECRET": WRONG})
    assert doctor.returncode == 1 and "does not open the sealed keys" in doctor.stdout
    # The right one, from a file (Docker and systemd credentials): it starts.
    (tmp_path / "secret").write_text(SECRET + "\n")
    right = _run(tmp_path, "console", env={**env, "ANONYMITY_SECRET_FILE": str(tmp_path / "secret")}, stdin=None)
    assert right.returncode == 0, right.stderr
    healthy = _run(tmp_path, "doctor", env={**env, "ANONYMITY_SECRET_FILE": str(tmp_path / "secret")})
    assert "does not open" not in healthy.stdout


# Readiness and metrics ---------------------------------------------------------------------------


@pytest.fixture
async def served(tmp_path: Path):
    path = tmp_path / "c.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.upgrade()
    app = App(Settings(database_url=db.url, anonymity_secret=SECRET), db, SimulatedClock(START))
    await app.scheduler.start()
    await app.web.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        yield app, http, f"http://127.0.0.1:{app.web.port}", path
    await app.close()


async def _timed_get(http: aiohttp.ClientSession, url: str, **kwargs: object) -> tuple[int, str, float]:
    started = time.monotonic()
    async with http.get(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.text(), time.monotonic() - started


async def test_readiness_answers_within_2_s_with_the_database_locked_and_metrics_still_answer(served) -> None:
    app, http, base, path = served
    status, body, _ = await _timed_get(http, f"{base}/readyz")
    assert status == 200 and json.loads(body)["checks"] == {"database": "ok", "scheduler": "ok"}
    # An admin's shell, another process, holding the write lock: taken once the bot's own run in
    # progress (the backlog looked at on start) has finished, as such a shell would wait for it.
    await app.scheduler.run_due()
    locker = sqlite3.connect(path, timeout=0)
    locker.execute("BEGIN IMMEDIATE")
    try:
        for route in ("/readyz", "/healthz"):
            status, body, took = await _timed_get(http, base + route)
            assert status == 503 and took < 2.0, (route, took)
            assert "does not answer within" in json.loads(body)["checks"]["database"]
        status, body, took = await _timed_get(http, f"{base}/livez")
        assert status == 200 and took < 2.0
        status, exposition, took = await _timed_get(http, f"{base}/metrics")
        assert status == 200 and took < 4.0
        families = {f.name: f for f in text_string_to_metric_families(exposition)}
        assert families["coalition_database_up"].samples[0].value == 0
    finally:
        locker.rollback()
        locker.close()
    status, exposition, _ = await _timed_get(http, f"{base}/metrics")
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    assert families["coalition_database_up"].samples[0].value == 1
    assert "process_resident_memory_bytes" in exposition and "python_info" in exposition
    assert families["coalition_build_info"].samples[0].labels["version"]
    assert "coalition_scheduler_last_success_timestamp_seconds" in families
    assert "_created" not in exposition


async def test_a_database_file_moved_away_is_not_ready(served) -> None:
    _app, http, base, path = served
    path.rename(path.with_name("moved.db"))
    status, body, _ = await _timed_get(http, f"{base}/readyz")
    assert status == 503
    assert "was moved or deleted since the bot opened it" in json.loads(body)["checks"]["database"]


async def test_the_oldest_waiting_message_is_measured(served) -> None:
    app, http, base, _ = served
    bot = Harness(build_dispatcher(app))
    await bot.start()
    assert "goes to 1 channel" in (await bot.run('/broadcast send "Road closure"')).text
    app.clock.set(app.clock.now() + timedelta(minutes=5))  # type: ignore[attr-defined]  # no console messenger: it waits
    _status, exposition, _ = await _timed_get(http, f"{base}/metrics")
    oldest = {
        s.labels["platform"]: s.value
        for f in text_string_to_metric_families(exposition)
        if f.name == "coalition_outbox_oldest_waiting_seconds"
        for s in f.samples
    }
    assert oldest["console"] == pytest.approx(300, abs=1)


async def test_metrics_are_for_whoever_runs_the_bot(served) -> None:
    app, http, base, _ = served
    status, _, _ = await _timed_get(http, f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 403  # through a proxy on this machine: a visitor, not the operator
    object.__setattr__(app.settings, "metrics_token", "t" * 24)
    status, _, _ = await _timed_get(http, f"{base}/metrics")
    assert status == 403
    status, _, _ = await _timed_get(http, f"{base}/metrics", headers={"Authorization": "Bearer " + "t" * 24})
    assert status == 200


async def test_the_public_page_limits_each_visitor_behind_a_trusted_proxy(served) -> None:
    import ipaddress

    app, http, base, _ = served
    object.__setattr__(app.settings, "trusted_proxies", (ipaddress.ip_network("127.0.0.1/32"),))
    app.public_page.limit = RateLimit(per_minute=1, burst=3)
    seen = []
    for visitor in ("198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2"):
        forwarded = {"X-Forwarded-For": f"1.2.3.4, {visitor}"}
        status, _, _ = await _timed_get(http, f"{base}/c/nowhere/", headers=forwarded)
        seen.append(status)
    assert seen[:3] == [404, 404, 404] and seen[3] == 429 and seen[4] == 404


# Logs ----------------------------------------------------------------------------------------------


def test_json_logs_carry_every_line_and_a_crash_is_one_entry(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "LOG_FORMAT": "json", "HTTP_PORT": "0"}
    done = console(tmp_path, "/coalition whoami\n", "run", env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    assert any("starting the console" in e["message"] for e in entries)
    assert any("HTTP (calendar feeds" in e["message"] for e in entries)
    assert all(e["time"].endswith("+00:00") and "T" in e["time"] for e in entries)
    # A crash outside any handler: one JSON entry with the traceback inside it.
    crash = console(tmp_path, "", "db", "current", "--db", "postgresql://nobody@127.0.0.1:9/x", env=env)
    crashed = [json.loads(line) for line in crash.stderr.splitlines() if line.strip()]
    assert crash.returncode == 1 and len(crashed) == 1, crash.stderr
    assert crashed[0]["level"] == "CRITICAL" and "Traceback" in crashed[0]["error"]
    # Settings that cannot be read: one JSON entry too, not a bare line.
    refused = console(tmp_path, "", "run", env={**env, "LOG_LEVEL": "LOUD"})
    said = [json.loads(line) for line in refused.stderr.splitlines() if line.strip()]
    assert (
        refused.returncode == 2 and len(said) == 1 and said[0]["message"].startswith("configuration error: LOG_LEVEL")
    )


# Migrating PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.skipif(POSTGRES_URL is None, reason="migrating PostgreSQL needs one (COALITION_TEST_POSTGRES_URL)")
async def test_db_upgrade_on_postgresql_dumps_it_first_to_a_private_file(tmp_path: Path) -> None:
    from alembic import command

    from storage.migrate import HEAD, alembic_config, migrating

    url = await _fresh_postgres()
    db = Database(url)
    await db.upgrade()
    config = alembic_config()

    def back(connection: object) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0019")

    await migrating(db.engine, back)
    await db.dispose()
    env = {"DATABASE_URL": url, "ANONYMITY_SECRET": SECRET}
    dump = tmp_path / "before.dump"
    done = _run(tmp_path, "db", "upgrade", "--dump-to", str(dump), env=env)
    assert done.returncode == 0, done.stderr
    assert f"Dumped the database to {dump}" in done.stdout and f"is at revision {HEAD}" in done.stdout
    assert oct(dump.stat().st_mode & 0o777) == "0o600"
    listed = await asyncio.to_thread(
        subprocess.run, ["pg_restore", "--list", str(dump)], capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0 and "TABLE public polls" in listed.stdout
    # Up to date: nothing to dump, nothing done.
    again = _run(tmp_path, "db", "upgrade", "--dump-to", str(tmp_path / "again.dump"), env=env)
    assert again.returncode == 0 and not (tmp_path / "again.dump").exists()


async def test_readiness_asks_slack_nothing_per_probe(tmp_path: Path) -> None:
    from tests.test_slack import slack_env

    async with slack_env(tmp_path) as env:
        before = env.fake.methods().count("auth.test")
        for _ in range(5):
            async with env.http.get(f"http://127.0.0.1:{env.adapter.port}/readyz") as response:
                assert response.status == 200
                assert (await response.json())["checks"]["slack"] == "ok"
        assert env.fake.methods().count("auth.test") == before
