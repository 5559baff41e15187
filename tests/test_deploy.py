"""The deploy files a volunteer sysadmin copies (issue 35): read as Docker, compose and systemd read
them, for the properties that went wrong before (a reinstall on every code change, a database
password in the compose file, no grace for a stop, an exposed unit). The image itself is built and
checked healthy in tests/test_operations.py where a Docker daemon is at hand."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)(s|m)", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_the_image_installs_locked_dependencies_before_the_source() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    assert lines.count("FROM ${PYTHON_IMAGE} AS build") == 1 and "FROM ${PYTHON_IMAGE}" in lines  # two stages
    pinned = next(line for line in lines if line.startswith("ARG PYTHON_IMAGE="))
    assert re.fullmatch(r"ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+", pinned), pinned
    locked = lines.index("RUN pip install --require-hashes -r requirements.lock")
    first_source = min(i for i, line in enumerate(lines) if re.match(r"COPY (bot|commands|adapters|storage) ", line))
    assert lines.index("COPY requirements.lock ./") < locked < first_source
    healthcheck = next(line for line in lines if line.startswith('CMD ["python"') or "readyz" in line)
    assert "HTTP_PORT" in healthcheck and "/readyz" in healthcheck


def test_the_lock_file_pins_every_dependency_with_hashes() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {_name(p) for p in re.findall(r"^([A-Za-z0-9_.\-]+)==", lock, re.MULTILINE)}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = [d for d in declared if _name(re.split(r"[<>=\[ ;]", d)[0]) not in pinned]
    assert missing == [], f"requirements.lock is behind pyproject.toml (README, Deploying): {missing}"
    assert lock.count("--hash=sha256:") >= len(pinned)


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirement).lower()


def test_compose_migrates_once_after_a_dump_and_stops_with_grace() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    bot = services["bot"]
    assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["dump-before-migrate"]["condition"] == "service_completed_successfully"
    assert "run" not in " ".join(services["migrate"]["command"]) and "upgrade" in services["migrate"]["command"]
    grace = _seconds(bot["stop_grace_period"])
    assert grace > int(bot["environment"]["STOP_GRACE_SECONDS"])
    for name, service in services.items():
        assert service["logging"]["options"]["max-size"], name  # rotated
    text = (ROOT / "compose.yaml").read_text()
    assert "POSTGRES_PASSWORD:" not in text and "coalition:coalition@" not in text  # no password in the file
    assert bot["environment"]["DATABASE_PASSWORD_FILE"].startswith("/run/secrets/")
    assert bot["environment"]["ANONYMITY_SECRET_FILE"].startswith("/run/secrets/")
    assert "-mtime +14 -delete" in " ".join(services["backup"]["command"])  # retention


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze scores the unit")
@pytest.mark.parametrize("unit", ["coalition-bot.service", "coalition-bot-backup.service"])
def test_the_systemd_units_are_sandboxed(unit: str) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(ROOT / "deploy" / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert score, done.stdout + done.stderr
    assert float(score[1]) <= 4.0, done.stdout


def test_the_unit_keeps_its_data_in_a_state_directory_and_stops_with_grace() -> None:
    unit = (ROOT / "deploy" / "coalition-bot.service").read_text()
    assert "StateDirectory=coalition-bot" in unit and "COALITION_DATA_DIR=/var/lib/coalition-bot" in unit
    stop = int(re.search(r"TimeoutStopSec=(\d+)", unit)[1])  # type: ignore[index]
    assert stop > 45  # STOP_GRACE_SECONDS' default
    timer = (ROOT / "deploy" / "coalition-bot-backup.timer").read_text()
    assert "OnCalendar=" in timer and "Persistent=true" in timer


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py")))
def test_each_benchmark_starts_as_the_readme_runs_it(script: str) -> None:
    """`.venv/bin/python bench/NAME.py`: run as a script, its folder comes first on the path, so a
    bench named like a module the bot imports (an `email.py` once did) breaks every bench."""
    import sys

    done = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
