"""The server's key file: the one secret of a server, kept out of the database.

From the 32-byte key in it come (1) the AES key sealing personal data at rest (PIN
holders) and the server's other secrets in the database (each event's ticket signing
key), and (2) the server's Ed25519 signing key, which signs device certificates and
every answer to a device (derived with HKDF, so it never sits in the database; a
server initialised before keys left the database keeps its original signing key,
sealed under this key, so its enrolled devices keep trusting it).

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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fieldpass.sync import sealing, signing

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


# -- secrets derived from or sealed with the key ---------------------------------------

SIGNING_KEY_META = "server_signing_key_sealed"
LEGACY_SIGNING_KEY_META = "server_signing_key"  # plaintext, before keys left the database
_SIGNING_KEY_AD = b"fieldpass:server-signing-key"


def derive_signing_key(master: bytes) -> Ed25519PrivateKey:
    """The server's Ed25519 signing key, derived from the key file's key."""
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"fieldpass:server-signing-key:v1",
    ).derive(sealing.check_key(master))
    return Ed25519PrivateKey.from_private_bytes(seed)


def seal_signing_key(master: bytes, key: Ed25519PrivateKey) -> str:
    return sealing.seal(master, signing.private_key_to_text(key).encode(), _SIGNING_KEY_AD)


def open_signing_key(master: bytes, sealed: str) -> Ed25519PrivateKey:
    try:
        text = sealing.unseal(master, sealed, _SIGNING_KEY_AD).decode("ascii")
    except sealing.SealError as exc:
        raise KeyFileError(
            f"the server signing key in the database does not open with this key file "
            f"({exc.code}): is it the key file of this database?"
        ) from None
    return signing.private_key_from_text(text)


def ticket_key_ad(event_id: str) -> bytes:
    """Associated data of an event's sealed ticket signing key (binds it to its event)."""
    return f"fieldpass:event-ticket-key:{event_id}".encode()


def seal_ticket_key(master: bytes, event_id: str, key: Ed25519PrivateKey) -> str:
    return sealing.seal(master, signing.private_key_to_text(key).encode(), ticket_key_ad(event_id))


def open_ticket_key(master: bytes, event_id: str, stored: str) -> Ed25519PrivateKey:
    """An event's ticket signing key from its sealed column value."""
    try:
        text = sealing.unseal(master, stored, ticket_key_ad(event_id)).decode("ascii")
    except sealing.SealError as exc:
        raise KeyFileError(
            f"the ticket key of event {event_id} does not open with this key file ({exc.code})"
        ) from None
    return signing.private_key_from_text(text)


def is_sealed(stored: str) -> bool:
    return stored.startswith(sealing.VERSION + ".")
