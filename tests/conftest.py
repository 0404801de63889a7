"""Shared fixtures: isolate every test from the host's config and device homes."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolate_host(tmp_path_factory, monkeypatch):
    """No test reads or writes the real user's config, data or device home."""
    root = tmp_path_factory.mktemp("host")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.delenv("FIELDPASS_HOME", raising=False)
    monkeypatch.delenv("FIELDPASS_ADMIN_PASSWORD", raising=False)
