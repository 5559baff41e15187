"""`coalition-bot`: the one entry point, and the place where settings, storage, the dispatcher and
the adapters are wired together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot import logs
from bot.app import App
from bot.clock import Clock, SimulatedClock, SystemClock
from bot.config import ConfigError, Settings, load_settings, normalise_database_url, storage_paths
from commands import build_registry
from commands.dispatcher import Dispatcher
from storage import Database
from storage.migrate import current_revision, head_revision

log = logging.getLogger("coalition-bot")

ADAPTERS = ("console", "slack", "discord")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if getattr(args, "db", None):
            settings = _with_database(settings, args.db)
    except ConfigError as exc:
        print(f"coalition-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    try:
        return asyncio.run(args.func(args, settings))
    except ConfigError as exc:
        print(f"coalition-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coalition-bot",
        description="Meetings, polls and broadcasts for community coalitions on Slack, Discord, console.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start every adapter whose credentials are configured")
    run.add_argument(
        "--adapters",
        help=f"comma-separated subset to start ({', '.join(ADAPTERS)}); default: all configured",
    )
    run.set_defaults(func=cmd_run)

    console = sub.add_parser("console", help="talk to the bot in this terminal, as a chosen member")
    _console_arguments(console)
    console.set_defaults(func=cmd_console)

    slack = sub.add_parser("slack", help="Slack set-up helpers")
    slack_sub = slack.add_subparsers(dest="slack_command", required=True, metavar="ACTION")
    man = slack_sub.add_parser("manifest", help="print the Slack app manifest (JSON) generated from the commands")
    man.add_argument("--request-url", help="HTTP mode: your public https://.../slack/events URL (default: Socket Mode)")
    man.set_defaults(func=cmd_slack_manifest)

    disc = sub.add_parser("discord", help="Discord set-up helpers")
    disc_sub = disc.add_subparsers(dest="discord_command", required=True, metavar="ACTION")
    sync = disc_sub.add_parser("sync", help="register the bot's slash commands with Discord")
    sync.add_argument("--guild", type=int, help="one server's id: updates at once (global sync can take an hour)")
    sync.set_defaults(func=cmd_discord_sync)
    inv = disc_sub.add_parser("invite", help="print the link that adds the bot to a server")
    inv.add_argument("--client-id", type=int, help="the application id (default: read from DISCORD_BOT_TOKEN)")
    inv.set_defaults(func=cmd_discord_invite)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations up to the newest")
    up.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    up.set_defaults(func=cmd_db_upgrade)
    cur = db_sub.add_parser("current", help="show the schema revision")
    cur.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    cur.set_defaults(func=cmd_db_current)
    return parser


def _console_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print every message as one JSON object per line")
    p.add_argument(
        "--clock",
        choices=("real", "simulated"),
        default="real",
        help="real time, or a clock !advance moves",
    )
    p.add_argument(
        "--start",
        help="simulated clock's start, ISO 8601 (default: now), e.g. 2026-12-01T09:00:00+01:00",
    )
    p.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    p.add_argument(
        "--as",
        dest="user",
        default="admin",
        help="the member you act as (default: admin, the coordinator)",
    )
    p.add_argument("--channel", default="general", help="the channel you start in (default: general)")


def _with_database(settings: Settings, db: str) -> Settings:
    from dataclasses import replace

    url = db if "://" in db else "sqlite:///" + str(Path(db).expanduser().resolve())
    return replace(settings, database_url=normalise_database_url(url, "--db"))


async def open_app(settings: Settings, clock: Clock | None = None) -> App:
    """The database at the newest schema: SQLite is upgraded in place; PostgreSQL is checked, since
    its migrations are an operator's decision (`coalition-bot db upgrade`)."""
    db = Database(settings.database_url)
    try:
        if db.is_sqlite:
            await db.upgrade()
        else:
            current, head = await current_revision(db.engine), head_revision()
            if current != head:
                raise ConfigError(
                    f"the database schema is at {current or 'nothing'}, this version needs {head}: "
                    "run `coalition-bot db upgrade` first"
                )
    except ConfigError:
        await db.dispose()
        raise
    except Exception as exc:
        await db.dispose()
        raise ConfigError(f"DATABASE_URL: cannot open the database ({type(exc).__name__}: {exc})") from exc
    return App(settings, db, clock)


async def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import ConsoleAdapter, ConsoleOptions

    clock: Clock = SystemClock()
    if args.clock == "simulated":
        try:
            start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC).replace(microsecond=0)
        except ValueError:
            raise ConfigError(
                f"--start: expected an ISO 8601 time like 2026-12-01T09:00:00+01:00, got {args.start!r}"
            ) from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=settings.zone)
        clock = SimulatedClock(start)
    elif args.start:
        raise ConfigError("--start: only with --clock simulated")
    if settings.log_level != "DEBUG":
        # The terminal is the conversation; routine INFO lines would interleave with it.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    app = await open_app(settings, clock)
    try:
        dispatcher = Dispatcher(app, build_registry())
        console = ConsoleAdapter(
            dispatcher,
            ConsoleOptions(
                json=args.json,
                user=args.user,
                channel=args.channel,
                coalition_name=settings.coalition_name,
            ),
        )
        app.add_messenger(console)
        if isinstance(clock, SimulatedClock):
            await app.scheduler.run_due()
        else:
            await app.scheduler.start()
        return await console.run()
    finally:
        await app.close()


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    configured = [
        name for name, on in (("slack", settings.slack_configured), ("discord", settings.discord_configured)) if on
    ]
    wanted = [a.strip() for a in args.adapters.split(",")] if args.adapters else configured
    unknown = [a for a in wanted if a not in ADAPTERS]
    if unknown:
        raise ConfigError(f"--adapters: unknown adapter {unknown[0]!r}; choose from {', '.join(ADAPTERS)}")
    if "slack" in wanted and not settings.slack_configured:
        raise ConfigError("SLACK_BOT_TOKEN: expected a bot token to start the Slack adapter (see .env.example)")
    if "discord" in wanted and not settings.discord_configured:
        raise ConfigError("DISCORD_BOT_TOKEN: expected a bot token to start the Discord adapter (see .env.example)")
    if not wanted or wanted == ["console"]:
        if not wanted:
            print(
                "No Slack or Discord credentials are set (SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN); "
                f"starting the console with {storage_paths(settings)}.",
                file=sys.stderr,
            )
        console_args = argparse.Namespace(
            json=False, clock="real", start=None, db=None, user="admin", channel="general"
        )
        return await cmd_console(console_args, settings)
    return await serve(settings, wanted)


async def serve(settings: Settings, adapters: list[str]) -> int:
    """Run the platform adapters until interrupted; each delivers its own platform's outbox."""
    import signal

    app = await open_app(settings)
    log.info("Using %s", storage_paths(settings))
    dispatcher = Dispatcher(app, build_registry())
    running = []
    try:
        if "slack" in adapters:
            from adapters.slack.app import SlackAdapter

            slack = SlackAdapter(settings, app, dispatcher)
            await slack.start()
            running.append(slack)
        if "discord" in adapters:
            from adapters.discord.app import DiscordAdapter

            discord_adapter = DiscordAdapter(settings, app, dispatcher)
            await discord_adapter.start()
            running.append(discord_adapter)
        await app.scheduler.start()
        print(f"coalition-bot is running ({', '.join(adapters)}). Press Ctrl+C to stop.", file=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        return 0
    finally:
        # Deliveries first: the batch in flight is finished and recorded, and the senders' reports
        # are brought up to date, while the platforms' sessions are still open.
        await app.scheduler.stop()
        for adapter in running:
            await adapter.stop()
        await app.close()


async def cmd_discord_sync(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.discord_configured:
        raise ConfigError("DISCORD_BOT_TOKEN: expected a bot token to sync commands (see .env.example)")
    from adapters.discord.app import sync_commands

    synced = await sync_commands(settings, build_registry(), args.guild)
    where = f"server {args.guild} (visible now)" if args.guild else "every server (Discord may take up to an hour)"
    names = ", ".join("/" + c["name"] for c in synced)
    print(f"Synced {len(synced)} commands to {where}: {names}.")
    return 0


async def cmd_discord_invite(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord.invite import application_id_from_token, invite_url

    client_id = args.client_id or (
        application_id_from_token(settings.discord_bot_token) if settings.discord_bot_token else None
    )
    if client_id is None:
        raise ConfigError("DISCORD_BOT_TOKEN: set it (or pass --client-id) so the invite names your application")
    print(invite_url(client_id))
    return 0


async def cmd_slack_manifest(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from adapters.slack.manifest import manifest

    print(
        json.dumps(
            manifest(
                build_registry(),
                name=settings.coalition_name,
                request_url=args.request_url,
                read_history=settings.slack_read_history,
            ),
            indent=2,
        )
    )
    return 0


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        await db.upgrade()
        revision = await current_revision(db.engine)
        print(f"Database {_shown_url(settings.database_url)} is at revision {revision}.")
    finally:
        await db.dispose()
    return 0


async def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        current = await current_revision(db.engine)
        head = head_revision()
        state = "up to date" if current == head else f"behind (newest is {head}; run coalition-bot db upgrade)"
        print(f"{_shown_url(settings.database_url)}: revision {current or 'none'}, {state}.")
    finally:
        await db.dispose()
    return 0


def _shown_url(url: str) -> str:
    """The database URL without its password, fit for a terminal or a log."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True).replace("+aiosqlite", "").replace("+asyncpg", "")


if __name__ == "__main__":
    sys.exit(main())
