"""``fieldpass server``: init, create-admin, new-epoch and their one-line failures."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fieldpass.cli import cli
from fieldpass.server.db import HEAD_REVISION


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def epoch_of(db: Path) -> str:
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        value = conn.exec_driver_sql("select value from server_meta where key='epoch'").scalar()
    engine.dispose()
    return value


def test_init_is_idempotent_and_reports_the_revision(tmp_path):
    db = tmp_path / "data" / "server.sqlite"
    first = run("server", "init", "--db", f"sqlite:///{db}")
    assert first.exit_code == 0, first.output
    assert f"database ready at revision {HEAD_REVISION}" in first.output
    epoch = epoch_of(db)
    again = run("server", "init", "--db", f"sqlite:///{db}")
    assert f"already at revision {HEAD_REVISION}" in again.output
    assert epoch_of(db) == epoch  # re-running init must not look like a restore


def test_create_admin_needs_a_schema_and_a_real_password(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    env = {"FIELDPASS_ADMIN_PASSWORD": "long-enough-pw"}
    missing = run("server", "create-admin", "--db", url, "--email", "a@b.org", env=env)
    assert missing.exit_code == 1
    assert "run `fieldpass server init` first" in missing.output
    run("server", "init", "--db", url)
    short = run(
        "server",
        "create-admin",
        "--db",
        url,
        "--email",
        "a@b.org",
        env={"FIELDPASS_ADMIN_PASSWORD": "short"},
    )
    assert short.exit_code == 1
    assert short.output.strip() == "error: password must have at least 12 characters"
    bad = run("server", "create-admin", "--db", url, "--email", "nobody", env=env)
    assert bad.exit_code == 1 and "not an email address" in bad.output
    ok = run("server", "create-admin", "--db", url, "--email", "A@B.org", env=env)
    assert ok.exit_code == 0, ok.output
    assert "admin a@b.org created: owner" in ok.output


def _password_hash(url: str, email: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.exec_driver_sql(
            "select password_hash from users where email = ?", (email,)
        ).scalar_one()
    engine.dispose()
    return value


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "at least 12 characters"),
        ("password1234", "common passwords"),
        ("Password2024!", "common passwords"),
        ("qwertyuiop123", "common passwords"),
        ("boss@example.org", "must not be the e-mail"),
        ("BOSS@EXAMPLE.ORG", "must not be the e-mail"),
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
    ],
)
def test_create_admin_refuses_weak_passwords(tmp_path, password, reason):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    run("server", "init", "--db", url)
    env = {"FIELDPASS_ADMIN_PASSWORD": password}
    result = run("server", "create-admin", "--db", url, "--email", "boss@example.org", env=env)
    assert result.exit_code == 1 and reason in result.output, result.output
    assert result.output.count("\n") == 1  # one line


def test_create_admin_refuses_an_existing_email_unless_reset_password(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    run("server", "init", "--db", url)
    first = {"FIELDPASS_ADMIN_PASSWORD": "first-long-password"}
    assert (
        run("server", "create-admin", "--db", url, "--email", "a@b.org", env=first).exit_code == 0
    )
    before = _password_hash(url, "a@b.org")
    second = {"FIELDPASS_ADMIN_PASSWORD": "second-long-password"}
    again = run("server", "create-admin", "--db", url, "--email", "A@b.org", env=second)
    assert again.exit_code == 1 and "already exists" in again.output
    assert "--reset-password" in again.output
    assert _password_hash(url, "a@b.org") == before  # nothing changed
    reset = run(
        "server", "create-admin", "--db", url, "--email", "a@b.org", "--reset-password", env=second
    )
    assert reset.exit_code == 0 and "has a new password" in reset.output, reset.output
    assert _password_hash(url, "a@b.org") != before


def test_new_epoch_changes_the_epoch(tmp_path):
    db = tmp_path / "s.sqlite"
    run("server", "init", "--db", f"sqlite:///{db}")
    before = epoch_of(db)
    result = run("server", "new-epoch", "--db", f"sqlite:///{db}")
    assert result.exit_code == 0
    assert epoch_of(db) != before
    assert epoch_of(db) in result.output


def test_bad_urls_and_binds_are_one_line_errors(tmp_path):
    bad_url = run("server", "init", "--db", "mysql-ish:nonsense")
    assert bad_url.exit_code == 1
    assert bad_url.output.startswith("error: ") and "Traceback" not in bad_url.output
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    run("server", "init", "--db", url)
    bind = run("server", "serve", "--db", url, "--bind", "localhost")
    assert bind.exit_code == 1
    assert "--bind must be HOST:PORT" in bind.output
    unreachable = run("server", "init", "--db", "postgresql://x:y@127.0.0.1:1/nope")
    assert unreachable.exit_code == 1
    assert unreachable.output.startswith("error: database postgresql://x:***@127.0.0.1:1/nope")


def test_serve_needs_both_tls_files_and_a_usable_pair(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    run("server", "init", "--db", url)
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    only_one = run("server", "serve", "--db", url, "--certfile", str(cert))
    assert only_one.exit_code == 1
    assert "give both --certfile and --keyfile" in only_one.output
    bad = run("server", "serve", "--db", url, "--certfile", str(cert), "--keyfile", str(cert))
    assert bad.exit_code == 1 and bad.output.startswith("error: cannot use"), bad.output
