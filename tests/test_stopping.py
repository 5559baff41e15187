"""A stop is part of the contract (issue 35): once Slack was told "received" (our HTTP 200), the
click is the bot's to finish. A real `coalition-bot run` in Slack's HTTP mode takes a burst of vote
clicks, is stopped in the middle of it, and every click it acknowledged (and did not answer with
"restarting") must be in the database afterwards, on SQLite and PostgreSQL, for SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from storage import Database
from tests.conftest import BACKENDS, _fresh_postgres
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, form, sign
from tests.test_console import coalition_bot
from tests.test_discord import GENERAL, Discord, discord_env, text_of  # noqa: F401 (fixture)
from tests.test_slack import eventually
from tests.test_slack_process import free_port, start_bot, wait_for_line

SECRET = "9c4e7a1d3b6f8e2a5c0d7b9e1f4a6c3d8b2e5f7a0c9d1e3b"
CLICKS = 600


async def _post(http: aiohttp.ClientSession, url: str, body: str) -> int:
    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    try:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status
    except aiohttp.ClientError:
        return 0  # the server had closed: not acknowledged


async def _database(backend: str, tmp_path: Path) -> str:
    if backend == "postgres":
        url = await _fresh_postgres()
        db = Database(url)
        await db.upgrade()
        await db.dispose()
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"


async def _stored_voters(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT m.user_id FROM ballots b JOIN members m ON m.id = b.member_id WHERE b.poll_id = 1")
            )
            return {row[0] for row in rows}
    finally:
        await db.dispose()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_stop_mid_burst_keeps_every_click_slack_was_told_was_received(
    tmp_path: Path, backend: str, signum: signal.Signals
) -> None:
    fake = await FakeSlack().start()
    fake.user("UADMIN", "Dana", admin=True)
    url = await _database(backend, tmp_path)
    port = free_port()
    bot = await start_bot(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_HTTP_PORT": str(port),
            "DATABASE_URL": url,
            "ANONYMITY_SECRET": SECRET,
        },
    )
    events = f"http://127.0.0.1:{port}/slack/events"
    try:
        await wait_for_line(bot, "coalition-bot is running (slack)")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=40)) as http:
            for command, typed in (("/coalition", 'setup "Eastside"'), ("/poll", 'create "Budget?" Yes No')):
                assert await _post(http, events, form(fake.slash_command(command, typed, user="UADMIN"))) == 200
            clicks: list[tuple[str, str]] = []  # (user, the click's response_url id)
            bodies = []
            for n in range(CLICKS):
                payload = fake.block_actions("poll:vote:1:0", user=f"U{n:05d}")
                clicks.append((f"U{n:05d}", payload["response_url"].rsplit("/", 1)[1]))
                bodies.append(form(payload))
            statuses: dict[int, int] = {}

            async def click(n: int) -> None:
                statuses[n] = await _post(http, events, bodies[n])

            burst = [asyncio.ensure_future(click(n)) for n in range(CLICKS)]
            await eventually(lambda: sum(1 for s in statuses.values() if s == 200) >= 150, within=60)
            bot.send_signal(signum)
            await asyncio.gather(*burst)
        _, err = await asyncio.wait_for(bot.communicate(), 90)
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
        await fake.stop()
    log = err.decode()
    assert bot.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]

    def refused(answer_id: str) -> bool:
        return any("restarting" in json.dumps(a) for a in fake.answers.get(answer_id, []))

    acknowledged = {user for n, (user, answer) in enumerate(clicks) if statuses[n] == 200 and not refused(answer)}
    told_restarting = {user for user, answer in clicks if refused(answer)}
    stored = await _stored_voters(url)
    assert acknowledged, "the burst should have been acknowledged in part before the stop"
    assert acknowledged - stored == set(), f"{len(acknowledged - stored)} acknowledged clicks were lost"
    assert told_restarting & stored == set(), "a click answered 'restarting' was carried out"
    assert len(acknowledged) < CLICKS, "the stop should land in the middle of the burst"
    drained = [line for line in log.splitlines() if "stopping: drained" in line]
    assert drained and "dropped 0" in drained[-1], log[-3000:]


async def test_a_click_while_stopping_is_answered_restarting_and_not_carried_out(tmp_path: Path) -> None:
    """In-process, with the real slack-bolt app: once the bot is stopping, the HTTP server answers
    503 and a click that reached a listener is told the bot is restarting."""
    from tests.test_slack import slack_env

    async with slack_env(tmp_path) as env:
        await env.command('/coalition setup "Eastside"')
        await env.command('/poll create "Budget?" Yes No')
        env.app.inflight.stop_accepting()
        response = await env.post(form(env.fake.block_actions("poll:vote:1:0", user="UMARIA")))
        assert response.status == 503
        assert response.headers["Retry-After"] == "60"
        async with env.http.get(f"http://127.0.0.1:{env.adapter.port}/livez") as live:
            assert live.status == 200
        async with env.http.get(f"http://127.0.0.1:{env.adapter.port}/readyz") as ready:
            assert ready.status == 503
            assert "stopping" in (await ready.json())["checks"]
        # A listener that was already past the HTTP server when the stop began answers "restarting".
        payload: dict[str, Any] = env.fake.block_actions("poll:vote:1:0", user="UMARIA")
        await env.adapter.bolt.async_dispatch(_bolt_request(payload))
        answer = await eventually(lambda: env.fake.answers.get(payload["response_url"].rsplit("/", 1)[1]))
        assert "restarting" in answer[0]["text"]
        async with env.app.unit_of_work() as services:
            assert await services.repos.polls.ballot_count(1) == 0


def _bolt_request(payload: dict[str, Any]) -> Any:
    from slack_bolt.request.async_request import AsyncBoltRequest

    body = form(payload)
    return AsyncBoltRequest(body=body, headers={**sign(body), "content-type": "application/x-www-form-urlencoded"})


def test_the_console_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The console finishes the line it is running, shows its messages, and exits 0."""
    import subprocess
    import time

    process = subprocess.Popen(
        [*coalition_bot(), "console", "--json", "--db", str(tmp_path / "c.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("/coalition whoami\n")
    process.stdin.flush()
    deadline = time.monotonic() + 30
    said: list[dict[str, Any]] = []
    while not any(m["type"] == "message" for m in said) and time.monotonic() < deadline:
        said.append(json.loads(process.stdout.readline()))  # the console's start notes, then the answer
    process.send_signal(signal.SIGTERM)  # stdin stays open: the console is waiting for a line
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    assert any(m["type"] == "message" and "coordinator" in m["text"] for m in said), said


async def test_discord_is_told_the_bot_is_restarting_once_it_stops(discord_env: Discord) -> None:  # noqa: F811
    """A command or click that arrives while the bot drains is answered at once, in the member's
    Discord language, and nothing is written."""
    assert "is set up" in text_of(await discord_env.slash("coalition", "setup", name="Eastside"))
    discord_env.app.inflight.stop_accepting()
    answer = await discord_env.slash("poll", "create", question="Budget?", options="Yes, No")
    assert answer["type"] == 4 and "restarting" in text_of(answer)
    assert answer["data"]["flags"] & 64  # only the member sees it
    discord_env.fake.locales[discord_env.maria["user"]["id"]] = "es-ES"
    answer = await discord_env.slash("coalition", "whoami", discord_env.maria)
    assert "reiniciando" in text_of(answer)
    async with discord_env.app.unit_of_work() as services:
        assert await services.repos.polls.due(discord_env.app.clock.now() + timedelta(days=3650)) == []
