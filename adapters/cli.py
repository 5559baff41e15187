"""`coalition-bot`: the one entry point, and the place where settings, storage, the dispatcher and
the adapters are wired together."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import shutil
import stat
import sys
from pathlib import Path

from adapters import LIBRARIES, PLATFORMS, build_dispatcher, load_settings, misspelt_variables, platform
from adapters.console.platform import default_arguments, run_console
from adapters.platform import PlatformAdapter, Running
from bot import logs
from bot.app import App
from bot.clock import Clock
from bot.config import (
    ConfigError,
    Settings,
    anonymity_secret,
    missing_secret,
    normalise_database_url,
    storage_paths,
    stored_secret,
)
from storage import Database

log = logging.getLogger("coalition-bot")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        if getattr(args, "db", None):
            settings = _with_database(settings, args.db)
    except ConfigError as exc:
        if args.command == "doctor":
            print(f"Configuration: {exc}.")
            return 1
        logs.configure("INFO", LIBRARIES, logs.format_asked())
        logs.refuse(f"configuration error: {exc}")
        return 2
    logs.configure(settings.log_level, LIBRARIES, settings.log_format)
    try:
        return asyncio.run(args.func(args, settings))
    except ConfigError as exc:
        logs.refuse(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        log.critical("coalition-bot stopped on an unexpected error", exc_info=True)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coalition-bot",
        description="Meetings, polls and broadcasts for community coalitions on "
        + ", ".join(p.title for p in PLATFORMS)
        + ".",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="start every adapter whose credentials are configured")
    run.add_argument(
        "--adapters",
        help=f"comma-separated subset to start ({', '.join(p.name for p in PLATFORMS)}); default: all configured",
    )
    run.set_defaults(func=cmd_run)
    for each in PLATFORMS:
        each.add_cli(sub)

    doctor = sub.add_parser("doctor", help="check the set-up: one line per problem, with its fix")
    doctor.set_defaults(func=cmd_doctor)
    save = sub.add_parser("backup", help="a consistent copy of the database, while the bot runs")
    save.add_argument("file", help="where to write it (a .tar.gz, readable by you only)")
    save.add_argument(
        "--with-secret",
        action="store_true",
        help="put the anonymity secret in it too (then the file can link open polls' voters to their choices)",
    )
    save.set_defaults(func=cmd_backup)
    load = sub.add_parser("restore", help="put a backup in place of the database (the bot must be stopped)")
    load.add_argument("file", help="a file `coalition-bot backup` wrote")
    load.add_argument("--secret-file", help="the database's anonymity secret, when the backup does not hold it")
    load.set_defaults(func=cmd_restore)

    goals = sub.add_parser("goals", help="a goal's values from a file")
    goals_sub = goals.add_subparsers(dest="goals_command", required=True, metavar="ACTION")
    imported = goals_sub.add_parser(
        "import", help="read a goal's values from a CSV file (nothing is written unless every line reads)"
    )
    imported.add_argument("goal", type=int, help="the goal's number (from /goal list)")
    imported.add_argument("file", help="a CSV file with a header row, as open-data portals publish them")
    imported.add_argument("--date-column", required=True, help="the date column's name (or its number from 1)")
    imported.add_argument("--value-column", required=True, help="the value column's name (or its number from 1)")
    imported.add_argument("--dry-run", action="store_true", help="read the file and say what would be written")
    imported.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    imported.set_defaults(func=cmd_goals_import)

    funder = sub.add_parser("report", help="the coalition's report as one HTML file, for a funder or a city council")
    funder.add_argument("--period", choices=("month", "quarter", "year"), default="quarter", help="default: quarter")
    funder.add_argument("--out", required=True, help="the HTML file to write")
    funder.add_argument("--coalition", type=int, help="which coalition, by number (needed when there are several)")
    funder.add_argument("--language", choices=("en", "es"), help="default: the coalition's")
    funder.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    funder.set_defaults(func=cmd_report)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations up to the newest (PostgreSQL: after a pg_dump)")
    up.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    up.add_argument("--dump-to", help="PostgreSQL: where the dump taken first goes (./coalition-before-REV.dump)")
    up.add_argument("--skip-dump", action="store_true", help="PostgreSQL: migrate without a dump (you took one)")
    up.set_defaults(func=cmd_db_upgrade)
    cur = db_sub.add_parser("current", help="show the schema revision")
    cur.add_argument("--db", help="database file or URL (default: DATABASE_URL)")
    cur.set_defaults(func=cmd_db_current)
    return parser


def _with_database(settings: Settings, db: str) -> Settings:
    from dataclasses import replace

    url = db if "://" in db else "sqlite:///" + str(Path(db).expanduser().resolve())
    return replace(settings, database_url=normalise_database_url(url, "--db"))


async def open_app(settings: Settings, clock: Clock | None = None) -> App:
    """The database at the newest schema: SQLite is upgraded in place; PostgreSQL is checked, since
    its migrations are an operator's decision (`coalition-bot db upgrade`). Refused when the
    anonymity secret is not the database's own."""
    for line in misspelt_variables(settings):
        log.warning("%s", line)
    if (missing := missing_secret(settings)) is not None:
        raise ConfigError(missing)
    # The secret before the database: a second process starting on the same new file then finds
    # the secret beside a database that exists, never a database without one.
    anonymity_secret(settings)
    db = Database(settings.database_url)
    try:
        if db.is_sqlite:
            await db.upgrade()
        else:
            from storage.migrate import current_revision, head_revision

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
    app = App(settings, db, clock)
    wrong = await app.secret_problem()
    if wrong is not None:
        await db.dispose()
        raise ConfigError(wrong)
    return app


async def cmd_goals_import(args: argparse.Namespace, settings: Settings) -> int:
    """Values for a typed goal from a CSV file: every bad line named, and nothing written unless
    the whole file reads. 0: written (or would be, with --dry-run); 1: the file or goal is refused."""
    from bot.goal_import import read_values
    from bot.services.goals import GoalProblem, number

    path = Path(args.file)  # the shell has expanded ~ already
    try:
        content = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"Cannot read {path}: {exc}")
        return 1
    read = read_values(content, args.date_column, args.value_column)
    if read.problems:
        print(f"{path}: nothing was written; {len(read.problems)} line(s) did not read:")
        for problem in read.problems:
            print(f"  {problem}")
        return 1
    if not read.values:
        print(f"{path}: no values in it; nothing was written.")
        return 1
    app = await open_app(settings)
    try:
        async with app.unit_of_work() as services:
            goal = await services.goals.by_id(args.goal)
            if goal is None:
                print(f"There is no goal #{args.goal}; `/goal list` shows them.")
                return 1
            try:
                added, replaced = await services.goals.import_values(goal, read.values, f"file {path.name}")
            except GoalProblem as exc:
                print(f"Goal #{args.goal}: {exc}")
                return 1
            first, last = read.values[0][0].date(), read.values[-1][0].date()
            summary = (
                f"goal #{goal.id} ({goal.title}): {added} value(s) added, {replaced} replaced, "
                f"from {first} to {last}; {read.skipped} blank row(s) skipped"
            )
            if args.dry_run:
                await services.rollback()
                print(f"Dry run, nothing written: {summary}.")
                return 0
            note = f"goal #{goal.id}: {added + replaced} values imported from {path.name} (on the command line)"
            await services.governance.record(goal.coalition_id, None, "goals import", note, "cli")
            await services.commit()
            latest = read.values[-1][1]
            print(f"Written: {summary}. Latest: {number(latest)}.")
            return 0
    finally:
        await app.close()


async def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Write the funder report (`/coalition report --format html`) to a file, from the command line."""
    from bot.services.funder import PERIODS, funder_html

    app = await open_app(settings)
    try:
        async with app.unit_of_work() as services:
            coalitions = await services.coalitions.all()
            chosen = [c for c in coalitions if args.coalition in (None, c.id)]
            if len(chosen) != 1:
                listed = ", ".join(f"{c.id} ({c.name})" for c in coalitions) or "none"
                print(f"Give --coalition with one of: {listed}.")
                return 1
            coalition = chosen[0]
            code = args.language or coalition.language or "en"
            page = await funder_html(services.funder, coalition, PERIODS[args.period], code)
        out = Path(args.out)
        await asyncio.to_thread(out.write_bytes, page)
        print(f"Written: {out} ({len(page):,} bytes), the {args.period} to now for {coalition.name}.")
        return 0
    finally:
        await app.close()


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    served = [p for p in PLATFORMS if p.served]
    if args.adapters:
        names = [a.strip() for a in args.adapters.split(",")]
        unknown = [n for n in names if n not in {p.name for p in PLATFORMS}]
        if unknown:
            choices = ", ".join(p.name for p in PLATFORMS)
            raise ConfigError(f"--adapters: unknown adapter {unknown[0]!r}; choose from {choices}")
        wanted = [platform(n) for n in names]
    else:
        wanted = [p for p in served if p.configured(settings)]
    for p in wanted:
        if p.served and not p.configured(settings):
            raise ConfigError(p.missing())
    if all(not p.served for p in wanted):
        if not wanted:
            titles = _either([p.title for p in served])
            variables = ", ".join(p.credentials for p in served)
            if not _has_input():
                # Started by systemd or Docker with nobody at the keyboard: a console here would read
                # nothing and exit 0, a service that looks up and does nothing (or restarts forever).
                raise ConfigError(
                    f"no platform is configured: set {variables} (see .env.example), "
                    "or run `coalition-bot console` in a terminal"
                )
            logs.announce(
                f"No {titles} credentials are set ({variables}); starting the console with {storage_paths(settings)}."
            )
        return await run_console(default_arguments(), settings)
    return await serve(settings, [p for p in wanted if p.served])


def _either(names: list[str]) -> str:
    """ "Slack, Discord or email"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _has_input() -> bool:
    """Someone (a terminal) or something (a pipe, a file) can type to the console on standard
    input; not so when it is closed or /dev/null, as under systemd and `docker run` without -i."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return sys.stdin.isatty() or not stat.S_ISCHR(mode)


async def serve(settings: Settings, platforms: list[PlatformAdapter]) -> int:
    """Run the platform adapters until interrupted; each delivers its own platform's outbox."""
    import signal

    app = await open_app(settings)
    log.info("Using %s", storage_paths(settings))
    dispatcher = build_dispatcher(app)
    running: list[Running] = []
    holding = contextlib.ExitStack()
    holding.enter_context(app.in_use())  # `coalition-bot restore` waits for the bot to stop
    try:
        for p in platforms:
            running.append(await p.start(settings, app, dispatcher))
        port = await app.serve_http()  # already listening if Slack runs in HTTP mode
        if port is not None:
            logs.announce(f"HTTP (calendar feeds, /readyz, /metrics) on {settings.web_host}:{port}.")
        await app.scheduler.start()
        app.settle()
        names = ", ".join(p.name for p in platforms)
        logs.announce(f"coalition-bot is running ({names}). Press Ctrl+C to stop.")
        signalled = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if signalled.is_set():
                log.warning("a second %s: not waiting any longer", signal.Signals(signum).name)
                app.inflight.cut_short()
            signalled.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        await signalled.wait()
        await drain(app, settings.stop_grace_seconds)
        return 0
    finally:
        # Deliveries next: the batch in flight is finished and recorded, and the senders' reports
        # are brought up to date, while the platforms' sessions are still open.
        await app.scheduler.stop()
        for adapter in running:
            await adapter.stop()
        await app.close()
        holding.close()


async def drain(app: App, grace: float) -> None:
    """Refuse new work, then finish what the platforms were told was received (bot.inflight)."""
    waiting = app.inflight.open
    log.info("stopping: taking nothing new; finishing %d acknowledged request(s) (up to %g s)", waiting, grace)
    outcome = await app.inflight.drain(grace)
    for what in outcome.dropped:
        log.error("stopping: dropped %s, acknowledged but not finished within STOP_GRACE_SECONDS", what)
    log.info("stopping: drained %d, dropped %d in %.2f s", outcome.drained, len(outcome.dropped), outcome.seconds)


async def diagnose(settings: Settings) -> list[str]:
    """Every problem `coalition-bot doctor` finds, one line each with its fix."""
    from bot.clock import SystemClock
    from bot.services.doctor import DoctorService
    from storage import Repositories
    from storage.migrate import HEAD, recorded_revision

    checks = {p.name: functools.partial(p.doctor, settings) for p in PLATFORMS if p.served and p.configured(settings)}
    found = [f"Configuration: {line}." for line in misspelt_variables(settings)]
    if (missing := missing_secret(settings)) is not None:
        found.append(missing + ".")
    db = Database(settings.database_url)
    try:
        revision = await recorded_revision(db.engine)
        if revision == HEAD:
            async with db.session() as session:
                doctor = DoctorService(Repositories(session), SystemClock(), checks, stored_secret(settings))
                return found + await doctor.problems()
        problems = [
            f"Database: the schema is at {revision or 'nothing'}, this version needs {HEAD}: "
            "run `coalition-bot db upgrade` (SQLite is upgraded at start)."
        ]
    except Exception as exc:  # whatever the driver raises, the database cannot be used
        problems = [
            f"Database: cannot open {_shown_url(settings.database_url)} ({type(exc).__name__}): check DATABASE_URL."
        ]
    finally:
        await db.dispose()
    for check in checks.values():  # the platforms can still be checked, without the linked channels
        problems += await check([])
    return found + problems


async def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    problems = await diagnose(settings)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"No problems found ({storage_paths(settings)}).")
    return 1 if problems else 0


def _sqlite_file(settings: Settings) -> Path | None:
    from storage.database import sqlite_path

    return sqlite_path(settings.database_url) if settings.is_sqlite else None


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import BackupProblem, backup

    secret = _secret_where(settings)
    database = _sqlite_file(settings)
    if database is None:
        url = _shown_url(settings.database_url)
        print(
            f"PostgreSQL is backed up with its own tool, to a file only you can read: (umask 077 && pg_dump "
            f"--format=custom --file {args.file} '{url}') (add the password as PGPASSWORD). It holds no "
            f"anonymity secret: keep {secret} safe and apart from it; restoring needs both.",
        )
        return 0
    with_secret = stored_secret(settings) if args.with_secret else None
    if args.with_secret and with_secret is None:
        raise ConfigError(f"backup --with-secret: there is no anonymity secret to include ({secret} is not set)")
    try:
        size = await asyncio.to_thread(backup, database.resolve(), Path(args.file), with_secret)
    except BackupProblem as exc:
        raise ConfigError(f"backup: {exc}") from None
    if with_secret is not None:
        print(
            f"Backed up {database.resolve()} and its anonymity secret to {args.file} ({size:,} bytes, readable by "
            "you only). Warning: with both in one file, whoever holds it can tell how members voted in the "
            "anonymous polls that are open now. Keep it as you keep the secret, and delete it when done."
        )
    else:
        print(
            f"Backed up {database.resolve()} to {args.file} ({size:,} bytes, readable by you only). It holds the "
            f"database only: keep its anonymity secret ({secret}) safe and apart from it; restoring needs both."
        )
    return 0


def _secret_where(settings: Settings) -> str:
    """Where the secret in use lives, said to whoever backs up or restores."""
    if settings.environ.get("ANONYMITY_SECRET_FILE"):
        return f"ANONYMITY_SECRET_FILE, {settings.environ['ANONYMITY_SECRET_FILE']}"
    if settings.anonymity_secret:
        return "ANONYMITY_SECRET"
    database = _sqlite_file(settings)
    return f"the file {database.resolve()}.secret" if database is not None else "ANONYMITY_SECRET"


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from storage.backup import BackupProblem, restore

    database = _sqlite_file(settings)
    if database is None:
        raise ConfigError(
            "restore: PostgreSQL is restored with its own tool: pg_restore --clean --if-exists --dbname "
            f"'{_shown_url(settings.database_url)}' FILE, with the bot stopped; then `coalition-bot db upgrade`"
        )
    secret_file = Path(args.secret_file) if args.secret_file else None
    try:
        beside = await asyncio.to_thread(restore, Path(args.file), database.resolve(), secret_file)
    except (BackupProblem, OSError) as exc:
        raise ConfigError(f"restore: {exc}") from None
    print(f"Restored {args.file} to {database.resolve()}; what was there is kept as *.before-restore.")
    if not beside and not settings.anonymity_secret:
        print(
            f"This backup holds no anonymity secret and none is beside the database: put the database's own secret "
            f"at {database.resolve()}.secret (or run restore again with --secret-file, or set ANONYMITY_SECRET) "
            "before starting the bot; until then it will not start."
        )
    return 0


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate to the newest schema. SQLite copies itself first (storage.migrate); PostgreSQL is
    dumped first with pg_dump, to a file only its owner can read, or the upgrade is refused unless
    whoever runs it says a dump was taken (`--skip-dump`)."""
    from storage.migrate import current_revision, head_revision

    db = Database(settings.database_url)
    try:
        current = await current_revision(db.engine)
        if not db.is_sqlite and current is not None and current != head_revision() and not args.skip_dump:
            dump = await asyncio.to_thread(Path(args.dump_to or f"coalition-before-{head_revision()}.dump").resolve)
            await _pg_dump(settings.database_url, dump)
            print(f"Dumped the database to {dump} (readable by you only) before migrating it.")
        await db.upgrade()
        revision = await current_revision(db.engine)
        print(f"Database {_shown_url(settings.database_url)} is at revision {revision}.")
    finally:
        await db.dispose()
    return 0


async def _pg_dump(url: str, target: Path) -> None:
    from sqlalchemy.engine import make_url

    shown = _shown_url(url)
    command = f"(umask 077 && pg_dump --format=custom --file {target} '{shown}')"
    tool = shutil.which("pg_dump")
    if tool is None:
        raise ConfigError(
            f"db upgrade: take a dump first, then run it again with --skip-dump: {command} (pg_dump is not on "
            "this machine; the PostgreSQL client tools have it)"
        )
    parts = make_url(url)
    environment = {**os.environ, "PGPASSWORD": parts.password or ""}
    libpq = parts.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    process = await asyncio.create_subprocess_exec(
        tool,
        "--format=custom",
        f"--file={target}",
        libpq,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=lambda: os.umask(0o077),
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise ConfigError(
            f"db upgrade: pg_dump failed ({err.decode(errors='replace').strip()[:300]}); nothing was migrated. "
            f"Take a dump yourself ({command}) and run it again with --skip-dump"
        )


async def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import current_revision, head_revision

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
