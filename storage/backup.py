"""Backups of a SQLite coalition: a consistent copy while the bot runs, restored only while it does not.

A backup is one tar file, readable by its owner only (and so are the files in it, however it is
unpacked), holding the database, copied with SQLite's online backup API so votes being written
meanwhile are either wholly in it or not at all. The anonymity secret travels apart by default:
with both, whoever holds the file can link the voters of polls that were open when it was taken to
their choices, for as long as the file exists. It goes in only when asked (`--with-secret`). A
running bot holds a lock on `<database>.lock`; `restore` refuses while anyone holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

DATABASE, SECRET = "coalition.db", "coalition.db.secret"


class BackupProblem(Exception):
    """What went wrong, and what to do."""


@contextlib.contextmanager
def running(database: Path) -> Iterator[None]:
    """Held by a running bot: `restore` will not replace the database under it."""
    lock = database.with_name(database.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # several processes may share one database
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def backup(database: Path, target: Path, secret: str | None = None) -> int:
    """Write the backup tar to `target` (mode 0600), with `secret` inside when given; its size."""
    if not database.exists():
        raise BackupProblem(f"there is no database at {database}")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / DATABASE
        source = sqlite3.connect(database)
        try:
            destination = sqlite3.connect(copy)
            with destination:
                source.backup(destination)
            destination.close()
        finally:
            source.close()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as archive:
            archive.add(copy, arcname=DATABASE, filter=_owner_only)
            if secret is not None:
                content = (secret.strip() + "\n").encode()
                entry = _owner_only(tarfile.TarInfo(SECRET))
                entry.size = len(content)
                archive.addfile(entry, io.BytesIO(content))
    os.chmod(target, 0o600)
    return target.stat().st_size


def _owner_only(entry: tarfile.TarInfo) -> tarfile.TarInfo:
    """Unpacked with a plain `tar xzf`, the database is readable by its owner only (not 0644)."""
    entry.mode = 0o600
    entry.uid = entry.gid = 0
    entry.uname = entry.gname = ""
    return entry


def holds_secret(archive_path: Path) -> bool:
    with tarfile.open(archive_path, mode="r:gz") as archive:
        return SECRET in archive.getnames()


def restore(archive_path: Path, database: Path, secret_file: Path | None = None) -> bool:
    """Put a backup in place of `database`, keeping what was there as `<database>.before-restore`.
    The secret: the backup's own if it holds one, else `secret_file`, else the one already beside
    the database is kept. True when a secret is beside the database afterwards."""
    lock = database.with_name(database.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupProblem(
                f"the bot is running on {database}; stop it first (restoring under it would lose what it writes)"
            ) from None
        with tarfile.open(archive_path, mode="r:gz") as archive:
            names = set(archive.getnames())
            if DATABASE not in names:
                raise BackupProblem(f"{archive_path} is not a coalition-bot backup (no {DATABASE} in it)")
            data = archive.extractfile(DATABASE)
            assert data is not None
            content = io.BytesIO(data.read())
            secret = archive.extractfile(SECRET).read() if SECRET in names else None  # type: ignore[union-attr]
        if secret is None and secret_file is not None:
            try:
                secret = secret_file.read_bytes()
            except OSError as exc:
                raise BackupProblem(f"--secret-file: cannot read {secret_file} ({exc.strerror})") from None
        replaced = ("", "-wal", "-shm", ".secret") if secret is not None else ("", "-wal", "-shm")
        for suffix in replaced:
            current = database.with_name(database.name + suffix)
            if current.exists():
                current.replace(database.with_name(database.name + suffix + ".before-restore"))
        _write(database, content.getvalue())
        if secret is not None:
            _write(database.with_name(database.name + ".secret"), secret)
        return database.with_name(database.name + ".secret").exists()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def before_migration(database: Path, revision: str) -> Path | None:
    """A copy taken automatically before start-up migrates a database that holds data."""
    if not database.exists():
        return None
    target = database.with_name(f"{database.name}.before-{revision}.backup")
    backup(database, target)
    return target
