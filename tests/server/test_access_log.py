"""The access log's second line of defence: secrets in URLs are redacted before logging."""

from __future__ import annotations

from fieldpass.server.access_log import REDACTED, redact_path, redact_query


def test_validation_numbers_and_pins_in_paths_are_redacted():
    assert redact_path("/v1/raffle-orders/123456789012345678") == f"/v1/raffle-orders/{REDACTED}"
    assert redact_path("/v1/raffle-orders/0012-3456-7890-1234-56/claim") == (
        f"/v1/raffle-orders/{REDACTED}/claim"
    )
    assert redact_path("/v1/pins/48213/cancel") == f"/v1/pins/{REDACTED}/cancel"
    assert redact_path("/v1/x/000123456789000") == f"/v1/x/{REDACTED}"
    for kept in ("/v1/raffle-orders/lookup", "/v1/events/e-1/pins/import", "/v1/health"):
        assert redact_path(kept) == kept


def test_query_values_are_kept_only_for_harmless_keys():
    assert redact_query("search=Ana+Horvat&limit=5") == f"search={REDACTED}&limit=5"
    assert redact_query("cursor=ep1:42&protocol=1") == "cursor=ep1:42&protocol=1"
    assert redact_query("token=abc&validation=1234") == f"token={REDACTED}&validation={REDACTED}"
    assert redact_query("") == ""
