"""The Slack adapter end to end: the real slack-bolt and slack_sdk against the loopback fake."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text as sql_text

from adapters import build_dispatcher, platform
from adapters.slack.app import SlackAdapter
from bot.app import App
from bot.config import Settings
from bot.refs import ConversationRef
from bot.replies import Reply
from bot.sealing import open_payload
from commands import build_registry
from commands.help import overview
from storage import Database
from tests.fakes import limits
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack, form, sign


@dataclass
class Slack:
    fake: FakeSlack
    adapter: SlackAdapter
    app: App
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    async def post(
        self, body: str, *, json_body: bool = False, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        content_type = "application/json" if json_body else "application/x-www-form-urlencoded"
        headers = headers if headers is not None else sign(body)
        response = await self.http.post(self.url, data=body, headers={**headers, "Content-Type": content_type})
        await response.read()
        return response

    async def command(
        self, text: str, *, user: str = "UADMIN", channel: str = "C1", name: str = "general"
    ) -> dict[str, Any]:
        command, _, rest = text.partition(" ")
        payload = self.fake.slash_command(command, rest, user=user, channel=channel, channel_name=name)
        forms = len(self.fake.views_opened)
        response = await self.post(form(payload))
        assert response.status == 200, await response.text()
        answer = await response.json() if response.content_length else {}
        if not answer and len(self.fake.views_opened) == forms:
            # Acked empty: the command overran the ack budget (a loaded machine) and is answered on
            # its response_url, as Slack shows it to the member.
            url = payload["response_url"].rsplit("/", 1)[1]
            answer = (await eventually(lambda: self.fake.answers.get(url), within=30))[-1]
        assert not (answer and limits.slack_message(answer)), limits.slack_message(answer)  # as Slack checks an ack
        return answer

    async def click(self, action_id: str, **kwargs: Any) -> aiohttp.ClientResponse:
        response = await self.post(form(self.fake.block_actions(action_id, **kwargs)))
        assert response.status == 200
        return response


async def eventually(check: Callable[[], Any], within: float = 8.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def settings_for(tmp_path: Path, fake: FakeSlack, **variables: str | None) -> Settings:
    """Slack in HTTP mode against `fake`, on a free port; `variables` change Slack's (None: unset)."""
    environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url}
    environ.update(variables)
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
        http_port=0,
        environ={name: value for name, value in environ.items() if value is not None},
    )


@contextlib.asynccontextmanager
async def slack_env(tmp_path: Path) -> AsyncIterator[Slack]:
    """The Slack adapter in HTTP mode against the fake, with two members: Dana (admin), Maria."""
    fake = await FakeSlack().start()
    fake.user("UADMIN", "Dana", admin=True, tz="America/New_York")
    fake.user("UMARIA", "Maria", tz="Europe/Berlin")
    settings = settings_for(tmp_path, fake)
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    # Started as `coalition-bot run` starts it: through the platform contract.
    adapter = await platform("slack").start(settings, app, build_dispatcher(app))
    assert isinstance(adapter, SlackAdapter)
    # slack-bolt itself answers 404 to a request not acked within 3 s, so the budget stays under it;
    # a command that overruns it on a loaded machine is answered on its response_url, where
    # `Slack.command` reads it. The tests of an overrun set their own budget.
    adapter.ack_budget = 2.5
    await app.scheduler.start()
    async with aiohttp.ClientSession() as http:
        yield Slack(fake, adapter, app, http)
    await app.inflight.drain(10)  # as a stop does: what was acknowledged is finished first
    await adapter.stop()
    await app.close()
    await fake.stop()
    assert fake.refused == [], fake.refused  # nothing the bot sent would Slack have refused


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Slack]:
    async with slack_env(tmp_path) as env:
        yield env


async def set_up(slack: Slack) -> None:
    reply = await slack.command('/coalition setup "Eastside Safety"')
    assert "is set up" in reply["text"], reply


async def test_signed_slash_command_is_answered_in_the_ack(slack: Slack) -> None:
    reply = await slack.command("/coalition help", user="UMARIA")
    assert reply["response_type"] == "ephemeral"
    assert "/coalition link" in reply["text"]
    assert reply["blocks"][0]["type"] == "section"
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [
        "help:show:broadcast",
        "help:show:coalition",
        "help:show:decision",
        "help:show:goal",
        "help:show:meeting",
        "help:show:poll",
    ]


@pytest.mark.parametrize("problem", ["bad signature", "stale timestamp", "no signature"])
async def test_requests_not_from_slack_get_401(slack: Slack, problem: str) -> None:
    body = form(slack.fake.slash_command("/coalition", "help", user="UMARIA"))
    if problem == "bad signature":
        headers = sign(body, secret="0" * 32)
    elif problem == "stale timestamp":
        headers = sign(body, timestamp=int(time.time()) - 600)
    else:
        headers = {}
    response = await slack.post(body, headers=headers)
    assert response.status == 401
    assert slack.fake.methods() == ["auth.test"]  # the token check at start; nothing ran for the request


async def test_workspace_without_a_coalition_gets_set_up_guidance(slack: Slack) -> None:
    reply = await slack.command("/broadcast list", user="UMARIA")
    assert reply["response_type"] == "ephemeral"
    assert "isn't part of a coalition yet" in reply["text"]
    assert "/coalition setup" in reply["text"]


async def test_admins_coordinate_and_profiles_supply_time_zones(slack: Slack) -> None:
    await set_up(slack)
    me = await slack.command("/coalition whoami", user="UMARIA")
    assert "a member of *Eastside Safety*" in me["text"]
    assert "Time zone: Europe/Berlin (from your profile" in me["text"]
    refused = await slack.command("/coalition link", user="UMARIA", channel="C2", name="residents")
    assert "Only coordinators" in refused["text"] and "Dana" in refused["text"]
    linked = await slack.command("/coalition link --tags residents", user="UADMIN", channel="C2", name="residents")
    assert linked["response_type"] == "in_channel"


async def test_unlinked_channel_gets_guidance(slack: Slack) -> None:
    await set_up(slack)
    reply = await slack.command("/coalition unlink", user="UADMIN", channel="C9", name="random")
    assert "isn't linked to Eastside Safety yet" in reply["text"]


async def test_click_on_an_ephemeral_message_answers_through_the_response_url(slack: Slack) -> None:
    await slack.click("help:show:coalition", user="UMARIA", ephemeral=True)
    response = await eventually(lambda: slack.fake.responses)
    assert response[0]["replace_original"] is True
    assert "/coalition link" in response[0]["text"]


async def test_click_on_a_posted_message_edits_it_with_chat_update(slack: Slack) -> None:
    await set_up(slack)
    # A message with buttons that the bot posted in the channel earlier.
    posted = await slack.adapter.messenger.send(
        ConversationRef("slack", "T0FAKE", "C1"), overview(build_registry()), key="help-post"
    )
    await slack.click("help:show:coalition", user="UMARIA", message_ts=posted.message_id)
    edited = await eventually(lambda: [m for m in slack.fake.messages["C1"] if m.get("edited")])
    assert "/coalition link" in edited[0]["text"]
    assert "chat.update" in slack.fake.methods()


async def test_stale_button_gets_a_clear_private_message(slack: Slack) -> None:
    await set_up(slack)
    await slack.click("poll:vote:99:1", user="UMARIA", ephemeral=False)
    response = await eventually(lambda: slack.fake.responses)
    assert response[0]["response_type"] == "ephemeral"
    assert "That poll no longer exists" in response[0]["text"]


async def test_broadcast_form_opens_and_its_submission_is_handled(slack: Slack) -> None:
    await set_up(slack)
    assert await slack.command("/broadcast send") == {}
    view = slack.fake.views_opened[0]["view"]
    assert view["callback_id"] == "modal:broadcast.send"
    # The update in the other language is a field of the form too (issue 32).
    assert [b["block_id"] for b in view["blocks"]] == ["text", "to", "at", "ack", "public", "es", "en"]
    empty = await slack.post(
        form(
            slack.fake.view_submission(
                view, {"text": {"value": {"type": "plain_text_input", "value": None}}}, user="UADMIN"
            )
        )
    )
    assert empty.status == 200
    assert (await empty.json()) == {"response_action": "errors", "errors": {"text": "TEXT is missing: the update"}}
    assert slack.fake.messages["C1"] == []
    values = {
        "text": {"value": {"type": "plain_text_input", "value": "Walk moved to Saturday"}},
        "ack": {"value": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
    }
    ok = await slack.post(form(slack.fake.view_submission(view, values, user="UADMIN")))
    assert ok.status == 200
    await eventually(lambda: slack.fake.ephemeral)
    assert "Broadcast #1 goes to 1 channel now" in slack.fake.ephemeral[0]["text"]
    delivered = await eventually(lambda: slack.fake.messages["C1"])
    assert "Walk moved to Saturday" in delivered[0]["text"]
    assert delivered[0]["metadata"]["event_payload"]["key"] == "broadcast:1:channel:1"


async def test_rate_limited_post_is_retried_after_retry_after(slack: Slack) -> None:
    await set_up(slack)
    slack.fake.fail["chat.postMessage"] = [429]
    slack.fake.retry_after = 1
    started = time.monotonic()
    await slack.command('/broadcast send "Budget notes are up" --no-ack')
    delivered = await eventually(lambda: slack.fake.messages["C1"])
    assert time.monotonic() - started >= 0.9
    assert len(delivered) == 1
    await asyncio.sleep(0.3)
    assert len(slack.fake.messages["C1"]) == 1


async def test_user_text_is_escaped_in_what_the_bot_posts(slack: Slack) -> None:
    await set_up(slack)
    await slack.command('/broadcast send "<!channel> *free* <https://evil.example|bank>" --no-ack')
    posted = (await eventually(lambda: slack.fake.messages["C1"]))[0]
    body = posted["blocks"][0]["text"]["text"]
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body
    assert "<https://evil.example|bank>" not in body
    assert "\u200b*\u200bfree\u200b*\u200b" in body
    assert "<!channel>" not in posted["text"]


async def test_app_home_lists_what_waits_for_the_member(slack: Slack) -> None:
    await set_up(slack)
    await slack.command('/meeting schedule "Budget review" "in 3 days at 18:00"')
    await slack.command('/broadcast send "Please read the new safety plan"')
    await eventually(lambda: slack.fake.messages["C1"])
    response = await slack.post(json.dumps(slack.fake.home_opened("UMARIA")), json_body=True)
    assert response.status == 200
    published = await eventually(lambda: slack.fake.views_published)
    view = published[-1]["view"]
    assert view["type"] == "home"
    text = json.dumps(view["blocks"])
    assert "Eastside Safety" in text and "Please read the new safety plan" in text
    assert "broadcast:ack:1" in text
    assert "Your upcoming meetings" in text and "Budget review" in text and "meeting:rsvp:1:going" in text
    await slack.command('/poll create "Which evening suits you?" Monday Thursday')
    await slack.post(json.dumps(slack.fake.home_opened("UMARIA")), json_body=True)
    view = (await eventually(lambda: len(slack.fake.views_published) > 1 and slack.fake.views_published))[-1]["view"]
    text = json.dumps(view["blocks"])
    assert "Open polls waiting for your vote" in text and "Which evening suits you?" in text
    assert "poll:vote:1:0" in text and "poll:vote:1:1" in text


async def test_poll_form_and_a_multi_choice_vote(slack: Slack) -> None:
    await set_up(slack)
    assert await slack.command("/poll create") == {}
    view = slack.fake.views_opened[0]["view"]
    assert view["callback_id"] == "modal:poll.create"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["options"]["element"]["multiline"] is True
    assert blocks["kind"]["element"]["type"] == "static_select"
    values = {
        "question": {"value": {"type": "plain_text_input", "value": "What should we bring?"}},
        "options": {"value": {"type": "plain_text_input", "value": "Chairs\nTables\nSnacks"}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "multiple"}}},
        "anonymous": {"value": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}},
    }
    ok = await slack.post(form(slack.fake.view_submission(view, values, user="UADMIN")))
    assert ok.status == 200
    card = (await eventually(lambda: slack.fake.messages["C1"]))[0]
    [menu] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert menu["type"] == "multi_static_select" and menu["max_selected_items"] == 3
    click = slack.fake.block_actions("poll:pick:1", user="UMARIA", message_ts=card["ts"])
    click["actions"] = [
        {
            "type": "multi_static_select",
            "action_id": "poll:pick:1",
            "block_id": "b1",
            "selected_options": [{"value": "0"}, {"value": "2"}],
            "action_ts": "1.0",
        }
    ]
    await slack.post(form(click))
    answer = (await eventually(lambda: slack.fake.responses))[0]
    assert answer["response_type"] == "ephemeral"
    assert "Recorded in poll #1: *Chairs* and *Snacks*" in answer["text"] and "anonymous" in answer["text"]
    # Anonymous: hidden until it closes; a vote redraws nothing and the card shows no count.
    await asyncio.sleep(0.5)
    assert not [m for m in slack.fake.messages["C1"] if m.get("edited")]
    assert "results shown when it closes" in json.dumps(card["blocks"])


async def test_socket_mode_acks_envelopes_with_the_reply(tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    fake.user("UADMIN", "Dana", admin=True)
    settings = settings_for(tmp_path, fake, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SIGNING_SECRET=None)
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    adapter = SlackAdapter(settings, app, build_dispatcher(app))
    await adapter.start()
    try:
        payload = fake.slash_command("/coalition", "help", user="UADMIN")
        ack = await fake.push("slash_commands", payload)
        assert ack["response_type"] == "ephemeral" and "/coalition link" in ack["text"]
        ack = await fake.push("interactive", fake.block_actions("help:show:coalition", user="UADMIN", ephemeral=True))
        assert ack == {}
        response = await eventually(lambda: fake.responses)
        assert "/coalition link" in response[0]["text"]
        assert "apps.connections.open" in fake.methods()
        # Slack closes the connection (a refresh, or a drop): the bot reconnects, counts it, and answers.
        await fake.drop_socket()
        await eventually(lambda: fake.socket_connections == 2)
        ack = await fake.push("slash_commands", fake.slash_command("/coalition", "help", user="UADMIN"))
        assert "/coalition link" in ack["text"]
        exposed = app.metrics.exposition().decode()
        assert 'coalition_platform_reconnects_total{platform="slack"} 1.0' in exposed
    finally:
        await adapter.stop()
        await app.close()
        await fake.stop()


async def test_exports_are_uploaded_to_the_members_dm(slack: Slack) -> None:
    await set_up(slack)
    reply = await slack.command("/coalition audit --csv")
    assert reply["response_type"] == "ephemeral"
    uploaded = await eventually(lambda: slack.fake.files)
    assert uploaded[0]["channel"] == "DADMIN" and uploaded[0]["filename"] == "coalition-audit.csv"
    assert b"/coalition setup" in uploaded[0]["content"]


async def test_a_method_outside_the_manifests_scopes_is_refused_as_on_slack(slack: Slack) -> None:
    """The fake grants exactly what the generated manifest asks for; take files:write away (as the
    manifest did before) and an export fails with missing_scope, as it would on a real workspace."""
    await set_up(slack)
    slack.fake.scopes.discard("files:write")
    await slack.command("/coalition audit --csv")
    told = await eventually(lambda: slack.fake.ephemeral)
    assert "lacks the `files:write` permission" in told[0]["text"] and "reinstalling" in told[0]["text"]
    assert not slack.fake.files


async def test_history_is_read_only_when_the_coalition_chose_it(slack: Slack) -> None:
    found = await slack.adapter.messenger.find_sent(
        ConversationRef("slack", "T0FAKE", "C1"), "some-key", reply=Reply("x"), since=datetime.now(UTC)
    )
    assert found is None and "conversations.history" not in slack.fake.methods()
    assert not {"channels:history", "groups:history", "im:history"} & slack.fake.scopes


async def test_with_history_chosen_a_crashed_send_is_found_not_repeated(tmp_path: Path) -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.slack.messenger import SlackMessenger
    from tests.fakes.slack import manifest_scopes

    fake = await FakeSlack(scopes=manifest_scopes(read_history=True)).start()
    try:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
        messenger = SlackMessenger(client, read_history=True)
        where = ConversationRef("slack", "T0FAKE", "C1")
        sent = await messenger.send(where, Reply("Road closure"), key="broadcast:1:post:1")
        since = datetime.now(UTC)
        found = await messenger.find_sent(where, "broadcast:1:post:1", reply=Reply("Road closure"), since=since)
        assert found is not None and found.message_id == sent.message_id
        assert await messenger.find_sent(where, "broadcast:2:post:1", reply=Reply("Road closure"), since=since) is None
    finally:
        await fake.stop()


async def test_linking_a_channel_the_bot_is_not_in_warns_at_once_and_status_says_how_to_fix(slack: Slack) -> None:
    await set_up(slack)
    slack.fake.members_of["C2"] = False
    linked = await slack.command("/coalition link", channel="C2", name="eastside")
    assert "now linked" in linked["text"] and "I'm not in this channel yet" in linked["text"]
    assert "/invite @coalition-bot" in linked["text"]
    assert "not in this channel" not in (await slack.command("/coalition link --tags all"))["text"]
    await slack.command('/broadcast send "Budget notes are up" --no-ack')
    await eventually(lambda: slack.fake.messages["C1"])
    status = ""
    for _ in range(100):
        status = (await slack.command("/broadcast status 1"))["text"]
        if "failed" in status:
            break
        await asyncio.sleep(0.05)
    assert "#eastside" in status and "invite it there with /invite @coalition-bot" in status, status
    report = await eventually(
        lambda: [m for ms in slack.fake.messages.values() for m in ms if "failed" in (m.get("text") or "")]
    )
    assert "#eastside on slack: failed: the bot is not in this channel: invite it there" in report[-1]["text"]


@pytest.mark.parametrize("budget", [2.0, 0.0], ids=["in-time", "overrun"])
async def test_a_replayed_signed_request_is_carried_out_once(slack: Slack, budget: float) -> None:
    """Whether the answer fits in the ack (the usual case) or the command overruns the ack budget
    and is answered on its response_url (a loaded machine), the replay is carried out once."""
    await set_up(slack)
    slack.adapter.ack_budget = budget
    payload = slack.fake.slash_command("/coalition", 'feedback "Start the forum later"', user="UMARIA")
    body = form(payload)
    headers = sign(body)
    first = await slack.post(body, headers=headers)
    again = await slack.post(body, headers=headers)  # the same bytes, the same signature, within 5 minutes
    assert first.status == again.status == 200
    texts = [(await r.json())["text"] for r in (first, again) if r.content_length]
    later = 2 - len(texts)  # answered on the request's response_url instead of in the ack
    assert later == (2 if budget == 0 else 0)
    if later:
        url = payload["response_url"].rsplit("/", 1)[1]
        texts += [
            a["text"]
            for a in await eventually(lambda: len(slack.fake.answers.get(url, [])) >= later and slack.fake.answers[url])
        ]
    assert sum("Thank you" in t for t in texts) == 1, texts
    assert sum("arrived twice; it was carried out once" in t for t in texts) == 1, texts
    async with slack.app.db.engine.connect() as conn:  # feedback waits for its quarter-hour batch
        queued = (await conn.execute(sql_text("SELECT payload FROM outbox WHERE source = 'feedback'"))).all()
    assert len([p for (p,) in queued if "Start the forum later" in open_payload(p, slack.app.secret)]) == 1
    assert not any("Start the forum later" in p for (p,) in queued)  # sealed until its batch goes
    click = form(slack.fake.block_actions("help:show:coalition", user="UMARIA", ephemeral=True))
    click_headers = sign(click)
    responses = len(slack.fake.responses)
    await slack.post(click, headers=click_headers)
    await slack.post(click, headers=click_headers)
    await eventually(lambda: slack.app.inflight.open == 0)  # both clicks are finished with
    assert len(slack.fake.responses) == responses + 1


async def test_the_poll_form_holds_25_options_of_full_length(slack: Slack) -> None:
    """Each option may be as long as an option may be; the field holds all 25 (a field limited to
    75 characters in all would stop a member after a few ordinary options)."""
    await set_up(slack)
    await slack.command("/poll create")
    view = slack.fake.views_opened[0]["view"]
    options = [f"Option {n:02d}: " + "x" * 64 for n in range(1, 26)]
    assert all(len(o) == 75 for o in options)
    values = {
        "question": {"value": {"type": "plain_text_input", "value": "Which would you choose?"}},
        "options": {"value": {"type": "plain_text_input", "value": "\n".join(options)}},
    }
    await slack.post(form(slack.fake.view_submission(view, values, user="UADMIN")))
    card = (await eventually(lambda: slack.fake.messages["C1"]))[0]
    assert "Option 25" in json.dumps(card["blocks"])


async def test_the_add_an_option_button_opens_the_form_with_the_poll_filled_in(slack: Slack) -> None:
    await set_up(slack)
    await slack.command('/poll create "Topics for the forum?" Housing Lighting --open')
    card = (await eventually(lambda: slack.fake.messages["C1"]))[0]
    [add] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"] if "form:" in e["action_id"]]
    await slack.click(add["action_id"], user="UMARIA", message_ts=card["ts"])
    view = (await eventually(lambda: slack.fake.views_opened))[0]["view"]
    assert view["callback_id"] == "modal:poll.add"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["id"]["element"]["initial_value"] == "1"
    values = {
        "id": {"value": {"type": "plain_text_input", "value": "1"}},
        "option": {"value": {"type": "plain_text_input", "value": "Youth night"}},
    }
    ok = await slack.post(form(slack.fake.view_submission(view, values, user="UMARIA")))
    assert ok.status == 200
    edited = await eventually(lambda: [m for m in slack.fake.messages["C1"] if "Youth night" in json.dumps(m)])
    assert "3. Youth night" in json.dumps(edited[-1]["blocks"])
