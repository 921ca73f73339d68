"""Debian's Chromium, as the browser tests and the screenshot script start it, and page helpers.

`sign_in` signs in through the dashboard's /login page, as a person does, and returns the
browser state (its session cookie) that new pages start with. `axe_violations` runs axe-core
(package.json; `npm ci`) on what a page shows.

Playwright's own browser download is not reachable here, so both drive /usr/bin/chromium; the
flags keep it headless and stop its background connections, which a closed network would refuse.
"""

from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def field_error(scope: Locator, label: str) -> Locator:
    """The error line under the control labelled `label` (wired by aria-describedby)."""
    control = scope.get_by_label(label)
    return scope.locator(f"#{control.get_attribute('id')}-error")


def sign_in(browser: Browser, url: str, email: str, password: str) -> Any:
    """Sign in through the /login page; the browser state (its session cookie) to start pages with."""
    context = browser.new_context(base_url=url)
    try:
        page = context.new_page()
        page.goto("/login?next=/%23products")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/#products")
        return context.storage_state()
    finally:
        context.close()


def axe_violations(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it is now (hidden views aside), one line each.

    The script goes in through the DevTools protocol, which the page's Content-Security-Policy does
    not govern. `label-content-name-mismatch` (visible text missing from the accessible name) is
    off by default in axe; it is on here.
    """
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci` (make test-e2e does)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, { rules: { "label-content-name-mismatch": { enabled: true } } }))
            .violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return [f"{v['id']} ({v['help']}): {', '.join(v['nodes'][:5])}" for v in found]
