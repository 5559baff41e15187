"""The pages a member on email reaches through the links of their mail (`/e/<signed link>`).

Mail scanners (Outlook Safe Links, Gmail, corporate gateways) open every link of every email, so
opening a link only shows a page: what it would do, and a button. Only the POST from that page,
with its form token, acts; it runs the button's action through the dispatcher, as a click on
Slack or Discord is run. RFC 8058's one-click unsubscribe (`List-Unsubscribe=One-Click`, posted by
the mailbox provider itself) leaves without the page. Pages are server-rendered, escaped, work
without script, and are in the member's language.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.email import render
from adapters.email.messenger import LINK_PATH, MemberLinks
from bot import markup
from bot.i18n import LANGUAGES, N_, _, ngettext, speaking
from bot.links import Link, LinkProblem, form_token, form_token_ok, verify
from bot.refs import Actor, ConversationRef, UserRef
from bot.replies import without_usage
from bot.services.email import ACTIVE, WAITING, Recipient

if TYPE_CHECKING:
    from bot.app import App
    from commands.dispatcher import Dispatcher

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the address holds the member's signed link
    "Cache-Control": "no-store",
}
EXPIRED = N_(
    "This link has expired. The next email from the coalition has fresh links; a coordinator can also send you one."
)
DAMAGED = N_("This link is damaged or incomplete. Open it again from the email, or copy the whole address.")
LEAVE_ACTION = "subscription:leave"
# What a member not (yet) active may still do: confirm, leave, erase their data.
ALWAYS_OPEN = ("subscription:confirm", LEAVE_ACTION, "coalition:forget:")


class LinkPages:
    def __init__(self, app: App, dispatcher: Dispatcher, platform: str, forget: Callable[[str], None]) -> None:
        """`forget(workspace)`: drop what the messenger keeps in memory of a workspace's members,
        once one changed their settings here."""
        self.app = app
        self.dispatcher = dispatcher
        self.platform = platform
        self.forget_recipients = forget

    def add_routes(self) -> None:
        self.app.web.add("GET", LINK_PATH + "{token}", self.show)
        self.app.web.add("POST", LINK_PATH + "{token}", self.act)

    async def _open(self, token: str) -> tuple[Link, Recipient] | web.Response:
        """The link and whom it is for; or the page that says why it opens nothing."""
        try:
            link = verify(token, self.app.secret, self.app.clock.now())
        except LinkProblem as problem:
            expired = problem.reason == "expired"
            why = EXPIRED if expired else DAMAGED
            return self._page(_("This link does not work"), _(why), status=410 if expired else 404)
        async with self.app.unit_of_work() as services:
            recipient = await services.email.recipient(link.workspace_id, link.user_id)
        action = LEAVE_ACTION if link.purpose == "leave" else link.action_id
        usable = recipient is not None and (
            recipient.state == ACTIVE or (recipient.state == WAITING and action.startswith(ALWAYS_OPEN))
        )
        if recipient is None or not usable:
            language = recipient.language if recipient else None
            with speaking(language):
                return self._page(
                    _("This link no longer works"),
                    _("You are not on the coalition's email list any more, so this link does nothing."),
                    status=410,
                    language=language,
                )
        return link, recipient

    async def show(self, request: web.Request) -> web.Response:
        """What the link would do, and the button that does it. Changes nothing."""
        token = request.match_info["token"]
        opened = await self._open(token)
        if isinstance(opened, web.Response):
            return opened
        link, recipient = opened
        language = recipient.language  # the page is the member's, whatever the browser says
        if link.purpose == "view":
            return await self._card(link, recipient)
        with speaking(language):
            fields = ""
            if link.purpose == "leave":
                title, question, button = (
                    _("Leave the coalition's emails"),
                    _("Do you want to stop getting the coalition's emails?"),
                    _("Stop my emails"),
                )
            elif link.purpose == "settings":
                title, question, button = (
                    _("Your settings"),
                    _("Change what you want; leave the rest as it is."),
                    _("Save"),
                )
                fields = self._settings_fields()
            elif link.purpose == "choose":
                title, question, button = link.label, "", _("Send my choice")
                fields = self._options(link)
            else:
                title = _("Confirm your choice")
                question = _("You chose: {choice}").format(choice=link.label)
                button = _("Confirm")
            form = (
                f'<form method="post" action="{html.escape(LINK_PATH + token)}">'
                f'<input type="hidden" name="form" value="{html.escape(form_token(token, self.app.secret))}">'
                f'{fields}<button type="submit">{html.escape(button)}</button></form>'
            )
            return self._page(title, question, extra=form, language=language)

    async def _card(self, link: Link, recipient: Recipient) -> web.Response:
        """A meeting's or a poll's card as chat members see it now (a sent email cannot change),
        its buttons as this member's links. Run as a read-only action: opening it writes nothing."""
        actor, where = self._member(link, recipient)
        reply = await self.dispatcher.run_action(link.action_id, actor, where)
        language = reply.language or recipient.language
        zone = ZoneInfo(recipient.timezone)
        now = self.app.clock.now()
        with speaking(language):
            if reply.error:
                text = markup.plain(reply.text, zone, now).removeprefix("⚠️ ")
                return self._page(_("Something went wrong"), text, status=404, language=language)
            links = MemberLinks(self.app.secret, now, self.app.public_base() or "", link.workspace_id, link.user_id)
            _text, html_parts = render.body(reply, zone, now, links.choice)
            title = render.subject_of(reply, zone, now, recipient.coalition)
            note = _("This is how it stands now. Open this page again later to see the latest.")
            return self._page(title, note, extra="".join(html_parts), language=language)

    def _member(self, link: Link, recipient: Recipient) -> tuple[Actor, ConversationRef]:
        """Who acts through a link, and where: the member's own email channel."""
        user = UserRef(self.platform, link.workspace_id, link.user_id)
        actor = Actor(user, recipient.name, timezone_hint=recipient.timezone, locale=recipient.language)
        return actor, ConversationRef(self.platform, link.workspace_id, link.user_id)

    @staticmethod
    def _settings_fields() -> str:
        """Language, time zone and reminder lead times: each runs the command a chat member types."""
        languages = [("", _("as it is")), ("auto", _("the coalition's")), *LANGUAGES.items()]
        reminders = [
            ("", _("as they are")),
            ("default", _("the coalition's")),
            ("off", _("none")),
            ("1h", "1 h"),
            ("2h", "2 h"),
            ("24h", "24 h"),
        ]

        digest = [("", _("as it is")), ("on", _("on Monday mornings")), ("off", _("none"))]
        zone = _("Your time zone, e.g. America/Chicago")

        def menu(name: str, label: str, options: list[tuple[str, str]]) -> str:
            items = "".join(f'<option value="{html.escape(v)}">{html.escape(t)}</option>' for v, t in options)
            field = f'<select id="{name}" name="{name}">{items}</select>'
            return f'<p><label for="{name}">{html.escape(label)}</label><br>{field}</p>'

        return (
            menu("language", _("Language of your emails"), languages)
            + f'<p><label for="zone">{html.escape(zone)}</label><br>'
            f'<input id="zone" name="zone" maxlength="64" autocomplete="off"></p>'
            + menu("reminders", _("Meeting reminders"), reminders)
            + menu("digest", _("The week ahead, by email"), digest)
        )

    @staticmethod
    def _options(link: Link) -> str:
        """A menu's options as a list to tick (several may be picked) or to pick one of."""
        kind = "checkbox" if link.limit > 1 else "radio"
        hint = (
            ngettext("Choose up to {count}.", "Choose up to {count}.", link.limit).format(count=link.limit)
            if link.limit > 1
            else _("Choose one.")
        )
        items = "".join(
            f'<p><input type="{kind}" id="o{n}" name="value" value="{html.escape(value)}"'
            f'{" required" if kind == "radio" else ""}> <label for="o{n}">{html.escape(label)}</label></p>'
            for n, (value, label) in enumerate(link.options)
        )
        legend = html.escape(link.label)
        return f"<fieldset><legend>{legend}</legend><p>{html.escape(hint)}</p>{items}</fieldset>"

    async def act(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        opened = await self._open(token)
        if isinstance(opened, web.Response):
            return opened
        link, recipient = opened
        language = recipient.language
        if link.purpose == "view":  # the page has no button: nothing to do
            with speaking(language):
                return self._page(
                    _("Nothing was done"), _("This page only shows; it changes nothing."), status=405, language=language
                )
        posted = await request.post()
        one_click = posted.get("List-Unsubscribe") == "One-Click" and link.purpose == "leave"
        if not one_click and not form_token_ok(token, str(posted.get("form", "")), self.app.secret):
            with speaking(language):
                return self._page(
                    _("Nothing was done"),
                    _("Open the link from your email again and press the button on that page."),
                    status=403,
                    language=language,
                )
        actor, where = self._member(link, recipient)
        if link.purpose == "settings":
            return await self._save_settings(posted, actor, where, recipient)
        action = LEAVE_ACTION if link.purpose == "leave" else link.action_id
        value = link.value
        if link.purpose == "choose":
            allowed = [v for v, _label in link.options]
            picked = {str(v) for v in posted.getall("value", [])}
            chosen = [v for v in allowed if v in picked]  # in the menu's order; nothing else
            if not chosen or len(chosen) > link.limit:
                with speaking(language):
                    return self._page(
                        _("Nothing was done"),
                        ngettext(
                            "Choose at least one option, and at most {count}.",
                            "Choose at least one option, and at most {count}.",
                            link.limit,
                        ).format(count=link.limit),
                        status=400,
                        language=language,
                    )
            value = ",".join(chosen)
        reply = await self.dispatcher.run_action(action, actor, where, value=value)
        if one_click:
            return web.Response(status=200 if not reply.error else 400, headers=HEADERS)
        with speaking(reply.language or language):
            title = _("Something went wrong") if reply.error else _("Done")
            zone = ZoneInfo(recipient.timezone)
            text = markup.plain(reply.text, zone, self.app.clock.now()).removeprefix("⚠️ ")
            return self._page(title, text, status=400 if reply.error else 200, language=reply.language or language)

    async def _save_settings(
        self, posted: Any, actor: Actor, where: ConversationRef, recipient: Recipient
    ) -> web.Response:
        """Each field given runs its command, as the member would type it in chat: the commands'
        own checks and answers (a wrong time zone is refused with its usage)."""
        commands = []
        language = str(posted.get("language", ""))
        if language in ("auto", *LANGUAGES):
            commands.append(f"/coalition language {language}")
        zone = str(posted.get("zone", "")).strip()
        if zone:
            commands.append(f"/coalition timezone {json.dumps(zone[:64])}")
        reminders = str(posted.get("reminders", ""))
        if reminders in ("default", "off", "1h", "2h", "24h"):
            commands.append(f"/meeting reminders --mine {reminders}")
        said, failed = [], False
        digest = str(posted.get("digest", ""))
        if digest in ("on", "off"):
            async with self.app.unit_of_work() as services:
                with speaking(recipient.language):
                    said.append(await services.email.week_ahead(where.workspace_id, where.channel_id, digest == "on"))
                await services.commit()
        for command in commands:
            reply = await self.dispatcher.run_text(command, actor, where)
            self.forget_recipients(where.workspace_id)
            failed = failed or reply.error
            said.append(markup.plain(reply.text, ZoneInfo(recipient.timezone), self.app.clock.now()).removeprefix("⚠️ "))
        async with self.app.unit_of_work() as services:  # the page in the language just chosen
            now = await services.email.recipient(where.workspace_id, where.channel_id)
        language_now = now.language if now else recipient.language
        with speaking(language_now):
            title = _("Something went wrong") if failed else _("Done")
            text = "\n".join(without_usage(line) for line in said) or _("Nothing was changed.")
            return self._page(title, text, status=400 if failed else 200, language=language_now)

    def _page(
        self, title: str, text: str, *, extra: str = "", status: int = 200, language: str | None = None
    ) -> web.Response:
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
        body = (
            f'<!DOCTYPE html><html lang="{html.escape(language or "en")}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            "<style>body{font-family:sans-serif;font-size:18px;line-height:1.5;max-width:36em;margin:2em auto;"
            "padding:0 1em;color:#1a1a1a}button{font-size:18px;padding:.6em 1.2em;background:#2c5f2d;color:#fff;"
            "border:0;border-radius:4px;cursor:pointer}button:focus{outline:3px solid #f0b400}</style></head>"
            f"<body><main><h1>{html.escape(title)}</h1>{paragraphs}{extra}</main></body></html>"
        )
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)
