"""Structured-enough logs on standard error, each line carrying the request id of its command."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Iterable

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
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, carriers: Iterable[str] = (), form: str = "text") -> None:
    """`carriers`: the platforms' own libraries' loggers (`Platform.libraries`); `form`: text or json."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if form == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s req=%(request_id)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries(root.level, carriers)


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
