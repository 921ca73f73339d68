"""How the browser tests and the screenshot script start Debian's Chromium under Playwright.

Playwright's own browser download is not reachable here, so both drive /usr/bin/chromium; the
flags keep it headless and stop its background connections, which this machine's closed network
would refuse.
"""

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
