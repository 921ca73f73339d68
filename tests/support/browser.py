"""Debian's Chromium, as the browser tests and the screenshot script start it, and page helpers.

Playwright's own browser download is not reachable here, so both drive /usr/bin/chromium; the
flags keep it headless and stop its background connections, which a closed network would refuse.
"""

from playwright.sync_api import Locator

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
