"""Signing in and out in the browser, the docs under the Content-Security-Policy, and forged
requests from a page on another port (same site, so the session cookie goes along) all failing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Service

ATTACK = """<!doctype html>
<html><body>
<form id="multipart" method="POST" action="{url}/api/upload" enctype="multipart/form-data" target="sink1">
  <input name="file" value="sku,name&#10;EVIL-1,Evil"></form>
<form id="plain" method="POST" action="{url}/api/products" enctype="text/plain" target="sink2">
  <input name='{{"sku": "EVIL-2", "name": "Evil", "x": "' value='"}}'></form>
<form id="hook" method="POST" action="{url}/api/webhooks" enctype="text/plain" target="sink3">
  <input name='{{"url": "http://127.0.0.1:1/steal", "event_types": ["product.created"], "x": "' value='"}}'></form>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<script>
  window.attack = async () => {{
    const body = JSON.stringify({{sku: "EVIL-3", name: "Evil"}});
    await fetch("{url}/api/products", {{method: "POST", mode: "no-cors", credentials: "include", body}});
    const csv = new FormData();
    csv.append("file", new Blob(["sku,name\\nEVIL-4,Evil\\n"], {{type: "text/csv"}}), "evil.csv");
    await fetch("{url}/api/upload", {{method: "POST", mode: "no-cors", credentials: "include", body: csv}});
    for (const id of ["multipart", "plain", "hook"]) document.getElementById(id).submit();
  }};
</script>
</body></html>
"""


@pytest.fixture
def attacker(service: Service) -> Iterator[str]:
    page = ATTACK.format(url=service.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_forged_requests_from_another_page_change_nothing(browser: Browser, service: Service, attacker: str) -> None:
    context = browser.new_context(storage_state=service.storage_state)
    try:
        page = context.new_page()
        page.goto(attacker)
        with page.expect_response(lambda r: "/api/webhooks" in r.url) as last:
            page.evaluate("window.attack()")
        assert last.value.status == 403
    finally:
        context.close()
    with service.api() as api:
        assert api.get("/api/products", params={"q": "EVIL"}).json()["total"] == 0
        assert api.get("/api/uploads").json()["total"] == 0
        assert api.get("/api/webhooks").json()["total"] == 0


def test_signed_out_the_dashboard_sends_you_to_sign_in_and_back(browser: Browser, service: Service) -> None:
    context = browser.new_context(base_url=service.url)
    try:
        page = context.new_page()
        page.goto("/#webhooks")
        page.wait_for_url("**/login?next=*")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("email or password is not right")
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/#webhooks")
        expect(page.locator("#session")).to_contain_text(ADMIN_EMAIL)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login")
        page.goto("/")
        page.wait_for_url("**/login?next=*")
    finally:
        context.close()


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "[data-section-id]")])
def test_the_api_docs_render_under_the_content_security_policy(
    browser: Browser, service: Service, path: str, ready: str
) -> None:
    context = browser.new_context(base_url=service.url)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible(timeout=20_000)
    finally:
        context.close()
    # ReDoc's footer always asks its CDN for a logo: the policy refusing it is expected (as is a missing favicon).
    allowed = ("cdn.redoc.ly/redoc/logo-mini.svg", "Failed to load resource")
    assert [e for e in errors if not any(a in e for a in allowed)] == []
