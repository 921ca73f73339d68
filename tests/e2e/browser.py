"""What the browser tests and the screenshot script share: Chromium's start and the service's.

Playwright's own browser download is not reachable here, so both drive /usr/bin/chromium; the
flags keep it headless and stop its background connections, which this machine's closed network
would refuse. Both run `fulfil serve` as a subprocess and wait for its health check.
"""

import subprocess
import time

import httpx

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


def wait_for_health(url: str, proc: subprocess.Popen[str] | subprocess.Popen[bytes], within: float = 60) -> None:
    """Block until `url`/healthz answers 200; fail early if the service process exits."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with {proc.returncode} during start-up")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url}/healthz did not answer 200 within {within:.0f} s")
