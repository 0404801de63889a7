"""The server's key file for personal data at rest (PIN holders), kept out of the database.

Where it is: ``--key-file``, else ``$FIELDPASS_KEY_FILE``, else next to a SQLite database
(``<database file>.key``), else (PostgreSQL) ``<user data dir>/fieldpass/server.key``.
``fieldpass server init`` creates it (mode 0600, never overwritten); ``serve`` loads it
once into :class:`~fieldpass.server.config.ServerConfig`. A database backup without its
key file cannot reveal holders' identifiers; a lost key file makes them unreadable.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

import platformdirs
import sqlalchemy as sa

from fieldpass.sync import sealing

KEY_FILE_ENV = "FIELDPASS_KEY_FILE"


class KeyFileError(Exception):
    """A key file that cannot be created or used; the message says which and why."""


def resolve_key_path(db_url: str, key_file: str | Path | None = None) -> Path:
    """Where the key file of the database at ``db_url`` is (see the module docstring)."""
    if key_file:
        return Path(key_file).expanduser()
    from_env = os.environ.get(KEY_FILE_ENV)
    if from_env:
        return Path(from_env).expanduser()
    try:
        url = sa.engine.make_url(db_url)
    except sa.exc.ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database).expanduser()
        return database.with_name(database.name + ".key")
    return Path(platformdirs.user_data_dir("fieldpass")) / "server.key"


def ensure_key_file(path: Path) -> bool:
    """Create a new random key at ``path`` (mode 0600) unless one exists; True if created."""
    if path.exists():
        load_key(path)  # an unusable existing file is an error, never silently replaced
        return False
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        load_key(path)  # created concurrently
        return False
    except OSError as exc:
        raise KeyFileError(f"cannot create the key file {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(sealing.key_to_text(sealing.generate_key()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return True


def load_key(path: Path) -> bytes:
    """The key in ``path``; a KeyFileError if it is missing, unreadable, too open or bad."""
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {path}: run `fieldpass server init`") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise KeyFileError(f"cannot read the key file {path}: {reason}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"the key file {path} is readable by other users: chmod 600 {path}")
    try:
        return sealing.key_from_text(text)
    except sealing.SealError:
        raise KeyFileError(f"the key file {path} does not hold a 32-byte base64url key") from None


def load_key_if_present(path: Path) -> bytes | None:
    """The key, or None when there is no file (the server then refuses holder data)."""
    if not path.exists():
        return None
    return load_key(path)
