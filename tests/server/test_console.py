"""The admin console is served as static files with a strict content security policy."""

from __future__ import annotations


def test_console_page_and_assets(client):
    page = client.simulate_get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/console/console.js"' in page.text
    script = client.simulate_get("/console/console.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/v1/auth/login" in script.text
    assert "innerHTML" not in script.text  # data is only ever written as text
    assert client.simulate_get("/console/console.css").status_code == 200


def test_console_serves_nothing_else(client):
    for path in ("/console/../app.py", "/console/__init__.py", "/console/secret.json"):
        result = client.simulate_get(path)
        assert result.status_code == 404, path
        assert result.json["code"] == "not_found"
