"""Structured-enough logs on standard error, each line carrying the request id of its command."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def new_request_id() -> str:
    rid = uuid.uuid4().hex[:10]
    request_id.set(rid)
    return rid


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`LOG_FORMAT=json`), for a log collector. It carries what the text
    form carries and nothing more: the messages are the same, and they never hold what members
    typed, nor who acted in an anonymous command."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": iso_time(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def iso_time(record: logging.LogRecord) -> str:
    """ISO 8601 with milliseconds and the zone: 2026-12-07T09:15:02.117+00:00."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso_time(record)


_announcer = logging.getLogger("coalition-bot.announce")
_json_logs = False


def announce(message: str) -> None:
    """A line for whoever started the bot ("running", where it listens). In JSON logs it is a log
    entry like any other, so a collector reads one format; in text it is printed plainly, since a
    person reads it. Shown even when the log level hides INFO (the console raises it)."""
    if _json_logs:
        _announcer.info(message)
    else:
        print(message, file=sys.stderr, flush=True)


def refuse(message: str) -> None:
    """Why the bot will not start, in one line: plain text for a person, a log entry in JSON logs."""
    if _json_logs:
        logging.getLogger("coalition-bot").error("%s", message)
    else:
        print(f"coalition-bot: {message}", file=sys.stderr, flush=True)


def format_asked(environ: Mapping[str, str] | None = None, env_file: str = ".env") -> str:
    """LOG_FORMAT as set, for the one line said when the settings themselves could not be read."""
    raw = (environ if environ is not None else os.environ).get("LOG_FORMAT")
    if raw is None and os.path.isfile(env_file):
        from dotenv import dotenv_values

        raw = dotenv_values(env_file).get("LOG_FORMAT")
    return "json" if (raw or "").strip().lower() == "json" else "text"


def configure(level: str, carriers: Iterable[str] = (), form: str = "text") -> None:
    """`carriers`: the platforms' own libraries' loggers (`Platform.libraries`); `form`: text or json."""
    global _json_logs
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    _json_logs = form == "json"
    if _json_logs:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s req=%(request_id)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _announcer.setLevel(logging.INFO)
    quiet_libraries(root.level, carriers)
    # A crash outside any handler still reaches the log as one entry, not a bare traceback.
    sys.excepthook = _log_uncaught


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    crash = logging.getLogger("coalition-bot")
    crash.critical("coalition-bot stopped on an unexpected error", exc_info=(kind, exc, tb))


def quiet_libraries(level: int, carriers: Iterable[str] = ()) -> None:
    """Library loggers stay above the level their output would leak or flood at."""
    for noisy in ("alembic", "apscheduler", "aiosqlite", "asyncio", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))
    # At DEBUG the platform libraries log whole request bodies, which would put who clicked which
    # option of an anonymous poll, or who typed which feedback, into the log. Never below INFO.
    for carrier in carriers:
        logging.getLogger(carrier).setLevel(max(logging.INFO, level))
    # A safety tick skipped while a long delivery run holds the lock is expected, not a warning.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
