"""Base of every resource: holds the engine and config; resources stay stateless."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from fieldpass.server.config import ServerConfig


class Resource:
    auth = "admin"
    large_body = False
    #: What each method reads, for the API description (GET /v1/openapi.json) and the
    #: input fuzz: a msgspec Struct decoded from JSON, or a media type for a raw body.
    bodies: ClassVar[dict[str, Any]] = {}
    #: Methods whose body may be left out (every field then takes its default).
    optional_bodies: ClassVar[frozenset[str]] = frozenset()
    #: Query parameters each method reads: name -> ``str`` or ``int``.
    query: ClassVar[dict[str, dict[str, type]]] = {}

    def __init__(self, engine: sa.Engine, config: ServerConfig) -> None:
        self.engine = engine
        self.config = config
