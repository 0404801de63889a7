"""``fieldpass admin sessions``: the organization's admin sessions on the server (who,
since when, until when, last used, from which address) and their revocation."""

from __future__ import annotations

import click

from fieldpass.cli.admin_client import segment
from fieldpass.cli.admin_cmds import (
    AdminSettings,
    admin,
    json_option,
    local_time,
    pass_settings,
    table,
)
from fieldpass.cli.errors import CliError, emit_json


@admin.group("sessions")
def sessions_group() -> None:
    """List and revoke the organization's admin sessions."""


@sessions_group.command("list")
@json_option
@pass_settings
def sessions_list_cmd(settings: AdminSettings, as_json: bool) -> None:
    """Unexpired sessions, newest first; * marks this login's own."""
    with settings.client() as client:
        answer = client.request("GET", "/v1/auth/sessions")
    sessions = answer.get("sessions") if isinstance(answer, dict) else None
    if not isinstance(sessions, list):
        raise CliError("the server answered without a 'sessions' list")
    if as_json:
        emit_json(sessions)
        return
    if not sessions:
        click.echo("no sessions")
        return
    click.echo(
        table(
            ("id", "email", "role", "created", "expires", "last used", "source", ""),
            [
                (
                    s.get("id"),
                    s.get("email"),
                    s.get("role"),
                    local_time(s.get("created_at")),
                    local_time(s.get("expires_at")),
                    local_time(s.get("last_used_at")),
                    s.get("source"),
                    "*" if s.get("current") else "",
                )
                for s in sessions
            ],
        )
    )


@sessions_group.command("revoke")
@click.argument("session_id")
@json_option
@pass_settings
def sessions_revoke_cmd(settings: AdminSettings, session_id: str, as_json: bool) -> None:
    """End a session at once: its token is refused from its next request on."""
    with settings.client() as client:
        revoked = client.request("POST", f"/v1/auth/sessions/{segment(session_id)}/revoke")
    if as_json:
        emit_json(revoked)
        return
    click.echo(f"session {revoked.get('id')} revoked")
