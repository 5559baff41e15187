"""`coalition-bot run` and `discord sync` as real processes, pointed at the Discord fake."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.discord import GUILD, TOKEN, FakeDiscord
from tests.test_console import coalition_bot
from tests.test_slack_process import start_bot, stop, wait_for_line

GENERAL = "4400000000000000001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    discord = await FakeDiscord().start()
    yield discord
    await discord.stop()


def env(fake: FakeDiscord) -> dict[str, str]:
    return {"DISCORD_BOT_TOKEN": TOKEN, "DISCORD_API_URL": fake.api_url, "DISCORD_GATEWAY_URL": fake.gateway_url}


async def test_run_serves_help_and_clicks(tmp_path: Path, fake: FakeDiscord) -> None:
    bot = await start_bot(tmp_path, env(fake))
    try:
        await wait_for_line(bot, "coalition-bot is running (discord)")
        member = fake.member("5500000000000000002", "Maria")
        reply = await fake.slash("coalition", "help", {}, member, GENERAL)
        assert reply["type"] == 4 and "/coalition link" in reply["data"]["embeds"][0]["description"]
        message = fake.posted_message(GENERAL, reply["data"]["embeds"], reply["data"]["components"], flags=64)
        clicked = await fake.click("help:show:coalition", message, member)
        assert clicked["type"] == 7
    finally:
        assert await stop(bot) == 0


async def test_sync_command_registers_commands_in_a_guild(tmp_path: Path, fake: FakeDiscord) -> None:
    code, out, err = await _sync(
        tmp_path, {**_plain_env(), **env(fake), "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    )
    assert code == 0, err
    assert "Synced 6 commands to server" in out
    assert [c["name"] for c in fake.commands[GUILD]] == [
        "broadcast",
        "coalition",
        "decision",
        "goal",
        "meeting",
        "poll",
    ]


async def _sync(tmp_path: Path, environment: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *coalition_bot(),
        "discord",
        "sync",
        "--guild",
        GUILD,
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "DATABASE_URL"))}


async def test_sync_creates_no_secret_or_database(tmp_path: Path, fake: FakeDiscord) -> None:
    code, _, err = await _sync(tmp_path, {**_plain_env(), **env(fake)})
    assert code == 0, err
    assert not os.listdir(tmp_path)  # no coalition.db, no coalition.db.secret in the current folder


async def test_a_refused_token_or_no_network_gives_one_line_with_the_fix(tmp_path: Path, fake: FakeDiscord) -> None:
    wrong = {**_plain_env(), **env(fake), "DISCORD_BOT_TOKEN": TOKEN[:-4] + "wxyz"}
    for command in (["discord", "sync", "--guild", GUILD], ["run"]):
        process = await asyncio.create_subprocess_exec(
            *coalition_bot(), *command, cwd=tmp_path, env=wrong, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        _, err = await asyncio.wait_for(process.communicate(), 60)
        lines = [line for line in err.decode().splitlines() if line.strip() and " INFO " not in line]
        assert process.returncode == 2 and len(lines) == 1, lines
        assert lines[0].startswith("coalition-bot: DISCORD_BOT_TOKEN: Discord refused this token"), lines
    unreachable = {**_plain_env(), **env(fake), "DISCORD_API_URL": "http://127.0.0.1:9/api/v10"}
    code, _, err = await _sync(tmp_path, unreachable)
    lines = [line for line in err.splitlines() if line.strip() and " INFO " not in line]
    assert code == 2 and len(lines) == 1 and "cannot reach Discord" in lines[0], lines
