from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import PLATFORMS, load_settings, platform
from bot.config import DEFAULT_DATABASE_URL, ConfigError, anonymity_secret

SLACK_BOT = "xoxb-1234-5678-abcdefABCDEF"
DISCORD = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GabcdE.abcdefghijklmnopqrstuvwxyz012345"


def test_defaults_need_nothing() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.timezone == "UTC"
    assert settings.log_level == "INFO"
    assert not any(p.configured(settings) for p in PLATFORMS if p.served)


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("COALITION_TIMEZONE=Europe/Berlin\nLOG_LEVEL=debug\n")
    settings = load_settings({"LOG_LEVEL": "WARNING"}, env_file=env)
    assert settings.timezone == "Europe/Berlin"
    assert settings.log_level == "WARNING"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/bot.db", "sqlite+aiosqlite:///data/bot.db"),
        ("sqlite:////var/lib/bot.db", "sqlite+aiosqlite:////var/lib/bot.db"),
        ("postgres://u:p@db.example/coalition", "postgresql+asyncpg://u:p@db.example/coalition"),
        ("postgresql://u@127.0.0.1:5432/test", "postgresql+asyncpg://u@127.0.0.1:5432/test"),
    ],
)
def test_database_urls_get_async_drivers(given: str, expected: str) -> None:
    env = {"DATABASE_URL": given, "ANONYMITY_SECRET": "e5b8d2a7c1f9e4b6d3a8c5f0e2b7d9a4"}
    assert load_settings(env, env_file=None).database_url == expected


def test_postgresql_needs_an_anonymity_secret_shared_by_every_process() -> None:
    with pytest.raises(ConfigError, match="ANONYMITY_SECRET: expected a value when DATABASE_URL is PostgreSQL"):
        load_settings({"DATABASE_URL": "postgresql://u@127.0.0.1/test"}, env_file=None)
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_settings({"ANONYMITY_SECRET": "short"}, env_file=None)


@pytest.mark.parametrize("weak", ["s" * 32, "password" * 5, "0123456789" * 4, "abababababababababababababababab"])
def test_a_secret_too_easy_to_guess_is_refused_at_start(weak: str) -> None:
    """With a copy of the database, a weak secret can be guessed offline: each guess checked
    against a sealed poll key. It is refused, with how to make a good one."""
    with pytest.raises(ConfigError, match=r"too easy to guess.*secrets\.token_hex"):
        load_settings({"ANONYMITY_SECRET": weak}, env_file=None)
    assert load_settings({"ANONYMITY_SECRET": secrets.token_hex(16)}, env_file=None).anonymity_secret


def test_sqlite_keeps_the_anonymity_secret_beside_the_database_never_inside(tmp_path: Path) -> None:
    settings = load_settings({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}, env_file=None)
    first = anonymity_secret(settings)
    secret_file = tmp_path / "bot.db.secret"
    assert secret_file.read_text().strip() == first and len(first) >= 32
    assert secret_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert anonymity_secret(settings) == first  # a restart, or a second process, reads the same one
    given = load_settings({"ANONYMITY_SECRET": "3f9a1c77e2b04d8e9a6c5b1f0d2e7a48c1b9e3d5"}, env_file=None)
    assert anonymity_secret(given) == "3f9a1c77e2b04d8e9a6c5b1f0d2e7a48c1b9e3d5"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql:///nohost"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://host/"}, "DATABASE_URL"),
        ({"COALITION_TIMEZONE": "Mars/Olympus"}, "COALITION_TIMEZONE"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1-A"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": SLACK_BOT, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": SLACK_BOT}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1-A"}, "SLACK_BOT_TOKEN"),
        ({"DISCORD_BOT_TOKEN": "hunter2"}, "DISCORD_BOT_TOKEN"),
        ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
        ({"DISCORD_GATEWAY_URL": "http://127.0.0.1:1/"}, "DISCORD_GATEWAY_URL"),
        ({"SLACK_HTTP_PORT": "99999"}, "SLACK_HTTP_PORT"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None)
    message = str(caught.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message


def test_wrong_token_is_not_echoed_back() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DISCORD_BOT_TOKEN": "secret-value-do-not-print"}, env_file=None)
    assert "secret-value-do-not-print" not in str(caught.value)


def test_good_tokens_are_accepted_and_hidden_from_repr() -> None:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": SLACK_BOT,
            "SLACK_APP_TOKEN": "xapp-1-A0-123-abc",
            "DISCORD_BOT_TOKEN": DISCORD,
        },
        env_file=None,
    )
    assert platform("slack").configured(settings) and platform("discord").configured(settings)
    assert SLACK_BOT not in repr(settings) and DISCORD not in repr(settings)


def test_bad_configuration_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": "mysql://nope", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "run"],
        input="",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("coalition-bot: configuration error: DATABASE_URL:")
    assert "Traceback" not in done.stderr


def test_slack_in_http_mode_puts_the_one_http_server_on_its_port_unless_http_port_says_where() -> None:
    slack = {"SLACK_BOT_TOKEN": SLACK_BOT, "SLACK_SIGNING_SECRET": "a1b2c3d4e5f60718293a4b5c6d7e8f90"}
    alone = load_settings({**slack, "SLACK_HTTP_PORT": "3100", "SLACK_HTTP_HOST": "0.0.0.0"}, env_file=None)
    assert (alone.web_host, alone.web_port) == ("0.0.0.0", 3100)
    both = load_settings({**slack, "SLACK_HTTP_PORT": "3100", "HTTP_PORT": "8080"}, env_file=None)
    assert (both.web_host, both.web_port) == ("127.0.0.1", 8080)  # one server, where HTTP_PORT says
    socket_mode = load_settings({"SLACK_BOT_TOKEN": SLACK_BOT, "SLACK_APP_TOKEN": "xapp-1-A0-123-abc"}, env_file=None)
    assert socket_mode.web_port is None  # Socket Mode needs no server
