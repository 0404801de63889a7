"""GET /v1/openapi.json: an OpenAPI 3.1 description of every route the app serves.

Built once from the app's own routing table (``falcon.inspect``) and what each resource
declares it reads (``Resource.bodies`` / ``optional_bodies`` / ``query``), with the JSON
schemas of the msgspec request Structs (``msgspec.json.schema_components``), so it cannot
drift from the code: a route added to the app appears here, and its body schema is the
Struct the route decodes. The input fuzz (tests/server/test_fuzz_routes.py) runs against
it; people can read it too.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import falcon
import falcon.inspect
import msgspec

from fieldpass.server.api.base import Resource
from fieldpass.server.api.common import send

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?}")
_SECURITY = {
    "admin": [{"admin": []}],
    "device": [{"device": []}],
    "integration": [{"integration": []}],
    "none": [],
}
_SCALARS = {str: {"type": "string"}, int: {"type": "integer"}}


def describe(app: falcon.App) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (pure; call once the routes are added)."""
    operations: list[tuple[str, str, Any, str]] = []
    struct_types: list[Any] = []
    for route in falcon.inspect.inspect_routes(app):
        resource = _resource(app, route.path)
        if resource is None:
            continue
        for method in route.methods:
            if method.internal:
                continue
            operations.append((route.path, method.method, resource, method.function_name))
            body = resource.bodies.get(method.method)
            if isinstance(body, type):
                struct_types.append(body)
    schemas, components = msgspec.json.schema_components(
        list(dict.fromkeys(struct_types)), ref_template="#/components/schemas/{name}"
    )
    body_schemas = dict(zip(dict.fromkeys(struct_types), schemas, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for path, http_method, resource, function_name in operations:
        template = _PARAM.sub(r"{\1}", path)
        operation: dict[str, Any] = {
            "operationId": f"{type(resource).__name__}.{function_name}",
            "security": _SECURITY.get(getattr(resource, "auth", "admin"), []),
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(path)
            ]
            + [
                {"name": name, "in": "query", "required": False, "schema": _SCALARS[kind]}
                for name, kind in resource.query.get(http_method, {}).items()
            ],
            "responses": {
                "default": {
                    "description": "JSON: the answer, or a Problem {code, message}",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
        }
        body = resource.bodies.get(http_method)
        if isinstance(body, type):
            content = {"application/json": {"schema": body_schemas[body]}}
        elif isinstance(body, str):
            content = {body: {"schema": {"type": "string"}}}
        else:
            content = None
        if content is not None:
            operation["requestBody"] = {
                "required": http_method not in resource.optional_bodies,
                "content": content,
            }
        paths.setdefault(template, {})[http_method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fieldpass server", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                name: {"type": "http", "scheme": "bearer", "description": f"{name} token"}
                for name in ("admin", "device", "integration")
            },
        },
    }


def _resource(app: falcon.App, path: str) -> Any:
    """The resource object routed at ``path`` (a template: its fields are placeholders)."""
    found = app._router.find(_PARAM.sub("x", path))
    return None if found is None else found[0]


class OpenApiResource(Resource):
    auth = "none"

    def __init__(self, engine, config, app: falcon.App) -> None:
        super().__init__(engine, config)
        self._app = app
        self._document: bytes | None = None
        self._lock = threading.Lock()

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with self._lock:
            if self._document is None:
                self._document = msgspec.json.encode(describe(self._app))
        send(resp, self._document)
