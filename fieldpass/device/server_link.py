"""The device's HTTP link to the server: every answer verified against the pinned key.

Each request carries a fresh nonce; the server signs its answer bound to that nonce, the
request target and the request body (``fieldpass.sync.answers``). An answer that does not
verify against the server key the device pinned at enrollment is refused whole: the
device acts on none of it (no page applied, no token stored, no revocation obeyed),
whoever sent it. TLS (``https://`` with the system's or a given CA) protects the bearer
token on the way; the signatures protect the data even on plain HTTP.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import msgspec

from fieldpass.device.errors import DeviceError
from fieldpass.sync import answers, signing
from fieldpass.sync.messages import Problem

_problem_decoder = msgspec.json.Decoder(Problem)


def problem_of(response: httpx.Response) -> Problem:
    """The Problem body of an error answer (a readable stand-in if it has none)."""
    try:
        return _problem_decoder.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = response.text[:200].strip() or response.reason_phrase
        return Problem(code="server_error", message=f"HTTP {response.status_code}: {text}")


def auth_error(response: httpx.Response) -> DeviceError | None:
    """DeviceError for 401/403 answers (token unknown, device revoked), else None."""
    if response.status_code == 401:
        problem = problem_of(response)
        return DeviceError("unauthorized", f"unauthorized: {problem.message}")
    if response.status_code == 403:
        problem = problem_of(response)
        if problem.code == "device_revoked":
            return DeviceError("device_revoked", "device revoked")
        return DeviceError(problem.code or "forbidden", f"forbidden: {problem.message}")
    return None


def request_target(request: httpx.Request) -> str:
    """What the server signs as the target: the decoded path and the raw query."""
    query = request.url.query.decode("ascii")
    return f"{request.url.path}?{query}" if query else request.url.path


def answer_verifies(response: httpx.Response, server_public_key: str) -> bool:
    """True when ``response`` is the server's signed answer to exactly the request sent."""
    request = response.request
    nonce = request.headers.get(answers.NONCE_HEADER)
    signature = response.headers.get(answers.SIGNATURE_HEADER)
    if not nonce or not signature:
        return False
    try:
        public_key = signing.public_key_from_text(server_public_key)
    except (signing.EncodingError, ValueError):
        return False
    return answers.verify_answer(
        public_key,
        signature,
        nonce=nonce,
        method=request.method,
        target=request_target(request),
        request_body=request.content,
        status=response.status_code,
        body=response.content,
    )


def tls_verify(ca_file: Path | None) -> ssl.SSLContext | bool:
    """httpx's ``verify``: the system CAs, or only the given CA bundle (a private CA)."""
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise DeviceError("bad_ca", f"cannot use the CA file {ca_file}: {exc}") from None


class ServerLink:
    """Requests to one server; ``request`` returns only answers the pinned key signed."""

    def __init__(
        self,
        server_url: str,
        server_public_key: str | None,
        *,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
        ca_file: Path | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.server_public_key = server_public_key
        self.timeout = timeout
        self._own_http = http is None
        self.http = http if http is not None else httpx.Client(verify=tls_verify(ca_file))

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request with a fresh nonce; the answer is NOT verified (see ``request``)."""
        headers = {**kwargs.pop("headers", {}), answers.NONCE_HEADER: answers.new_nonce()}
        try:
            request = self.http.build_request(
                method, self.server_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
            return self.http.send(request)
        except httpx.HTTPError as exc:
            raise DeviceError("offline", f"server unreachable: {exc}") from exc

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``send``, then refuse the answer unless the pinned server key signed it."""
        response = self.send(method, path, **kwargs)
        if self.server_public_key is None:
            raise DeviceError(
                "not_enrolled", "no pinned server key: enroll this device (fieldpass device enroll)"
            )
        if not answer_verifies(response, self.server_public_key):
            fingerprint = answers.short_fingerprint(answers.key_fingerprint(self.server_public_key))
            raise DeviceError(
                "unverified_answer",
                f"refused an answer to {method} {path} (HTTP {response.status_code}) that the "
                f"server key {fingerprint} did not sign: nothing of it was used",
            )
        return response
