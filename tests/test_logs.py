"""What reaches the logs: command names and request ids, never what members wrote, never secrets."""

from __future__ import annotations

import logging

import pytest

from bot import logs
from tests.harness import Harness
from tests.messengers import MemoryPlatform


async def test_logs_never_carry_message_text(bot: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("DEBUG")
    try:
        bot.dispatcher.app.add_messenger(MemoryPlatform())
        await bot.run('/broadcast send "the residents meeting password is tulip"')
        await bot.run("/coalition link --tagz secret-tag-words", channel="x")
        await bot.dispatcher.app.scheduler.run_due()
        err = capsys.readouterr().err
        assert "/broadcast send from console:admin in general" in err
        assert "req=" in err
        assert "tulip" not in err and "secret-tag-words" not in err
    finally:
        logging.getLogger().handlers.clear()
