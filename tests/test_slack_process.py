"""`coalition-bot run` as a real process, its Slack side pointed at the loopback fake."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, form, sign
from tests.test_console import coalition_bot
from tests.test_slack import eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_bot(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`coalition-bot run` in `tmp_path`, on `run.db` there unless `env` names a DATABASE_URL."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))}
    environment.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}", **env}, LOG_LEVEL="INFO")
    process = await asyncio.create_subprocess_exec(
        *coalition_bot(),
        "run",
        cwd=tmp_path,
        env=environment,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return process


async def wait_for_line(process: asyncio.subprocess.Process, text: str) -> None:
    assert process.stderr is not None
    said = []
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        if not line:
            raise AssertionError(f"the bot exited before saying {text!r}; it said:\n{b''.join(said).decode()}")
        said.append(line)
        if text in line.decode():
            return


async def stop(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 30)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = await FakeSlack().start()
    slack.user("UADMIN", "Dana", admin=True)
    slack.user("UMARIA", "Maria")
    yield slack
    await slack.stop()


async def test_http_mode_serves_help_and_clicks(tmp_path: Path, fake: FakeSlack) -> None:
    port = free_port()
    bot = await start_bot(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_HTTP_PORT": str(port),
        },
    )
    try:
        await wait_for_line(bot, "coalition-bot is running (slack)")
        url = f"http://127.0.0.1:{port}/slack/events"
        async with aiohttp.ClientSession() as http:
            body = form(fake.slash_command("/coalition", "help", user="UMARIA"))
            async with http.post(
                url, data=body, headers={**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
            ) as r:
                assert r.status == 200
                reply = await r.json()
            assert "/coalition link" in reply["text"]
            click = form(fake.block_actions("help:show:coalition", user="UMARIA", ephemeral=True))
            async with http.post(
                url, data=click, headers={**sign(click), "Content-Type": "application/x-www-form-urlencoded"}
            ) as r:
                assert r.status == 200
            forged = form(fake.slash_command("/coalition", "help", user="UMARIA"))
            async with http.post(
                url,
                data=forged,
                headers={**sign(forged, secret="1" * 32), "Content-Type": "application/x-www-form-urlencoded"},
            ) as r:
                assert r.status == 401
        responses = await eventually(lambda: fake.responses)
        assert responses[0]["replace_original"] is True and "/coalition link" in responses[0]["text"]
    finally:
        assert await stop(bot) == 0


async def test_socket_mode_serves_help_and_clicks(tmp_path: Path, fake: FakeSlack) -> None:
    bot = await start_bot(
        tmp_path, {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake.api_url}
    )
    try:
        await wait_for_line(bot, "coalition-bot is running (slack)")
        ack = await fake.push("slash_commands", fake.slash_command("/coalition", "help", user="UMARIA"))
        assert "/coalition link" in ack["text"]
        await fake.push("interactive", fake.block_actions("help:show:coalition", user="UMARIA", ephemeral=True))
        responses = await eventually(lambda: fake.responses)
        assert "/coalition link" in responses[0]["text"]
    finally:
        assert await stop(bot) == 0


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1-wrong", "SLACK_SIGNING_SECRET": SIGNING_SECRET}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-wrong", "SLACK_APP_TOKEN": APP_TOKEN}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-wrong"}, "SLACK_APP_TOKEN"),
    ],
)
async def test_a_refused_token_stops_with_one_line_naming_it(
    tmp_path: Path, fake: FakeSlack, env: dict[str, str], variable: str
) -> None:
    bot = await start_bot(tmp_path, {**env, "SLACK_API_URL": fake.api_url, "SLACK_HTTP_PORT": str(free_port())})
    _, err = await asyncio.wait_for(bot.communicate(), 30)
    assert bot.returncode == 2
    lines = [line for line in err.decode().splitlines() if line.strip() and "INFO" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"coalition-bot: {variable}: Slack refused this token"), lines
    assert "Traceback" not in err.decode() and "running" not in err.decode()
