"""HTTP plumbing of ``fieldpass admin``: server URL, saved login, requests, error mapping.

The admin commands are a thin layer over :class:`AdminClient`. Every failure leaves here
as a :class:`~fieldpass.cli.errors.CliError` with one line: the server's Problem message,
"cannot reach the server", a timeout, or an answer that is not a Fieldpass server's.

The login is saved as ``{url, token, email, expires}`` in
``<user config dir>/fieldpass/admin.json`` (``$XDG_CONFIG_HOME`` respected), mode 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import platformdirs

from fieldpass.cli.errors import CliError

DEFAULT_TIMEOUT = 30.0
#: The server validates and stores a whole import in one request: give it time to answer.
IMPORT_READ_TIMEOUT = 600.0
UPLOAD_CHUNK = 64 * 1024
NOT_LOGGED_IN = "not logged in or session expired: run `fieldpass admin login`"

ProgressCallback = Callable[[int], None]


def session_path() -> Path:
    """Where the admin login is kept (follows ``$XDG_CONFIG_HOME`` on Linux)."""
    return platformdirs.user_config_path("fieldpass") / "admin.json"


def normalise_url(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash; a CliError otherwise."""
    text = url.strip().rstrip("/")
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise CliError(f"invalid server URL {url[:100]!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(f"invalid server URL {url[:100]!r}: use http://HOST:PORT or https://HOST")
    if parsed.query or parsed.fragment:
        raise CliError(f"invalid server URL {url[:100]!r}: no query or fragment, please")
    return text


@dataclass
class Session:
    """A saved admin login."""

    url: str
    token: str
    email: str
    expires: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> Session | None:
        """The saved login, None if there is none; a CliError if the file is damaged."""
        path = path or session_path()
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CliError(f"cannot read the saved login {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
            session = cls(
                url=str(data["url"]),
                token=str(data["token"]),
                email=str(data.get("email", "")),
                expires=data.get("expires"),
            )
        except (ValueError, KeyError, TypeError):
            raise CliError(
                f"the saved login {path} is damaged: run `fieldpass admin login` again"
            ) from None
        return session

    def save(self, path: Path | None = None) -> Path:
        """Write atomically with mode 0600 (the token is a password equivalent)."""
        path = path or session_path()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)  # whatever the umask or an older file said
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(asdict(self), handle, indent=2, sort_keys=True)
                    handle.write("\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise
            os.replace(temporary, path)
        except OSError as exc:
            raise CliError(f"cannot save the login to {path}: {exc.strerror or exc}") from None
        return path

    @staticmethod
    def forget(path: Path | None = None) -> bool:
        path = path or session_path()
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise CliError(f"cannot remove the saved login {path}: {exc.strerror or exc}") from None
        return True


class ApiProblem(CliError):
    """The server refused a request with a Problem body."""

    def __init__(self, message: str, *, status: int, code: str, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body


class InvalidRows(ApiProblem):
    """A ticket import refused as a whole (422 ``invalid_rows``); nothing was imported."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors")
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    @property
    def total(self) -> int:
        """How many problems there are (the server lists at most a bounded number)."""
        count = self.body.get("invalid_count")
        return max(len(self.errors), count if isinstance(count, int) else 0)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def segment(value: str) -> str:
    """One URL path segment (ids and barcodes are user input)."""
    return quote(value, safe="")


class AdminClient:
    """The admin API of one server, with an optional bearer token."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = normalise_url(url)
        self.token = token
        self.timeout = timeout
        headers = {"Accept": "application/json", "User-Agent": "fieldpass-admin"}
        self.http = httpx.Client(
            base_url=self.url, timeout=timeout, headers=headers, transport=transport
        )

    # -- construction -----------------------------------------------------------------

    @classmethod
    def from_saved_login(
        cls, url: str | None, *, timeout: float = DEFAULT_TIMEOUT, require_token: bool = True
    ) -> AdminClient:
        """A client for ``url`` (else the saved login's URL) with the saved token.

        A saved login for another server is not used: that is "not logged in" there.
        """
        try:
            session = Session.load()
        except CliError:
            if url is None or require_token:
                raise
            session = None  # logging in again replaces a damaged saved login
        if url is None:
            if session is None:
                raise CliError(
                    "no server URL: pass `fieldpass admin --url URL ...` or log in first "
                    "(`fieldpass admin --url URL login --email E`)"
                )
            url = session.url
        target = normalise_url(url)
        token = None
        if session is not None and normalise_url(session.url) == target:
            token = session.token
        if require_token and not token:
            if session is not None:
                raise CliError(
                    f"not logged in at {target} (the saved login is for {session.url}): "
                    f"run `fieldpass admin --url {target} login --email E`"
                )
            raise CliError(NOT_LOGGED_IN)
        return cls(target, token, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
        problems: dict[str, type[ApiProblem]] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or a one-line CliError."""
        send_headers = dict(headers or {})
        if auth:
            if not self.token:
                raise CliError(NOT_LOGGED_IN)
            send_headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.http.request(
                method,
                path,
                json=json_body,
                params=params,
                content=content,
                headers=send_headers,
                timeout=self.timeout if timeout is None else timeout,
            )
        except httpx.TimeoutException:
            raise CliError(
                f"the server at {self.url} did not answer in time ({method} {path[:80]})"
            ) from None
        except httpx.UnsupportedProtocol as exc:
            raise CliError(f"invalid server URL {self.url}: {_one_line(str(exc))}") from None
        except httpx.TransportError as exc:
            reason = _one_line(str(exc) or type(exc).__name__, 200)
            raise CliError(f"cannot reach the server at {self.url}: {reason}") from None
        return self._answer(response, auth=auth, problems=problems or {})

    def _answer(
        self, response: httpx.Response, *, auth: bool, problems: dict[str, type[ApiProblem]]
    ) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if status < 400:
            if body is None:
                raise CliError(
                    f"the server at {self.url} answered HTTP {status} with something that is "
                    "not JSON: is this a Fieldpass server?"
                )
            return body
        if status == 401 and auth:
            raise CliError(NOT_LOGGED_IN)
        if not isinstance(body, dict) or not isinstance(body.get("message"), str):
            snippet = _one_line(response.text, 80) if response.text.strip() else "empty body"
            raise CliError(
                f"the server at {self.url} answered HTTP {status} without a Fieldpass error "
                f"({snippet}): is this a Fieldpass server?"
            )
        code = str(body.get("code") or "error")
        message = _one_line(body["message"])
        if status >= 500:
            message = f"server error (HTTP {status}): {message}"
        problem_type = problems.get(code, ApiProblem)
        raise problem_type(message, status=status, code=code, body=body)

    # -- login ------------------------------------------------------------------------

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Log in; the answer's token becomes this client's token (not saved here)."""
        answer = self.request(
            "POST", "/v1/auth/login", auth=False, json_body={"email": email, "password": password}
        )
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise CliError(f"the server at {self.url} answered the login without a token")
        self.token = token
        return answer

    # -- the admin API ----------------------------------------------------------------

    def list_events(self) -> list[dict[str, Any]]:
        return self._list(self.request("GET", "/v1/events"), "events")

    def get_event(self, event_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/events/{segment(event_id)}")

    def create_event(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v1/events", json_body=body)

    def list_gates(self, event_id: str) -> list[dict[str, Any]]:
        return self._list(self.request("GET", f"/v1/events/{segment(event_id)}/gates"), "gates")

    def create_gate(self, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/v1/events/{segment(event_id)}/gates", json_body=body)

    def import_tickets(
        self, event_id: str, data: bytes, progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """Upload a CSV (with a Content-Length; progress per chunk sent).

        The server validates every row first: any bad row raises :class:`InvalidRows`
        and nothing is imported.
        """

        def chunks() -> Iterator[bytes]:
            view = memoryview(data)
            for start in range(0, len(view), UPLOAD_CHUNK):
                piece = bytes(view[start : start + UPLOAD_CHUNK])
                yield piece
                if progress is not None:
                    progress(len(piece))

        return self.request(
            "POST",
            f"/v1/events/{segment(event_id)}/tickets/import",
            content=chunks(),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                # Explicit: a chunked body without a length is not what the server expects.
                "Content-Length": str(len(data)),
            },
            timeout=httpx.Timeout(self.timeout, read=max(self.timeout, IMPORT_READ_TIMEOUT)),
            problems={"invalid_rows": InvalidRows},
        )

    def search_tickets(self, event_id: str, search: str, limit: int) -> list[dict[str, Any]]:
        answer = self.request(  # a POST body: holder names never reach an access log
            "POST",
            f"/v1/events/{segment(event_id)}/tickets/search",
            json_body={"search": search, "limit": limit},
        )
        return self._list(answer, "tickets")

    def revoke_ticket(
        self, event_id: str, barcode: str, reason: str, status: str = "REVOKED"
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/v1/events/{segment(event_id)}/tickets/{segment(barcode)}/revoke",
            json_body={"reason": reason, "status": status},
        )

    def sign_ticket(self, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request(
            "POST", f"/v1/events/{segment(event_id)}/tickets/signed", json_body=body
        )

    def list_devices(self) -> list[dict[str, Any]]:
        return self._list(self.request("GET", "/v1/devices"), "devices")

    def approve_device(self, code: str, event_id: str, gate_id: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code, "event_id": event_id}
        if gate_id is not None:
            body["gate_id"] = gate_id
        return self.request("POST", "/v1/devices/approve", json_body=body)

    def revoke_device(self, device_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/devices/{segment(device_id)}/revoke")

    def list_conflicts(self, event_id: str | None = None) -> list[dict[str, Any]]:
        params = {"event_id": event_id} if event_id else None
        return self._list(self.request("GET", "/v1/conflicts", params=params), "conflicts")

    def resolve_conflict(self, conflict_id: int, resolution: str) -> dict[str, Any]:
        return self.request(
            "POST", f"/v1/conflicts/{conflict_id}/resolve", json_body={"resolution": resolution}
        )

    def attendance(self, event_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/events/{segment(event_id)}/reports/attendance")

    # -- petrol: PINs, seats, deeplinks -------------------------------------------------

    def create_pin(self, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/v1/events/{segment(event_id)}/pins", json_body=body)

    def import_pins(self, event_id: str, data: bytes) -> dict[str, Any]:
        """Upload a PIN CSV; any bad row raises :class:`InvalidRows` and nothing is created."""
        return self.request(
            "POST",
            f"/v1/events/{segment(event_id)}/pins/import",
            content=data,
            headers={"Content-Type": "text/csv; charset=utf-8"},
            timeout=httpx.Timeout(self.timeout, read=max(self.timeout, IMPORT_READ_TIMEOUT)),
            problems={"invalid_rows": InvalidRows},
        )

    def list_pins(self, event_id: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else None
        answer = self.request("GET", f"/v1/events/{segment(event_id)}/pins", params=params)
        return self._list(answer, "pins")

    def cancel_pin(self, pin: str, reason: str | None = None) -> dict[str, Any]:
        body = {"reason": reason} if reason else {}
        return self.request("POST", f"/v1/pins/{segment(pin)}/cancel", json_body=body)

    def add_sector(self, event_id: str, name: str, rows: str, seats: str) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/v1/events/{segment(event_id)}/sectors",
            json_body={"name": name, "rows": rows, "seats": seats},
        )

    def list_sectors(self, event_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/v1/events/{segment(event_id)}/sectors")
        return self._list(answer, "sectors")

    def allocate_seats(self, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", f"/v1/events/{segment(event_id)}/seat-blocks", json_body=body)

    def list_seat_blocks(self, event_id: str) -> list[dict[str, Any]]:
        answer = self.request("GET", f"/v1/events/{segment(event_id)}/seat-blocks")
        return self._list(answer, "blocks")

    def return_seat_block(self, block_id: str) -> dict[str, Any]:
        return self.request("POST", f"/v1/seat-blocks/{segment(block_id)}/return")

    def petrol_deeplink(self, event_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/events/{segment(event_id)}/petrol-deeplink")

    def _list(self, answer: Any, key: str) -> list[dict[str, Any]]:
        items = answer.get(key) if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise CliError(f"the server at {self.url} answered without a {key!r} list")
        return items
