"""The one exception commands raise to fail with a one-line reason."""

from __future__ import annotations

import json
from typing import Any

import click


class CliError(Exception):
    """A user-facing failure: printed as ``error: <message>``, exit code ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON for scripts."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
