"""``fieldpass server``: create or migrate the database, create admins, run gunicorn."""

from __future__ import annotations

import os
from pathlib import Path

import click
import platformdirs
import sqlalchemy as sa

from fieldpass.cli.errors import CliError, emit_json

PASSWORD_ENV = "FIELDPASS_ADMIN_PASSWORD"


def default_db_url() -> str:
    """``FIELDPASS_DB`` if set, else a SQLite file in the user's data directory."""
    url = os.environ.get("FIELDPASS_DB")
    if url:
        return url
    return f"sqlite:///{Path(platformdirs.user_data_dir('fieldpass')) / 'server.sqlite'}"


db_option = click.option(
    "--db",
    "db_url",
    default=default_db_url,
    show_default="$FIELDPASS_DB or a SQLite file in the user data dir",
    help="Database URL: sqlite:///PATH or postgresql://USER:PASS@HOST/DB.",
)


key_file_option = click.option(
    "--key-file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The server's key file (default: $FIELDPASS_KEY_FILE, else next to a SQLite "
    "database, else server.key in the user data dir).",
)


def _engine(db_url: str) -> sa.Engine:
    from fieldpass.server.db import DatabaseError, make_engine

    try:
        return make_engine(db_url)
    except DatabaseError as exc:
        raise CliError(str(exc)) from exc
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise CliError(f"not a database URL: {db_url!r}") from exc


def _database_failure(exc: sa.exc.SQLAlchemyError, db_url: str) -> CliError:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    where = sa.engine.make_url(db_url).render_as_string(hide_password=True)
    return CliError(f"database {where}: {reason}")


@click.group()
def server() -> None:
    """Run and administer the central server."""


@server.command("init")
@db_option
@key_file_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init_command(db_url: str, key_file: Path | None, as_json: bool) -> None:
    """Create the schema, or migrate an existing database to the current version.

    Also creates the key file (mode 0600; an existing key file is kept): it seals PIN
    holders' personal data and the server's secrets in the database, and the server's
    signing key derives from it. Keep it out of database backups, and back it up apart:
    without it devices no longer trust the server. Prints the server key's fingerprint,
    which installers give devices with `fieldpass device enroll --pin`.
    """
    from fieldpass.server.db import init_db, server_signing_key
    from fieldpass.server.keys import KeyFileError, ensure_key_file, load_key, resolve_key_path

    key_path = resolve_key_path(db_url, key_file)
    try:
        key_created = ensure_key_file(key_path)
        key = load_key(key_path)
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    engine = _engine(db_url)
    try:
        result = init_db(engine, key)
        fingerprint = _fingerprint(server_signing_key(engine, key))
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise _database_failure(exc, db_url) from exc
    finally:
        engine.dispose()
    if as_json:
        emit_json(
            {
                "revision_before": result.revision_before,
                "revision": result.revision_after,
                "epoch": result.epoch,
                "key_file": str(key_path),
                "key_created": key_created,
                "server_key_fingerprint": fingerprint,
            }
        )
        return
    if result.revision_before == result.revision_after:
        click.echo(f"database already at revision {result.revision_after} (epoch {result.epoch})")
    else:
        click.echo(f"database ready at revision {result.revision_after} (epoch {result.epoch})")
    if key_created:
        click.echo(f"created the key file: {key_path} (back it up apart from the database)")
    else:
        click.echo(f"key file: {key_path}")
    click.echo(f"server key: {fingerprint} (devices pin it: fieldpass device enroll --pin ...)")


def _fingerprint(key) -> str:
    from fieldpass.sync.answers import key_fingerprint
    from fieldpass.sync.signing import public_key_text

    return key_fingerprint(public_key_text(key))


@server.command("fingerprint")
@db_option
@key_file_option
def fingerprint_command(db_url: str, key_file: Path | None) -> None:
    """Print the server key's fingerprint (for `fieldpass device enroll --pin`)."""
    from fieldpass.server.db import server_signing_key
    from fieldpass.server.keys import KeyFileError, load_key, resolve_key_path

    engine = _engine(db_url)
    try:
        click.echo(
            _fingerprint(server_signing_key(engine, load_key(resolve_key_path(db_url, key_file))))
        )
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise _database_failure(exc, db_url) from exc
    finally:
        engine.dispose()


@server.command("create-admin")
@db_option
@click.option("--email", required=True, help="The admin's e-mail address (the login).")
@click.option("--org", "org_name", default="Default", show_default=True, help="Organization.")
@click.option(
    "--role",
    type=click.Choice(["owner", "admin", "viewer"]),
    default="owner",
    show_default=True,
)
@click.option(
    "--reset-password",
    is_flag=True,
    help="The e-mail exists: set its new password (its sessions end) instead of refusing.",
)
def create_admin_command(
    db_url: str, email: str, org_name: str, role: str, reset_password: bool
) -> None:
    """Create an admin user; the password comes from $FIELDPASS_ADMIN_PASSWORD or a prompt.

    The password needs 12 characters or more, not a common one, not the e-mail."""
    from fieldpass.server.db import DatabaseError, create_admin, current_revision

    engine = _engine(db_url)
    try:
        if current_revision(engine) is None:
            raise CliError("the database has no schema yet: run `fieldpass server init` first")
        password = os.environ.get(PASSWORD_ENV) or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
        created = create_admin(
            engine, email, password, org_name, role=role, reset_password=reset_password
        )
    except DatabaseError as exc:
        raise CliError(str(exc)) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise _database_failure(exc, db_url) from exc
    finally:
        engine.dispose()
    done = "has a new password and" if reset_password else "created:"
    click.echo(f"admin {created['email']} {done} {role} of organization {org_name!r}")


@server.command("serve")
@db_option
@click.option("--bind", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option(
    "--enroll-limit",
    type=click.IntRange(1, 1_000_000),
    default=100,
    show_default=True,
    help="Device enrollments accepted per source address per hour.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="ADDRESS",
    help="A reverse proxy whose X-Forwarded-For gives the client's address (repeatable; "
    "default: this machine, 127.0.0.1 and ::1, where the packaged nginx runs).",
)
@key_file_option
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    default=None,
    help="TLS certificate (PEM, with its chain): serve HTTPS. Needs --keyfile.",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    default=None,
    help="The certificate's private key (PEM). Needs --certfile.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds a request body may take (plus 1 s per 50 KB) before it is answered 408.",
)
def serve_command(
    db_url: str,
    bind: str,
    workers: int,
    threads: int,
    enroll_limit: int,
    trusted_proxies: tuple[str, ...],
    key_file: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    body_timeout: float,
) -> None:
    """Serve the HTTP API with gunicorn (HTTPS with --certfile and --keyfile).

    For a real deployment put the nginx of packaging/nginx in front (TLS, buffering)."""
    from fieldpass.server.config import ServerConfig
    from fieldpass.server.db import current_revision
    from fieldpass.server.keys import KeyFileError, load_key, resolve_key_path
    from fieldpass.server.wsgi import serve

    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CliError(f"--bind must be HOST:PORT, got {bind!r}")
    if (certfile is None) != (keyfile is None):
        raise CliError("give both --certfile and --keyfile for TLS, or neither")
    if certfile is not None and keyfile is not None:
        _check_tls_files(certfile, keyfile)
    engine = _engine(db_url)
    try:
        if current_revision(engine) is None:
            raise CliError("the database has no schema yet: run `fieldpass server init` first")
    except sa.exc.SQLAlchemyError as exc:
        raise _database_failure(exc, db_url) from exc
    finally:
        engine.dispose()
    key_path = resolve_key_path(db_url, key_file)
    try:
        pii_key = load_key(key_path)  # without it nothing a device trusts can be signed
    except KeyFileError as exc:
        raise CliError(str(exc)) from exc
    config = ServerConfig(
        pii_key=pii_key,
        enroll_per_source_per_hour=enroll_limit,
        body_grace_ms=int(body_timeout * 1000),
        **({"trusted_proxies": frozenset(trusted_proxies)} if trusted_proxies else {}),
    )
    serve(
        db_url,
        bind=bind,
        workers=workers,
        threads=threads,
        config=config,
        certfile=None if certfile is None else str(certfile),
        keyfile=None if keyfile is None else str(keyfile),
    )


def _check_tls_files(certfile: Path, keyfile: Path) -> None:
    """Load the pair once here, so a wrong file is a one-line error, not a worker crash."""
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise CliError(f"cannot use {certfile} with {keyfile} for TLS: {exc}") from None


@server.command("new-epoch")
@db_option
def new_epoch_command(db_url: str) -> None:
    """Start a new epoch after restoring from a backup: devices re-pull and re-push."""
    from fieldpass.server.db import current_revision, new_epoch

    engine = _engine(db_url)
    try:
        if current_revision(engine) is None:
            raise CliError("the database has no schema yet: run `fieldpass server init` first")
        epoch = new_epoch(engine)
    except sa.exc.SQLAlchemyError as exc:
        raise _database_failure(exc, db_url) from exc
    finally:
        engine.dispose()
    click.echo(f"new epoch {epoch}: every device will re-pull and re-push what the server lacks")
