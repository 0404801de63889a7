"""Base of every resource: holds the engine and config; resources stay stateless."""

from __future__ import annotations

import sqlalchemy as sa

from fieldpass.server.config import ServerConfig


class Resource:
    auth = "admin"
    large_body = False

    def __init__(self, engine: sa.Engine, config: ServerConfig) -> None:
        self.engine = engine
        self.config = config
