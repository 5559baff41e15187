"""Settings read from the environment and `.env`.

Every variable is checked once at start-up, so a volunteer who mistypes a token or a time zone
sees one line naming the variable and what was expected, instead of a traceback minutes later
when the first message goes out.
"""

from __future__ import annotations

import difflib
import getpass
import ipaddress
import math
import os
import re
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///coalition.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """A configuration value is unusable; the message is one line meant for the person starting the bot."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "UTC"
    log_level: str = "INFO"
    log_format: str = "text"  # or json: one object per line
    coalition_name: str = "Our coalition"
    outbox_lease_seconds: int = 30
    outbox_retention_days: int = 30  # finished deliveries are forgotten after this long
    # The bot's one HTTP server (calendar feeds, health, a platform's events): where it listens,
    # and the address members' calendars reach it at (behind a proxy, the proxy's). A platform that
    # needs the server and has a port of its own (`PlatformAdapter.listens`) sets these when
    # HTTP_PORT is unset (adapters.load_settings).
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    public_base_url: str | None = None
    # Keys the hashes that recognise anonymous voters. None: see `anonymity_secret`.
    anonymity_secret: str | None = field(default=None, repr=False)
    # How long a stop may take to finish what the platforms were told was received (SIGTERM).
    stop_grace_seconds: float = 45.0
    # Who may read /metrics besides this machine: a request with `Authorization: Bearer <token>`.
    metrics_token: str | None = field(default=None, repr=False)
    # Proxies whose X-Forwarded-For is believed (the public page's per-visitor limit).
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Every variable from the environment and `.env`: each platform reads and checks its own
    # (`settings.variable("SLACK_BOT_TOKEN")`, adapters/<name>/settings.py); none has a field here.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    # The names set in `.env` (all of them are meant for the bot, unlike the environment's).
    file_variables: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)

    def variable(self, name: str) -> str | None:
        """A variable's trimmed value, or None when it is unset or blank."""
        raw = self.environ.get(name)
        return raw.strip() if raw is not None and raw.strip() else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def web_port(self) -> int | None:
        """Where the HTTP server listens, or None when nothing asked for it."""
        return self.http_port

    @property
    def web_host(self) -> str:
        return self.http_host

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Read settings; real environment variables win over `.env`, as python-dotenv users expect."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    in_file = frozenset(values)
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        if raw is None or not raw.strip():
            return None
        return raw.strip()

    lease_raw = get("OUTBOX_LEASE_SECONDS") or "30"
    if not lease_raw.isdigit() or not 1 <= int(lease_raw) <= 3600:
        raise ConfigError(f"OUTBOX_LEASE_SECONDS: expected a whole number of seconds from 1 to 3600, got {lease_raw!r}")

    data_dir = get("COALITION_DATA_DIR")
    default_url = DEFAULT_DATABASE_URL
    if data_dir:
        folder = Path(data_dir).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError(f"COALITION_DATA_DIR: {folder} is not a folder; create it, or unset the variable")
        if not _writable(folder):
            raise ConfigError(
                f"COALITION_DATA_DIR: {folder} is not writable by the user the bot runs as ({_user()}); "
                f"give that user the folder (chown {_user()} {folder}) or choose another"
            )
        default_url = f"sqlite+aiosqlite:///{folder / 'coalition.db'}"
    database_url = _with_password_file(normalise_database_url(get("DATABASE_URL") or default_url), get)
    return Settings(
        database_url=database_url,
        timezone=_timezone(get("COALITION_TIMEZONE") or "UTC"),
        log_level=_log_level(get("LOG_LEVEL") or "INFO"),
        log_format=_log_format(get("LOG_FORMAT") or "text"),
        coalition_name=(get("COALITION_NAME") or "Our coalition")[:80],
        outbox_lease_seconds=int(lease_raw),
        outbox_retention_days=_days(get("OUTBOX_RETENTION_DAYS"), "OUTBOX_RETENTION_DAYS", 30),
        anonymity_secret=_secret_setting(_secret_value(get), database_url),
        stop_grace_seconds=_seconds(get("STOP_GRACE_SECONDS"), "STOP_GRACE_SECONDS", 45),
        metrics_token=_metrics_token(get("METRICS_TOKEN")),
        trusted_proxies=_networks(get("TRUSTED_PROXIES"), "TRUSTED_PROXIES"),
        environ=values,
        file_variables=in_file,
        http_host=get("HTTP_HOST") or "127.0.0.1",
        http_port=port_number(get("HTTP_PORT"), "HTTP_PORT"),
        public_base_url=http_url(get("PUBLIC_BASE_URL"), "PUBLIC_BASE_URL"),
    )


# The core's variables; each platform adds its own (`PlatformAdapter.variables`).
CORE_VARIABLES = (
    "ANONYMITY_SECRET",
    "ANONYMITY_SECRET_FILE",
    "COALITION_DATA_DIR",
    "COALITION_NAME",
    "COALITION_TIMEZONE",
    "COALITION_TEST_POSTGRES_URL",
    "DATABASE_PASSWORD_FILE",
    "DATABASE_URL",
    "HTTP_HOST",
    "HTTP_PORT",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_TOKEN",
    "OUTBOX_LEASE_SECONDS",
    "OUTBOX_RETENTION_DAYS",
    "PUBLIC_BASE_URL",
    "STOP_GRACE_SECONDS",
    "TRUSTED_PROXIES",
)
# A variable with one of these prefixes is meant for the bot, so an unknown one is a typo; each
# platform adds its own (`PlatformAdapter.prefixes`).
CORE_PREFIXES = ("COALITION_", "OUTBOX_", "ANONYMITY_", "METRICS_")


def unknown_variables(settings: Settings, known: Iterable[str], prefixes: tuple[str, ...] = CORE_PREFIXES) -> list[str]:
    """One line per variable that looks meant for the bot but is not one it reads ("SLAK_BOT_TOKEN"),
    with the likely one: such a setting is otherwise ignored without a word. Every name in `.env`
    is meant for the bot; in the environment, those with our prefixes or close to one of ours."""
    names = set(known)
    problems = []
    for name in sorted(settings.environ):
        if name in names or name.endswith("_PROXY") or name.lower().endswith("proxy"):
            continue
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
        if not (name in settings.file_variables or name.startswith(prefixes) or close):
            continue
        where = ".env" if name in settings.file_variables else "the environment"
        hint = f"; did you mean {close[0]}?" if close else " (README, Configuration, lists them)"
        problems.append(f"{name} (in {where}) is not a setting coalition-bot reads{hint}")
    return problems


def _with_password_file(url: str, get: Any) -> str:
    """DATABASE_PASSWORD_FILE: the database's password from a file (Docker and systemd credentials),
    so it is written in no compose file and no environment."""
    file = get("DATABASE_PASSWORD_FILE")
    if file is None:
        return url
    if url.startswith("sqlite"):
        raise ConfigError("DATABASE_PASSWORD_FILE: only for PostgreSQL (DATABASE_URL is SQLite)")
    try:
        password = Path(file).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError(f"DATABASE_PASSWORD_FILE: cannot read {file} ({exc.strerror})") from exc
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(unquote(user), safe='')}:{quote(password, safe='')}@{host}"
    return parts._replace(netloc=netloc).geturl()


def _writable(folder: Path) -> bool:
    """Whether the bot can make files there: tried, since permissions alone do not say (a read-only
    mount, an ACL, a container's user namespace)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container's): its number will do
        return str(os.getuid())


def _secret_value(get: Any) -> str | None:
    """ANONYMITY_SECRET, or the contents of ANONYMITY_SECRET_FILE (Docker and systemd credentials)."""
    value, file = get("ANONYMITY_SECRET"), get("ANONYMITY_SECRET_FILE")
    if value is not None and file is not None:
        raise ConfigError("ANONYMITY_SECRET_FILE: set it or ANONYMITY_SECRET, not both")
    if file is None:
        return value
    try:
        content = Path(file).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"ANONYMITY_SECRET_FILE: cannot read {file} ({exc.strerror}) as the user the bot runs as ({_user()})"
        ) from exc
    if not content:
        raise ConfigError(f"ANONYMITY_SECRET_FILE: {file} is empty")
    return content


def _seconds(raw: str | None, variable: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 3600:
        raise ConfigError(f"{variable}: expected a number of seconds from 0 to 3600, got {raw!r}")
    return value


def _metrics_token(raw: str | None) -> str | None:
    if raw is not None and len(raw) < 16:
        raise ConfigError("METRICS_TOKEN: expected at least 16 characters (make one with: openssl rand -hex 24)")
    return raw


def _networks(raw: str | None, variable: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if raw is None:
        return ()
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"{variable}: expected addresses or networks separated by commas, like 127.0.0.1,10.0.0.0/8; "
                f"{part!r} is neither"
            ) from None
    return tuple(networks)


def _days(raw: str | None, variable: str, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 3650:
        raise ConfigError(f"{variable}: expected a number of days from 1 to 3650, got {raw!r}")
    return int(raw)


def port_number(raw: str | None, variable: str) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 0 <= int(raw) <= 65535:
        raise ConfigError(f"{variable}: expected a port number 1-65535, got {raw!r}")
    return int(raw)


def yes_no(raw: str | None, variable: str) -> bool:
    value = (raw or "false").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{variable}: expected true or false, got {raw!r}")


SECRET_MIN_LENGTH = 32
# What the secret's own characters say of how hard it is to guess: 32 random hex digits score
# about 110 bits by this measure (they hold 128), "correct horse battery staple" about 110 too;
# "aaaa...", "passwordpassword..." and the like score far less, or repeat.
SECRET_MIN_BITS = 90


def secret_bits(value: str) -> float:
    """The secret's length times the Shannon entropy of its characters; 0 for a value that is a
    shorter one repeated. A floor against the guessable, not a proof of randomness."""
    if not value or (value + value).find(value, 1) < len(value):
        return 0.0
    counts = Counter(value)
    return -sum(n * math.log2(n / len(value)) for n in counts.values())


def _secret_setting(value: str | None, database_url: str) -> str | None:
    if value is not None and len(value) < SECRET_MIN_LENGTH:
        raise ConfigError(f"ANONYMITY_SECRET: expected at least {SECRET_MIN_LENGTH} characters ({_MAKE_ONE})")
    if value is not None and secret_bits(value) < SECRET_MIN_BITS:
        raise ConfigError(
            "ANONYMITY_SECRET: too easy to guess (it repeats, or uses too few different characters); anyone "
            f"with a copy of the database could try guesses against it offline ({_MAKE_ONE})"
        )
    if value is None and not database_url.startswith("sqlite"):
        raise ConfigError(
            "ANONYMITY_SECRET: expected a value when DATABASE_URL is PostgreSQL (at least 32 characters, the "
            f"same in every process; {_MAKE_ONE})"
        )
    return value


_MAKE_ONE = "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"


def storage_paths(settings: Settings) -> str:
    """Where the coalition's data lives, said in full at start-up: a service started in another
    folder would otherwise quietly open an empty coalition there."""
    path = settings.database_url.partition(":///")[2]
    if not settings.is_sqlite or not path or path.startswith(":memory:"):
        return "the database at " + _without_password(settings.database_url)
    full = Path(path).resolve()
    secret = "ANONYMITY_SECRET" if settings.anonymity_secret else str(full) + ".secret"
    return f"the database {full} (anonymity secret: {secret})"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return parts.geturl()


def anonymity_secret(settings: Settings) -> str:
    """The key for anonymous ballots and feedback. It must never sit in the database it protects,
    and every process sharing a database must use the same one. Set: used. Not set with a SQLite
    file: kept in a file beside the database, created on first use and readable by its owner only.
    Otherwise (an in-memory database, or settings made in code, as tests do; `load_settings` refuses
    PostgreSQL without one): a fresh one for this process."""
    if settings.anonymity_secret:
        return settings.anonymity_secret
    path = settings.database_url.partition(":///")[2]
    if not settings.is_sqlite or not path or path.startswith(":memory:"):
        return secrets.token_hex(32)
    return _secret_file(Path(path + ".secret"))


def _secret_path(settings: Settings) -> Path | None:
    path = settings.database_url.partition(":///")[2].partition("?")[0]
    if not settings.is_sqlite or not path or path.startswith(":memory:"):
        return None
    return Path(path + ".secret")


def missing_secret(settings: Settings) -> str | None:
    """Why the bot must not start: a SQLite database that already holds data, with neither
    ANONYMITY_SECRET nor its secret file beside it. A new secret there would quietly lock every open
    anonymous poll (its sealed keys no longer open), so one is made only with a new database."""
    secret = _secret_path(settings)
    if settings.anonymity_secret or secret is None or secret.exists():
        return None
    database = secret.with_name(secret.name.removesuffix(".secret"))
    try:
        holds_data = database.stat().st_size > 0
    except OSError:
        return None
    if not holds_data:
        return None
    return (
        f"ANONYMITY_SECRET: the database {database.resolve()} exists but its secret file {secret.name} is not "
        "beside it; copy the secret file from where the database came from (a restore asks for it), or set "
        "ANONYMITY_SECRET or ANONYMITY_SECRET_FILE to its secret. A new secret would lock its anonymous polls"
    )


def stored_secret(settings: Settings) -> str | None:
    """The secret in use without making one: the setting, or the file beside the database."""
    if settings.anonymity_secret:
        return settings.anonymity_secret
    secret = _secret_path(settings)
    if secret is None or not secret.exists():
        return None
    return secret.read_text().strip() or None


def _secret_file(path: Path) -> str:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = ""
        for _ in range(50):  # another process may be between creating the file and writing it
            stored = path.read_text().strip()
            if stored:
                break
            time.sleep(0.02)
        if len(stored) < SECRET_MIN_LENGTH:
            raise ConfigError(f"ANONYMITY_SECRET: the file {path} is damaged; restore it from a backup") from None
        return stored
    except OSError as exc:
        raise ConfigError(f"ANONYMITY_SECRET: could not create {path} ({exc.strerror}); set the variable") from exc
    value = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def normalise_database_url(url: str, variable: str = "DATABASE_URL") -> str:
    """Accept the URLs people copy from hosting dashboards and pick our async drivers for them."""
    expected = "a URL like sqlite:///coalition.db or postgresql://user@host/dbname"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"{variable}: expected {expected}, got {url!r}") from exc
    scheme = parts.scheme.lower()
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        if not url.partition("://")[2].startswith("/"):
            raise ConfigError(f"{variable}: expected {expected}, got {url!r}")
        return "sqlite+aiosqlite://" + url.partition("://")[2]
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError(f"{variable}: expected {expected} (the host is missing), got {url!r}")
        if not parts.path.strip("/"):
            raise ConfigError(f"{variable}: expected {expected} (the database name is missing)")
        return "postgresql+asyncpg://" + url.partition("://")[2]
    raise ConfigError(f"{variable}: expected {expected}, got {url!r}")


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"COALITION_TIMEZONE: expected an IANA time zone like Europe/Berlin or America/Chicago, got {name!r}"
        ) from exc
    return name


def _log_format(form: str) -> str:
    if form.lower() not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT: expected text or json, got {form!r}")
    return form.lower()


def _log_level(level: str) -> str:
    if level.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level.upper()


def http_url(url: str | None, variable: str) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{variable}: expected an http(s) URL like http://127.0.0.1:8080/api/, got {url!r}")
    return url


def ws_url(url: str | None, variable: str) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ConfigError(f"{variable}: expected a ws(s) URL like ws://127.0.0.1:8081/, got {url!r}")
    return url


def expect_shape(value: str, pattern: str, variable: str, what: str) -> None:
    if not re.fullmatch(pattern, value):
        raise ConfigError(f"{variable}: expected {what} (the value given has the wrong shape)")
