"""Members on email (issue 29), end to end: a real SMTP server on loopback (aiosmtpd), every message
read back with the standard library's parser, and every link followed over HTTP as a browser and a
mail scanner would follow it."""

from __future__ import annotations

import asyncio
import email
import html
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import recurring_ical_events
from aiosmtpd.controller import Controller
from icalendar import Calendar
from sqlalchemy import inspect, text

from adapters import build_dispatcher
from adapters.email.platform import EmailPlatform
from bot.app import App
from bot.clock import SimulatedClock
from bot.config import Settings
from storage import Database
from tests.conftest import START, migrated_database
from tests.harness import Harness, shown
from tests.test_public_page import AXE, browser  # noqa: F401 (fixture)
from tests.test_slack_process import free_port

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/e/[A-Za-z0-9_\-.]+)")


@dataclass
class Inbox:
    """The SMTP server's side: what it accepted, and what it is told to refuse."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # as they crossed the wire
    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 ..." answer
    down: bool = False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.down:
            return "421 try again later"
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class Mail:
    bot: Harness
    app: App
    inbox: Inbox
    http: aiohttp.ClientSession

    async def deliver(self) -> None:
        await self.app.scheduler.run_due()


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None, f"no {kind} part"
    return part.get_content()


def links(message: EmailMessage) -> dict[str, str]:
    """Each link of the plain-text part by its label ("Acknowledge: http://...")."""
    found = {}
    for line in body(message, "plain").splitlines():
        match = LINK.search(line)
        if match:
            found[line[: match.start()].rstrip(": ").strip() or "?"] = match.group(1)
    return found


async def state_of(app: App, address: str) -> str | None:
    async with app.db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT state FROM email_addresses WHERE address = :a"), {"a": address})).first()
    return row[0] if row else None


@pytest.fixture
async def mail(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Mail]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    db: Database = await migrated_database("sqlite", tmp_path, tmp_path_factory.getbasetemp())
    environ = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "EMAIL_FROM": "Eastside Coalition <bot@example.org>",
        "EMAIL_REPLY_TO": "coordinators@example.org",
    }
    settings = Settings(database_url=db.url, http_port=0, anonymity_secret="m" * 48, environ=environ)
    app = App(settings, db, SimulatedClock(START))
    dispatcher = build_dispatcher(app)
    running = await EmailPlatform().start(settings, app, dispatcher)
    await app.serve_http()
    bot = Harness(dispatcher)
    await bot.start("Eastside Coalition")
    async with aiohttp.ClientSession() as http:
        yield Mail(bot, app, inbox, http)
    await running.stop()
    await app.close()
    controller.stop()


async def add_and_confirm(mail: Mail, address: str, *extra: str) -> EmailMessage:
    added = await mail.bot.run(f"/coalition email add {address} {' '.join(extra)}")
    assert not added.error, shown(added)
    await mail.deliver()
    confirmation = mail.inbox.to(address)[-1]
    yes = next(url for label, url in links(confirmation).items() if label.startswith(("Yes", "Sí")))
    async with mail.http.get(yes) as page:
        form = re.search(r'name="form" value="([^"]+)"', await page.text())
    assert form is not None
    async with mail.http.post(yes, data={"form": form.group(1)}) as done:
        assert done.status == 200, await done.text()
    return confirmation


async def test_an_address_takes_part_only_after_its_owner_confirms(mail: Mail) -> None:
    reply = await mail.bot.run('/coalition email add ana@example.org --name "Ana Ruiz" --sector resident')
    assert "confirmation email is on its way" in shown(reply) and reply.private
    await mail.bot.run('/broadcast send "Before she confirms"')
    await mail.deliver()
    [confirmation] = mail.inbox.to("ana@example.org")  # the confirmation only: no broadcast yet
    assert "would like to send you" in body(confirmation, "plain")
    assert confirmation["From"].addresses[0].addr_spec == "bot@example.org"
    assert confirmation["Reply-To"] == "coordinators@example.org"
    assert confirmation["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert confirmation["List-Unsubscribe"].startswith("<http://127.0.0.1:")
    assert b"\nList-Unsubscribe: <http://127.0.0.1:" in mail.inbox.raw[0].replace(b"\r\n", b"\n")  # not encoded
    assert confirmation["Auto-Submitted"] == "auto-generated"
    assert confirmation["Message-ID"] and confirmation["Date"] and confirmation["List-Id"]
    assert "<a href=" in body(confirmation, "html")
    # A mail scanner opens every link: nothing changes.
    for url in links(confirmation).values():
        async with mail.http.get(url) as page:
            assert page.status == 200
            assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
            assert "<form" in await page.text()
    assert await state_of(mail.app, "ana@example.org") == "waiting"
    # A POST without the page's form token acts on nothing either.
    yes = next(url for label, url in links(confirmation).items() if label.startswith("Yes"))
    async with mail.http.post(yes, data={"form": "forged"}) as refused:
        assert refused.status == 403
    assert await state_of(mail.app, "ana@example.org") == "waiting"
    async with mail.http.get(yes) as page:
        token = re.search(r'name="form" value="([^"]+)"', await page.text())
    assert token is not None
    async with mail.http.post(yes, data={"form": token.group(1)}) as done:
        assert done.status == 200 and "Thank you" in await done.text()
    assert await state_of(mail.app, "ana@example.org") == "active"
    listed = shown(await mail.bot.run("/coalition email list"))
    assert "ana@example.org (Ana Ruiz): active" in listed


async def test_a_broadcast_is_mailed_and_acknowledged_through_its_link(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    sent = await mail.bot.run('/broadcast send "Road closure on Main St <script>alert(1)</script>"')
    assert not sent.error, shown(sent)
    await mail.deliver()
    broadcast = mail.inbox.to("ana@example.org")[-1]
    assert "Road closure on Main St" in body(broadcast, "plain")
    html_part = body(broadcast, "html")
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part  # what was typed stays inert
    assert "Auto-Submitted" not in broadcast  # a post to the list, not an automatic notice
    [ack] = [url for label, url in links(broadcast).items() if "cknowledge" in label]
    async with mail.http.get(ack) as page:
        assert page.status == 200
    async with mail.app.db.engine.connect() as conn:  # opening the link acknowledged nothing
        assert (await conn.execute(text("SELECT count(*) FROM acknowledgements"))).scalar_one() == 0
    async with mail.http.get(ack) as page:
        token = re.search(r'name="form" value="([^"]+)"', await page.text())
    assert token is not None
    async with mail.http.post(ack, data={"form": token.group(1)}) as done:
        assert done.status == 200, await done.text()
    async with mail.app.db.engine.connect() as conn:
        acks = (await conn.execute(text("SELECT count(*) FROM acknowledgements"))).scalar_one()
    assert acks == 1


async def test_links_that_are_changed_expired_or_of_a_member_who_left_open_nothing(mail: Mail) -> None:
    confirmation = await add_and_confirm(mail, "ana@example.org")
    leave = next(url for label, url in links(confirmation).items() if "Leave" in label or "leave" in label)
    tampered = leave[:-3] + ("A" if leave[-3] != "A" else "B") + leave[-2:]
    async with mail.http.get(tampered) as page:
        assert page.status == 404 and "damaged" in await page.text()
    # One click from the mailbox provider (RFC 8058): leaves, no page.
    async with mail.http.post(leave, data={"List-Unsubscribe": "One-Click"}) as done:
        assert done.status == 200
    assert await state_of(mail.app, "ana@example.org") == "left"
    async with mail.http.get(leave) as page:
        assert page.status == 410 and "no longer works" in await page.text()
    await mail.bot.run('/broadcast send "After she left"')
    await mail.deliver()
    assert not any("After she left" in body(m, "plain") for m in mail.inbox.to("ana@example.org"))
    # Added again: a fresh confirmation; a link 61 days old has expired.
    await mail.bot.run("/coalition email add ana@example.org")
    await mail.deliver()
    fresh = mail.inbox.to("ana@example.org")[-1]
    clock = mail.app.clock
    assert isinstance(clock, SimulatedClock)
    clock.set(clock.now() + timedelta(days=61))
    yes = next(url for label, url in links(fresh).items() if label.startswith("Yes"))
    async with mail.http.get(yes) as page:
        assert page.status == 410 and "expired" in await page.text()


async def test_an_address_the_server_refuses_fails_with_the_reason_and_the_others_go(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    await add_and_confirm(mail, "ben@example.org")
    mail.inbox.refuse["ben@example.org"] = "550 5.1.1 no such user"
    await mail.bot.run('/broadcast send "Budget notes are up"')
    await mail.deliver()
    assert any("Budget notes" in body(m, "plain") for m in mail.inbox.to("ana@example.org"))
    assert not any("Budget notes" in body(m, "plain") for m in mail.inbox.to("ben@example.org"))
    async with mail.app.db.engine.connect() as conn:
        failed = (
            await conn.execute(text("SELECT status, last_error FROM outbox WHERE kind = 'post' AND status = 'failed'"))
        ).all()
    assert len(failed) == 1 and "550 5.1.1 no such user" in failed[0][1]


async def test_the_server_down_for_an_hour_then_every_message_goes_once(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    mail.inbox.down = True
    await mail.bot.run('/broadcast send "During the outage"')
    await mail.deliver()
    assert not any("During the outage" in body(m, "plain") for m in mail.inbox.messages)
    mail.inbox.down = False
    await mail.app.scheduler.advance_to(mail.app.clock.now() + timedelta(hours=1))  # type: ignore[attr-defined]
    await mail.deliver()
    got = [m for m in mail.inbox.to("ana@example.org") if "During the outage" in body(m, "plain")]
    assert len(got) == 1


async def test_bad_addresses_are_refused_with_the_usage_and_nothing_is_written(mail: Mail) -> None:
    for typed in ("not-an-address", '"a@b.org\r\nBcc: victim@example.org"', "a@b"):
        reply = await mail.bot.run(f"/coalition email add {typed}")
        assert reply.error and "Usage" in reply.text, shown(reply)
    async with mail.app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM email_addresses"))).scalar_one() == 0
    member = await mail.bot.run("/coalition email list", as_="maria")
    assert member.error  # coordinators only: addresses are personal data


async def test_forget_me_erases_the_address(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    async with mail.app.unit_of_work() as services:
        row = (await services.email.listed((await services.coalitions.resolve(mail.bot.where("general"))).coalition))[0]  # type: ignore[arg-type]
        member = row[1]
        await services.governance.forget(member)
        await services.commit()
    database = Path(mail.app.db.url.partition(":///")[2])
    for file in (database, database.with_name(database.name + "-wal")):  # as an attacker reads them
        raw = file.read_bytes() if file.exists() else b""
        assert b"ana@example.org" not in raw, file
    async with mail.app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM email_addresses"))).scalar_one() == 0


async def press(mail: Mail, url: str) -> str:
    """Open a link as its member does (the page), then press the page's button (the POST)."""
    async with mail.http.get(url) as page:
        assert page.status == 200, await page.text()
        token = re.search(r'name="form" value="([^"]+)"', await page.text())
    assert token is not None
    async with mail.http.post(url, data={"form": token.group(1)}) as done:
        return f"{done.status} {html.unescape(await done.text())}"


async def test_every_meeting_and_poll_reaches_members_on_email_and_their_links_answer(mail: Mail) -> None:
    """No tag to ask for: an email member gets each announcement, answers through its links, and
    the answer lands on the same RSVP list and tally as chat members' answers."""
    await add_and_confirm(mail, "ana@example.org", "--name Ana")
    await mail.bot.run('/meeting schedule "Budget review" "2026-11-24 18:00"')
    await mail.bot.run('/poll create "Lunch?" Pizza Tacos')
    await mail.deliver()
    meeting = next(m for m in mail.inbox.to("ana@example.org") if "Budget review" in body(m, "plain"))
    [calendar] = [part for part in meeting.iter_attachments() if part.get_content_type() == "text/calendar"]
    events = recurring_ical_events.of(Calendar.from_ical(calendar.get_content())).between(
        START, START + timedelta(days=2)
    )
    assert [str(e["summary"]) for e in events] == ["Budget review"]  # one click adds it to a calendar
    poll = next(m for m in mail.inbox.to("ana@example.org") if "Lunch?" in body(m, "plain"))
    assert poll["References"] and poll["References"] != meeting["References"]  # each thread of its own
    assert "Going" in links(meeting) and set(links(poll)) >= {"Pizza", "Tacos"}
    assert "Recorded: Going for Budget review" in await press(mail, links(meeting)["Going"])
    assert not (await mail.bot.run("/meeting rsvp 1 maybe", as_="maria")).error  # a chat member, same list
    shown_meeting = shown(await mail.bot.run("/meeting show 1"))
    assert re.search(r"Going\W+1", shown_meeting) and re.search(r"Maybe\W+1", shown_meeting), shown_meeting
    assert "Recorded in poll #1: Tacos" in await press(mail, links(poll)["Tacos"])
    assert "Recorded in poll #1: Pizza" in await press(mail, links(poll)["Pizza"])  # a change of mind
    await mail.bot.click("poll:vote:1:0", as_="maria")
    results = shown(await mail.bot.run("/poll results 1"))
    assert re.search(r"Pizza\W+2 votes", results), results
    await mail.deliver()
    async with mail.app.db.engine.connect() as conn:  # a sent email cannot change: no edit is queued
        edits = (
            await conn.execute(text("SELECT count(*) FROM outbox WHERE platform = 'email' AND kind = 'edit'"))
        ).scalar_one()
    assert edits == 0


async def test_an_anonymous_vote_by_email_leaves_no_row_that_links_the_address_to_the_choice(mail: Mail) -> None:
    """Played as someone with a copy of the database: the ballot names no member, its choice is
    sealed, and nothing the vote wrote carries the member's address or email id."""
    await add_and_confirm(mail, "ana@example.org")
    await mail.bot.run('/poll create "Chief?" Keep Replace --anonymous')
    await mail.deliver()
    poll = next(m for m in mail.inbox.to("ana@example.org") if "Chief?" in body(m, "plain"))
    async with mail.app.db.engine.connect() as conn:
        user_id = (await conn.execute(text("SELECT user_id FROM members WHERE platform = 'email'"))).scalar_one()
        before = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    assert "Recorded in poll #1" in await press(mail, links(poll)["Replace"])
    async with mail.app.db.engine.connect() as conn:
        ballots = (await conn.execute(text("SELECT voter_key, member_id, choices, cast_at FROM ballots"))).all()
        after = (await conn.execute(text("SELECT payload, user_id, channel_id FROM outbox ORDER BY id"))).all()
    assert len(ballots) == 1
    voter_key, member_id, choices, cast_at = ballots[0]
    assert member_id is None and cast_at is None and choices.startswith("s2:") and user_id not in voter_key
    written = after[before:]
    assert not [row for row in written if user_id in str(row) or "ana@example.org" in str(row)]


async def test_every_email_can_erase_its_member_and_my_data_holds_the_address(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    async with mail.app.unit_of_work() as services:
        coalition = (await services.coalitions.resolve(mail.bot.where("general"))).coalition
        assert coalition is not None
        member = (await services.email.listed(coalition))[0][1]
        exported = (await services.governance.export(member, coalition)).decode()
    assert '"address": "ana@example.org"' in exported and '"state": "active"' in exported
    await mail.bot.run('/broadcast send "Park cleanup Saturday"')
    await mail.deliver()
    latest = mail.inbox.to("ana@example.org")[-1]
    [erase] = [url for label, url in links(latest).items() if label.startswith("Erase everything")]
    assert "Erase my data" in body(latest, "html")
    assert "Done: everything the bot held about you is erased" in await press(mail, erase)
    assert await state_of(mail.app, "ana@example.org") is None
    async with mail.http.get(erase) as page:
        assert page.status == 410


async def test_a_spanish_member_reads_the_mail_and_its_pages_in_spanish(mail: Mail) -> None:
    await mail.bot.run("/coalition email add ana@example.org --language es")
    await mail.deliver()
    [confirmation] = mail.inbox.to("ana@example.org")
    text_part = body(confirmation, "plain")
    assert "quiere enviarle por correo" in text_part and "Darse de baja" in text_part
    assert confirmation["Content-Language"] == "es"
    assert '<html lang="es">' in body(confirmation, "html")
    yes = next(url for label, url in links(confirmation).items() if label.startswith("Sí"))
    async with mail.http.get(yes) as page:
        shown_page = await page.text()
    assert '<html lang="es">' in shown_page and "Confirme su elección" in shown_page
    assert "Gracias" in await press(mail, yes)
    for english in ("would like", "Leave", "Confirm your choice"):
        assert english not in text_part + shown_page, english


async def test_three_refusals_in_a_row_pause_an_address_and_coordinators_are_told(mail: Mail) -> None:
    await add_and_confirm(mail, "ben@example.org")
    mail.inbox.refuse["ben@example.org"] = "550 5.2.1 mailbox disabled"
    for n in range(3):
        await mail.bot.run(f'/broadcast send "Update {n}"')
        await mail.deliver()
    listed = shown(await mail.bot.run("/coalition email list"))
    assert "ben@example.org" in listed and "paused after failed deliveries" in listed and "mailbox disabled" in listed
    doctor = shown(await mail.bot.run("/coalition doctor"))
    assert "1 address is paused" in doctor
    await mail.bot.run('/broadcast send "After the pause"')
    await mail.deliver()
    async with mail.app.db.engine.connect() as conn:  # not even tried: the address is paused
        tried = (
            await conn.execute(
                text("SELECT last_error FROM outbox WHERE payload LIKE '%After the pause%' AND platform = 'email'")
            )
        ).scalar_one()
    assert "paused" in tried


async def axe_violations(driver: Any) -> list[Any]:
    await asyncio.to_thread(driver.execute_script, AXE.read_text())
    found = await asyncio.to_thread(
        driver.execute_async_script,
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.length])));",
    )
    return [v for v in found if v[1] in ("serious", "critical")]


async def test_a_member_votes_in_chromium_through_the_pages_and_axe_finds_nothing_serious(
    mail: Mail,
    browser: Any,  # noqa: F811
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    await add_and_confirm(mail, "ana@example.org")
    await mail.bot.run('/poll create "Where should the forum meet?" Library "Community center"')
    await mail.deliver()
    poll = next(m for m in mail.inbox.to("ana@example.org") if "forum meet" in body(m, "plain"))
    await asyncio.to_thread(browser.get, links(poll)["Library"])
    page = await asyncio.to_thread(lambda: browser.find_element(By.TAG_NAME, "main").text)
    assert "You chose: Library" in page
    assert await axe_violations(browser) == []
    await asyncio.to_thread(lambda: browser.find_element(By.TAG_NAME, "button").click())

    def shown_after_post(driver: Any) -> str | bool:
        text = driver.find_element(By.TAG_NAME, "main").text
        return text if "Recorded" in text else False

    def answered() -> str:  # the page the form's POST brought, once the browser shows it
        return WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(shown_after_post)

    done = await asyncio.to_thread(answered)
    assert "Recorded in poll #1: Library" in done
    assert await axe_violations(browser) == []
    results = shown(await mail.bot.run("/poll results 1"))
    assert re.search(r"Library\W+1 vote", results), results


# One coalition across platforms ------------------------------------------------------------------


async def test_one_rsvp_list_from_slack_and_email_and_one_anonymous_tally_from_discord_and_email(
    tmp_path: Path,
) -> None:
    """The coalition's reason to exist, now with email: a meeting scheduled in Slack is answered
    from Slack and from an email link onto one list; an anonymous poll started in Discord is voted
    from Discord and from an email link into one tally."""
    from adapters.discord.app import DiscordAdapter
    from adapters.slack.app import SlackAdapter
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.slack import FakeSlack
    from tests.sides import DiscordSide, discord_post, slack_post, slack_seen
    from tests.test_discord import GENERAL, discord_settings, text_of
    from tests.test_slack import Slack, eventually, settings_for

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    slack_fake = await FakeSlack().start()
    slack_fake.user("UADMIN", "Dana", admin=True)
    slack_fake.user("UMARIA", "Maria")
    discord_fake = await FakeDiscord().start()
    environ = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "EMAIL_FROM": "bot@example.org",
    }
    slack_settings = settings_for(tmp_path, slack_fake)
    settings = replace(
        slack_settings,
        environ={**slack_settings.environ, **discord_settings(tmp_path, discord_fake).environ, **environ},
        http_port=0,
    )
    db = Database(settings.database_url)
    await db.upgrade()
    app = App(settings, db)
    dispatcher = build_dispatcher(app)
    email_running = await EmailPlatform().start(settings, app, dispatcher)
    slack_adapter = SlackAdapter(settings, app, dispatcher)
    await slack_adapter.start()
    discord_adapter = DiscordAdapter(settings, app, dispatcher)
    await asyncio.wait_for(discord_adapter.start(), 20)
    await app.scheduler.start()
    try:
        async with aiohttp.ClientSession() as http:
            slack = Slack(slack_fake, slack_adapter, app, http)
            mail = Mail(Harness(dispatcher), app, inbox, http)
            assert "is set up" in (await slack.command('/coalition setup "Eastside"'))["text"]
            invite = (await slack.command("/coalition invite"))["text"]
            code = invite.split("`")[1]
            admin = discord_fake.member("5500000000000000001", "Kim", manage_guild=True)
            voter = discord_fake.member("5500000000000000002", "Lee")
            assert "has joined" in text_of(
                await discord_fake.slash("coalition", "join", {"code": code}, admin, GENERAL)
            )
            await slack.command("/coalition email add ana@example.org --name Ana")
            confirmation = await eventually(lambda: inbox.to("ana@example.org"))
            yes = next(url for label, url in links(confirmation[0]).items() if label.startswith("Yes"))
            assert "200" in await press(mail, yes)

            await slack.command('/meeting schedule "Forum" --when "tomorrow 6pm"')
            card = await eventually(lambda: [m for m in inbox.to("ana@example.org") if "Forum" in body(m, "plain")])
            assert "Recorded: Can't go for Forum" in await press(mail, links(card[0])["Can't go"])
            slack_card = slack_post(next(m for m in slack_fake.messages["C1"] if "Forum" in json.dumps(m)))
            await slack.click(slack_card.buttons["Going"], user="UMARIA", message_ts=slack_card.id)
            await eventually(lambda: app.inflight.open == 0)
            shown_meeting = slack_seen((await slack.command("/meeting show 1"))["text"])
            assert re.search(r"Going\W+1", shown_meeting) and re.search(r"Can't go\W+1", shown_meeting), shown_meeting

            side = DiscordSide(discord_fake, app.inflight)
            command, sub, options = side._options('/poll create "Chief?" Keep Replace --anonymous')
            started = await discord_fake.slash(command, sub, options, admin, GENERAL)
            assert "Poll #1" in text_of(started), text_of(started)
            ballot = await eventually(lambda: [m for m in inbox.to("ana@example.org") if "Chief?" in body(m, "plain")])
            assert "Recorded in poll #1" in await press(mail, links(ballot[0])["Replace"])
            message = next(m for m in discord_fake.messages[GENERAL] if "Chief?" in json.dumps(m))
            await discord_fake.click(discord_post(message).buttons["Replace"], message, voter)
            await discord_fake.click(discord_post(message).buttons["Keep"], message, admin)  # three: counts shown
            await eventually(lambda: app.inflight.open == 0)
            await slack.command("/poll close 1")
            results = slack_seen((await slack.command("/poll results 1"))["text"])
            assert re.search(r"Replace\W+2 votes", results) and re.search(r"Keep\W+1 vote", results), results
    finally:
        await app.inflight.drain(10)
        await app.scheduler.stop()
        await discord_adapter.stop()
        await slack_adapter.stop()
        await email_running.stop()
        await app.close()
        await slack_fake.stop()
        await discord_fake.stop()
        controller.stop()


async def test_a_resident_subscribes_on_the_public_page_and_takes_part_after_confirming(mail: Mail) -> None:
    assert "on" in shown(await mail.bot.run("/coalition page on"))
    async with mail.app.unit_of_work() as services:
        slug = (await services.coalitions.resolve(mail.bot.where("general"))).coalition.page_slug  # type: ignore[union-attr]
    base = f"{mail.app.public_base()}/c/{slug}"
    async with mail.http.get(f"{base}/") as page:
        assert "/join" in await page.text()
    async with mail.http.get(f"{base}/join") as form:
        assert form.status == 200 and 'type="email"' in await form.text()
        assert "form-action 'self'" in form.headers["Content-Security-Policy"]
    assert await state_of(mail.app, "rosa@example.org") is None  # opening the form asked nothing
    async with mail.http.post(f"{base}/join", data={"address": "not an address", "language": "es"}) as bad:
        assert bad.status == 400 and "no es una dirección de correo" in html.unescape(await bad.text())
    async with mail.http.post(f"{base}/join", data={"address": "rosa@example.org", "language": "es"}) as sent:
        said = html.unescape(await sent.text())
    assert sent.status == 200 and "Si esta dirección puede recibir correo" in said
    await mail.deliver()
    [confirmation] = mail.inbox.to("rosa@example.org")
    assert "quiere enviarle por correo" in body(confirmation, "plain")
    assert await state_of(mail.app, "rosa@example.org") == "waiting"
    # Already on the list: the same answer, and no mail (the page says nothing about who is on it).
    await press(mail, next(url for label, url in links(confirmation).items() if label.startswith("Sí")))
    async with mail.http.post(f"{base}/join", data={"address": "rosa@example.org", "language": "es"}) as again:
        assert html.unescape(await again.text()) == said
    await mail.deliver()
    assert len(mail.inbox.to("rosa@example.org")) == 1


async def choose(mail: Mail, url: str, *values: str) -> str:
    """Open a menu's link, tick `values` on its page, send."""
    async with mail.http.get(url) as page:
        text_of_page = await page.text()
        assert page.status == 200, text_of_page
    token = re.search(r'name="form" value="([^"]+)"', text_of_page)
    assert token is not None
    data = [("form", token.group(1)), *(("value", v) for v in values)]
    async with mail.http.post(url, data=data) as done:
        return f"{done.status} {html.unescape(await done.text())}"


async def test_every_poll_kind_is_answered_by_email(mail: Mail) -> None:
    """Multiple choice, ranked, a scheduling poll and a survey: each menu is one link whose page
    lists its options; what is sent there is what a click in chat would send."""
    await add_and_confirm(mail, "ana@example.org")
    await mail.bot.run('/poll create "Snacks?" Fruit Chips Cake --kind multiple --max 2')
    await mail.bot.run('/poll create "Chair?" Rosa Ben Kim --kind ranked')
    await mail.bot.run('/poll when "Forum" "2026-11-25 18:00" "2026-11-26 18:00"')
    await mail.bot.run('/poll survey "Partnership" "Police listen to residents"')
    await mail.deliver()
    inbox = mail.inbox.to("ana@example.org")

    def mail_about(words: str) -> dict[str, str]:
        return links(next(m for m in inbox if words in body(m, "plain")))

    snacks = mail_about("Snacks?")
    [menu] = [url for label, url in snacks.items() if "Choose up to 2" in label]
    async with mail.http.get(menu) as page:
        shown_page = await page.text()
    assert shown_page.count('type="checkbox"') == 3 and "Fruit" in shown_page
    assert (await choose(mail, menu, "0", "1", "2")).startswith("400")  # three of at most two
    assert "Recorded in poll #1" in await choose(mail, menu, "0", "2")
    assert re.search(r"Fruit\W+1 vote", shown(await mail.bot.run("/poll results 1")))

    chair = mail_about("Chair?")
    first = next(url for label, url in chair.items() if label.startswith("1st"))
    assert "Recorded in poll #2" in await choose(mail, first, "1")  # Ben first

    forum = mail_about("Forum")
    [slots] = [url for label, url in forum.items() if "Choose" in label]
    assert "Recorded in poll #3" in await choose(mail, slots, "0", "1")
    async with mail.app.db.engine.connect() as conn:  # what each ballot holds (these polls are not anonymous)
        ballots = dict((await conn.execute(text("SELECT poll_id, choices FROM ballots ORDER BY poll_id"))).all())
    assert ballots == {1: "0,2", 2: "1", 3: "0,1"}

    survey = mail_about("Partnership")
    [statement] = [url for label, url in survey.items() if "Police listen" in label]
    assert "200" in (await choose(mail, statement, "4"))[:3]
    async with mail.app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM survey_responses"))).scalar_one() == 1


async def test_a_member_changes_language_time_zone_and_reminders_by_link(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    confirmation_answer = mail.inbox.to("ana@example.org")[-1]
    await mail.bot.run('/broadcast send "Agenda is up"')
    await mail.deliver()
    latest = mail.inbox.to("ana@example.org")[-1]
    assert latest is not confirmation_answer
    settings = next(url for label, url in links(latest).items() if label.startswith("Your language"))
    async with mail.http.get(settings) as page:
        form = await page.text()
    token = re.search(r'name="form" value="([^"]+)"', form)
    assert token is not None and 'name="zone"' in form
    async with mail.http.post(settings, data={"form": token.group(1), "zone": "Mars/Olympus"}) as refused:
        assert refused.status == 400  # the command's own check: a zone that does not exist
    data = {"form": token.group(1), "language": "es", "zone": "America/Chicago", "reminders": "off"}
    async with mail.http.post(settings, data=data) as saved:
        said = html.unescape(await saved.text())
    assert saved.status == 200 and "Hecho" in said, said
    async with mail.app.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT language, timezone, reminder_minutes FROM members WHERE platform = 'email'")
            )
        ).one()
    assert row[0] == "es" and row[1] == "America/Chicago" and row[2] in ("[]", [])
    await mail.bot.run('/meeting schedule "Forum" "2026-11-24 18:00"')
    await mail.deliver()
    announced = next(m for m in mail.inbox.to("ana@example.org") if "Forum" in body(m, "plain"))
    assert "12:00" in body(announced, "plain")  # 18:00 UTC, shown in Chicago time
    assert "Darse de baja" in body(announced, "plain") and "Voy" in links(announced)  # and in Spanish


async def test_the_week_ahead_comes_by_email_on_monday_mornings_until_turned_off(mail: Mail) -> None:
    await add_and_confirm(mail, "ana@example.org")
    await mail.bot.run('/meeting schedule "Forum" "2026-12-01 18:00"')
    clock = mail.app.clock
    assert isinstance(clock, SimulatedClock)
    await mail.app.scheduler.advance_to(clock.now() + timedelta(days=7, minutes=5))  # Monday 30 Nov, 9:05
    digests = [m for m in mail.inbox.to("ana@example.org") if "The week ahead" in body(m, "plain")]
    assert len(digests) == 1 and "Forum" in body(digests[0], "plain")
    settings = next(url for label, url in links(digests[0]).items() if label.startswith("Your language"))
    async with mail.http.get(settings) as page:
        token = re.search(r'name="form" value="([^"]+)"', await page.text())
    assert token is not None
    async with mail.http.post(settings, data={"form": token.group(1), "digest": "off"}) as saved:
        assert saved.status == 200, await saved.text()
    await mail.app.scheduler.advance_to(clock.now() + timedelta(days=7))
    assert len([m for m in mail.inbox.to("ana@example.org") if "The week ahead" in body(m, "plain")]) == 1


async def everything_stored(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as a copy of the database would show it."""
    async with app.db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        return {
            name: sorted(map(tuple, (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()), key=repr)
            for name in names
        }


async def test_opening_every_link_of_every_email_changes_nothing_and_a_card_shows_as_it_stands(mail: Mail) -> None:
    """Mail scanners open every link. The card pages (an email cannot change) show the counts of
    now, in the member's zone, and are as read-only as the rest."""
    await add_and_confirm(mail, "ana@example.org", "--name Ana")
    await mail.bot.run('/meeting schedule "Budget review" "2026-11-24 18:00"')
    await mail.bot.run('/poll create "Lunch?" Pizza Tacos')
    await mail.bot.run('/broadcast send "Road closed"')
    await mail.deliver()
    meeting = next(m for m in mail.inbox.to("ana@example.org") if "Budget review" in body(m, "plain"))
    poll = next(m for m in mail.inbox.to("ana@example.org") if "Lunch?" in body(m, "plain"))
    assert "As it stands now" in links(meeting) and "As it stands now" in links(poll)
    assert "See it as it stands now" in body(meeting, "html")
    assert not (await mail.bot.run("/meeting rsvp 1 maybe", as_="maria")).error  # after the email went
    before = await everything_stored(mail.app)
    for message in mail.inbox.to("ana@example.org"):
        for url in links(message).values():
            async with mail.http.get(url) as page:
                assert page.status == 200, (url, await page.text())
    assert await everything_stored(mail.app) == before
    async with mail.http.get(links(meeting)["As it stands now"]) as page:
        shown_page = html.unescape(await page.text())
    assert re.search(r"Going\W+0", shown_page) and re.search(r"Maybe\W+1", shown_page), shown_page
    assert "<form" not in shown_page  # it only shows: its buttons are the member's own links
    assert 'href="http://127.0.0.1:' in shown_page and "Can&#x27;t go" in await page.text()
    async with mail.http.post(links(meeting)["As it stands now"], data={}) as refused:
        assert refused.status == 405
    assert await everything_stored(mail.app) == before
    # Pressing "Going" from the card's own page lands on the same list.
    going = re.search(r'<a href="([^"]+)"[^>]*>Going</a>', await page.text())
    assert going is not None
    assert "Recorded: Going for Budget review" in await press(mail, html.unescape(going.group(1)))
    async with mail.http.get(links(meeting)["As it stands now"]) as page:
        assert re.search(r"Going\W+1", html.unescape(await page.text()))


async def test_a_hostile_title_option_or_name_is_inert_in_the_headers_and_both_parts(mail: Mail) -> None:
    """Played as a member who types line breaks and markup where the bot writes headers and HTML."""
    hostile = 'Lunch?\r\nBcc: victim@example.org\r\n\r\n"><img src=x onerror=alert(1)>'
    refused = await mail.bot.run('/coalition email add ben@example.org --name "Ben\nBcc: victim@example.org"')
    assert refused.error and "one line" in refused.text  # a name is refused a line break outright
    await add_and_confirm(mail, "ana@example.org", '--name "Ana <b>x</b> \\"quoted\\", Esq."')
    created = await mail.bot.run(f"/poll create {json.dumps(hostile)} {json.dumps('<script>alert(2)</script>')} Tacos")
    assert not created.error, shown(created)
    scheduled = await mail.bot.run(f'/meeting schedule {json.dumps(hostile)} "2026-11-24 18:00"')
    assert not scheduled.error, shown(scheduled)
    await mail.deliver()
    sent = [
        raw for raw, m in zip(mail.inbox.raw, mail.inbox.messages, strict=True) if "ana@example.org" in str(m["To"])
    ]
    assert len(sent) >= 3
    for raw in sent:
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert not re.search(rb"(?mi)^bcc:", head), head  # no header was added
        message = email.message_from_bytes(raw, policy=default)
        assert message["Bcc"] is None and message.get_all("To") == [message["To"]]
        assert [a.addr_spec for a in message["To"].addresses] == ["ana@example.org"]
        page = body(message, "html")
        assert "<img src=x" not in page and "<script>" not in page and "<b>x</b>" not in page
    poll = next(m for m in mail.inbox.to("ana@example.org") if "Lunch?" in str(m["Subject"]))
    assert "&lt;script&gt;" in body(poll, "html") and "<script>alert(2)</script>" in body(poll, "plain")


def test_a_header_value_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from adapters.email import render
    from bot.replies import Reply

    with pytest.raises(ValueError, match="Reply-To"):
        render.compose(
            Reply("Hello"),
            sender=("Bot", "bot@example.org"),
            to=("Ana", "ana@example.org"),
            reply_to="coordinators@example.org\r\nBcc: victim@example.org",
            coalition="Eastside",
            zone=ZoneInfo("UTC"),
            now=datetime(2026, 11, 23, tzinfo=UTC),
            link=lambda choice: "https://example.org/e/x",
            leave="https://example.org/e/leave",
            forget="https://example.org/e/forget",
            settings=None,
            view=None,
            message_id="<1@example.org>",
            list_id="<coalition-1.example.org>",
            automatic=False,
            language="en",
        )


async def test_what_members_wrote_is_marked_with_its_language_in_the_html_part(mail: Mail) -> None:
    """A Spanish member's email about a meeting written in English only: the title is marked
    `lang="en"`, so a screen reader does not read English words with Spanish sounds; one written
    in Spanish too is shown in Spanish, unmarked."""
    await add_and_confirm(mail, "ana@example.org", "--language es")
    await mail.bot.run('/meeting schedule "Budget review" "2026-11-24 18:00"')
    await mail.bot.run('/meeting schedule "Safety walk" "2026-11-25 18:00" --es "Caminata de seguridad"')
    await mail.deliver()
    budget = next(m for m in mail.inbox.to("ana@example.org") if "Budget review" in body(m, "plain"))
    assert '<span lang="en">Budget review</span>' in body(budget, "html")
    walk = next(m for m in mail.inbox.to("ana@example.org") if "Caminata de seguridad" in body(m, "plain"))
    assert "Safety walk" not in body(walk, "plain") and 'lang="en">Caminata' not in body(walk, "html")
    assert "English" in links(walk)  # the English version, a click away
