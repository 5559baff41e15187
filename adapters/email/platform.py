"""Email as a platform: members who will never install a chat app take part by mail.

Outbound through the outbox over SMTP (or into EMAIL_DIR as `.eml` files, for the console);
inbound as signed links to the bot's one HTTP server (adapters.email.pages). It runs beside Slack
and Discord under `coalition-bot run`, and beside the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.platform import PlatformAdapter, Running
from bot.config import ConfigError, Settings
from bot.i18n import N_
from bot.pacing import PacingPolicy, Window

if TYPE_CHECKING:
    from adapters.email.messenger import Sender
    from bot.app import App
    from commands.dispatcher import Dispatcher

DEFAULT_RATE = 10.0  # messages a second: well below what relays allow (and what spam filters watch)
SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class EmailSettings:
    sender: tuple[str, str]  # (name, address) of EMAIL_FROM
    reply_to: str | None
    rate: float
    folder: Path | None  # EMAIL_DIR: write .eml files instead of sending
    host: str | None
    port: int
    username: str | None
    password: str | None
    security: str


class EmailPlatform(PlatformAdapter):
    name = "email"
    title = N_("email")
    credentials = "SMTP_HOST"
    interactive_too = True  # `coalition-bot console` mails too, when EMAIL_DIR or SMTP_HOST is set
    variables = (
        "SMTP_HOST",
        "SMTP_PORT",
        "SMTP_USERNAME",
        "SMTP_PASSWORD",
        "SMTP_SECURITY",
        "EMAIL_FROM",
        "EMAIL_REPLY_TO",
        "EMAIL_RATE",
        "EMAIL_DIR",
    )
    prefixes = ("SMTP_", "EMAIL_")
    space = N_("email list")

    pacing = PacingPolicy(overall=Window(int(DEFAULT_RATE), 1.0), channel=None)  # EMAIL_RATE sets it at start

    def configured(self, settings: Settings) -> bool:
        has_transport = settings.variable("SMTP_HOST") or settings.variable("EMAIL_DIR")
        return bool(has_transport and settings.variable("EMAIL_FROM"))

    def missing(self) -> str:
        return "EMAIL_FROM and SMTP_HOST (or EMAIL_DIR): expected both to send email (see .env.example)"

    def read(self, settings: Settings) -> EmailSettings:
        """Every email setting checked at once; one line naming the variable when one is wrong."""
        from email.utils import parseaddr

        name, address = parseaddr(settings.variable("EMAIL_FROM") or "")
        if "@" not in address or any(c in address for c in "\r\n "):
            raise ConfigError(f"EMAIL_FROM: expected an address like bot@example.org, got {address!r}")
        if settings.web_port is None and not settings.public_base_url:
            raise ConfigError("HTTP_PORT: email needs the bot's HTTP server for the links in its mail; set HTTP_PORT")
        rate_raw = settings.variable("EMAIL_RATE") or str(DEFAULT_RATE)
        try:
            rate = float(rate_raw)
        except ValueError:
            rate = 0
        if not 0.1 <= rate <= 1000:
            raise ConfigError(f"EMAIL_RATE: expected messages per second from 0.1 to 1000, got {rate_raw!r}")
        security = (settings.variable("SMTP_SECURITY") or "starttls").lower()
        if security not in SECURITY:
            raise ConfigError(f"SMTP_SECURITY: expected one of {', '.join(SECURITY)}, got {security!r}")
        port_raw = settings.variable("SMTP_PORT") or ("465" if security == "tls" else "587")
        if not port_raw.isdigit() or not 0 < int(port_raw) < 65536:
            raise ConfigError(f"SMTP_PORT: expected a port number 1-65535, got {port_raw!r}")
        folder = settings.variable("EMAIL_DIR")
        if folder and not Path(folder).expanduser().is_dir():
            raise ConfigError(f"EMAIL_DIR: {folder} is not a folder; create it")
        return EmailSettings(
            sender=(name or "coalition-bot", address),
            reply_to=settings.variable("EMAIL_REPLY_TO"),
            rate=rate,
            folder=Path(folder).expanduser().resolve() if folder else None,
            host=settings.variable("SMTP_HOST"),
            port=int(port_raw),
            username=settings.variable("SMTP_USERNAME"),
            password=settings.variable("SMTP_PASSWORD"),
            security=security,
        )

    def sender(self, mail: EmailSettings) -> Sender:
        from adapters.email.messenger import FolderSender, SmtpSender, SmtpSettings

        if mail.folder is not None:
            return FolderSender(mail.folder)
        assert mail.host is not None
        return SmtpSender(SmtpSettings(mail.host, mail.port, mail.username, mail.password, mail.security))

    async def start(self, settings: Settings, app: App, dispatcher: Dispatcher) -> Running:
        from adapters.email.messenger import EmailMessenger
        from adapters.email.pages import LinkPages

        mail = self.read(settings)
        messenger = EmailMessenger(app, self.name, self.sender(mail), mail.sender, mail.reply_to)
        app.add_messenger(messenger, pace(mail.rate))
        app.mail_platform = self.name
        LinkPages(app, dispatcher, self.name, messenger.forget_recipients).add_routes()
        return _Stopped()

    async def doctor(self, settings: Settings, channels: list[tuple[str, str, str]]) -> list[str]:
        try:
            mail = self.read(settings)
        except ConfigError as exc:
            return [str(exc)]
        sender = self.sender(mail)
        check = getattr(sender, "check", None)
        problem = await check() if check is not None else None
        return [problem] if problem else []


def pace(rate: float) -> PacingPolicy:
    """EMAIL_RATE messages a second, as whole messages per window (0.5/s: 1 every 2 s)."""
    if rate >= 1:
        return PacingPolicy(overall=Window(int(rate), 1.0), channel=None)
    return PacingPolicy(overall=Window(1, 1 / rate), channel=None)


class _Stopped:
    """Email holds no connection between deliveries: nothing to close."""

    async def stop(self) -> None:
        return None
