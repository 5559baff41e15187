"""What whoever runs the bot watches (issue 18): /healthz and /metrics on the bot's one HTTP server,
fetched from a real `coalition-bot run` against the Slack fake, and JSON logs read line by line."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, form, sign
from tests.test_slack_process import fake, free_port, start_bot, stop, wait_for_line  # noqa: F401 (fixture)


async def test_health_and_metrics_from_a_running_bot_and_its_json_logs(tmp_path: Path, fake: FakeSlack) -> None:  # noqa: F811
    port = free_port()
    bot = await start_bot(
        tmp_path,
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "SLACK_HTTP_PORT": str(port),
            "LOG_FORMAT": "json",
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for_line(bot, "coalition-bot is running (slack)")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                health = await response.json()
            assert health == {"healthy": True, "checks": {"database": "ok", "scheduler": "ok", "slack": "ok"}}
            for command, text in (("/coalition", "help"), ("/coalition", "setup Eastside")):
                body = form(fake.slash_command(command, text, user="UADMIN", channel="C1", channel_name="general"))
                async with http.post(
                    f"{base}/slack/events",
                    data=body,
                    headers={**sign(body), "Content-Type": "application/x-www-form-urlencoded"},
                ) as answer:
                    assert answer.status == 200
            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                exposition = await response.text()
    finally:
        assert await stop(bot) == 0
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    events = {
        (s.labels["kind"], s.labels["name"], s.labels["outcome"]): s.value
        for s in families["coalition_events"].samples
        if s.name == "coalition_events_total"
    }
    assert events[("command", "/coalition help", "ok")] == 1
    assert events[("command", "/coalition setup", "ok")] == 1
    latency = [s for s in families["coalition_event_seconds"].samples if s.name.endswith("_count")]
    assert latency and latency[0].value >= 2
    assert "coalition_outbox_messages" in families and "coalition_meeting_reminders" in families
    # No member, channel or typed word in any label.
    assert not any(word in exposition for word in ("UADMIN", "C1", "Eastside"))

    assert bot.stderr is not None
    logged = (await bot.stderr.read()).decode().splitlines()
    entries = [json.loads(line) for line in logged if line.startswith("{")]
    assert entries and all({"time", "level", "logger", "request_id", "message"} <= set(e) for e in entries)
    assert not any("Eastside" in e["message"] for e in entries)  # what was typed stays out of the log


async def test_healthz_names_what_is_wrong_with_503(app: App) -> None:
    async def discord_down() -> str | None:
        return "not connected to the Discord gateway"

    app.health_checks["discord"] = discord_down
    await app.web.start("127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{app.web.port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 503
            health = await response.json()
    finally:
        await app.web.stop()
    assert health["healthy"] is False
    assert health["checks"]["discord"] == "not connected to the Discord gateway"
    assert health["checks"]["database"] == "ok"
    assert health["checks"]["scheduler"] == "not running"  # this App's scheduler was never started


async def test_a_mistyped_command_is_counted_as_unknown_not_by_what_was_typed(bot) -> None:
    await bot.run("/pol create Budget Yes No")
    await bot.run("/poll vote 1 secret-choice")
    exposition = bot.dispatcher.app.metrics.exposition().decode()
    assert 'name="unknown"' in exposition and "/pol " not in exposition and "secret-choice" not in exposition
    assert 'name="/poll vote",outcome="error"' in exposition
