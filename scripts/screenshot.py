"""Screenshots of the dashboard for the README, taken from the live app filled with sample data.

    .venv/bin/python scripts/screenshot.py

creates an admin with `fulfil users create` and an API token with `fulfil tokens create`, starts
`fulfil serve` on the embedded PostgreSQL and Redis in a temporary directory (nothing configured
is touched), loads sample data through the API with the token (two CSV imports, a few products,
three webhooks and a local receiver for them, two more users and their API tokens), signs in
through the /login page, uploads one more file through the page, presses Test, and saves each view
at 1440 and 375 px (`docs/dashboard-<view>-<width>.png`: import, products, webhooks, tokens, users
and audit, full pages) and two open dialogs
(`dashboard-deliveries-<width>.png`, `dashboard-edit-<width>.png`). The sample holds a product
with a 100-character SKU, a 255-character name and a 2,000-character description. It drives
Debian's chromium (`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, FilePayload, Page, sync_playwright

from fulfil.imports.schemas import FINAL_STATUSES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the script shares the test helpers (tests/support)
from tests.support.access import bearer, create_admin  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sign_in  # noqa: E402
from tests.support.processes import serve, service_env  # noqa: E402
from tests.support.receivers import threaded_receiver  # noqa: E402
from tests.support.waiting import eventually_blocking  # noqa: E402

DOCS = ROOT / "docs"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a screenshot admin password"

# The longest values the API takes (a SKU of 100 characters, a name of 255) and a description
# of 2,000: the views must hold them without scrolling sideways.
LONG_SKU = "HOM-LINEN-" + "-".join(["NATURAL", "KING", "SET-OF-4", "STONEWASHED", "OEKO-TEX"] * 4)[:90]
LONG_NAME = ("Stonewashed linen bedding set with duvet cover, fitted sheet and four pillowcases, " * 4)[:255]
LONG_DESCRIPTION = ("Woven from long-staple flax, stonewashed for softness, pre-shrunk, and finished by hand. " * 23)[
    :2000
]

ITEMS = [
    ("Tea Towel", "HOM"),
    ("Serving Board", "KIT"),
    ("Table Runner", "HOM"),
    ("Espresso Cup", "KIT"),
    ("Water Carafe", "KIT"),
    ("Throw Blanket", "HOM"),
    ("Storage Basket", "HOM"),
    ("Cushion Cover", "HOM"),
    ("Salad Bowl", "KIT"),
    ("Candle Holder", "DEC"),
    ("Plant Pot", "DEC"),
    ("Wall Clock", "DEC"),
]
MATERIALS = ["Linen", "Oak", "Stoneware", "Walnut", "Wool", "Seagrass", "Cotton", "Brass", "Terracotta", "Glass"]
COLOURS = ["natural", "charcoal", "sage", "ochre", "white", "slate blue", "rust", "sand"]


def catalogue_csv(rows: int, seed: int, start: int = 10_000, bad_rows: int = 0) -> str:
    """A plausible home-goods catalogue; `bad_rows` rows lack a SKU so they land in the rejects."""
    rng = random.Random(seed)
    lines = ["name,sku,description,active"]
    for n in range(rows):
        item, family = rng.choice(ITEMS)
        material, colour = rng.choice(MATERIALS), rng.choice(COLOURS)
        size = rng.choice(["small", "medium", "large", "set of 2", "set of 4"])
        description = f'"{material} {item.lower()} in {colour}, {size}. Made to last; wipe clean."'
        active = "true" if rng.random() > 0.15 else "false"
        sku = "" if n < bad_rows else f"{family}-{start + n}"
        lines.append(f"{material} {item},{sku},{description},{active}")
    return "\n".join(lines) + "\n"


def answer_by_path(path: str) -> tuple[int, bytes]:
    """The sample receiver: `/ok...` answers 200, anything else 503."""
    return (200, b'{"received": true}') if path.startswith("/ok") else (503, b"maintenance")


@contextmanager
def service(workdir: Path) -> Iterator[tuple[str, str]]:
    """`fulfil serve` on the embedded servers under `workdir`, with an admin made first; its URL and
    the admin's API token. Stopped on exit."""
    env = service_env(
        DATA_DIR=workdir / "data", WORKER_IN_PROCESS="true", LOG_LEVEL="warning", ENVIRONMENT="development"
    )
    with (workdir / "service.log").open("w") as log:
        try:
            token = create_admin(env, ADMIN_EMAIL, ADMIN_PASSWORD)  # before serve: the embedded servers are its own
            with serve(env, stdout=log, within=180, grace=20) as served:
                yield served.url, token
        except (RuntimeError, AssertionError) as exc:
            raise SystemExit(f"{exc}; see {workdir / 'service.log'}") from None


def import_csv(api: httpx.Client, name: str, text: str) -> dict[str, Any]:
    reply = api.post("/api/upload", files={"file": (name, text.encode(), "text/csv")})
    reply.raise_for_status()
    progress_url = reply.json()["progress_url"]

    def final() -> dict[str, Any] | None:
        snapshot: dict[str, Any] = api.get(progress_url).json()
        return snapshot if snapshot["status"] in FINAL_STATUSES else None

    return eventually_blocking(final, within=120, every=0.2, what=f"the import of {name} finished")  # type: ignore[no-any-return]


def load_sample_data(api: httpx.Client, hooks: str) -> None:
    webhooks: list[dict[str, Any]] = [
        {
            "url": f"{hooks}/ok/storefront",
            "event_types": ["product.created", "product.updated", "product.deleted"],
            "secret": "whsec-sample",
            "timeout": 10,
        },
        {
            "url": f"{hooks}/legacy-erp",
            "event_types": ["import.completed", "product.bulk_deleted"],
            "retry_count": 0,
        },
        {
            "url": "https://search.example.com/hooks/fulfil",
            "event_types": ["product.created", "product.updated", "product.deleted", "import.completed"],
            "enabled": False,
            "secret": "whsec-search",
        },
    ]
    for hook in webhooks:
        api.post("/api/webhooks", json=hook).raise_for_status()
    import_csv(api, "catalogue-autumn.csv", catalogue_csv(4_800, seed=1))
    import_csv(api, "price-update-week-47.csv", catalogue_csv(1_200, seed=2, start=10_400, bad_rows=3))
    for sku, name, description in [
        (LONG_SKU, LONG_NAME, LONG_DESCRIPTION),
        ("GIFT-CARD-25", "Gift card, 25", "Digital gift card, delivered by e-mail."),
        ("GIFT-CARD-50", "Gift card, 50", "Digital gift card, delivered by e-mail."),
        ("HOM-LINEN-SET", "Linen bedding set", "Duvet cover and two pillowcases in washed linen."),
    ]:
        api.post("/api/products", json={"sku": sku, "name": name, "description": description}).raise_for_status()
    for email, role in [("maria.keller@example.com", "editor"), ("warehouse-screens@example.com", "viewer")]:
        user = {"email": email, "password": "a sample user password", "role": role}
        api.post("/api/users", json=user).raise_for_status()
    for token in [
        {"name": "ERP nightly sync", "scopes": ["products:read", "products:write", "imports:write"]},
        {"name": "Storefront search indexer", "scopes": ["products:read"], "expires_at": "2031-06-30T00:00:00Z"},
    ]:
        api.post("/api/tokens", json=token).raise_for_status()
    wait_for_last_deliveries(api, [hook["url"] for hook in webhooks if hook.get("enabled", True)])


def wait_for_last_deliveries(api: httpx.Client, urls: list[str]) -> None:
    """Wait until each of these webhooks has a last delivery, so the "Last delivery" column is filled in."""

    def delivered() -> bool:
        hooks = api.get("/api/webhooks").json()["items"]
        return all(hook["last_delivery_status"] not in (None, "pending") for hook in hooks if hook["url"] in urls)

    eventually_blocking(delivered, within=60, every=0.2, what="a delivery to each sample webhook")


VIEWS = ("import", "products", "webhooks", "tokens", "users", "audit")


def clean(page: Page) -> None:
    """No toasts, no focus ring, at the top: the view as it sits."""
    page.evaluate("document.getElementById('toasts').replaceChildren(); document.activeElement.blur(); scrollTo(0, 0)")


def save(page: Page, path: Path, *, full_page: bool = True) -> None:
    page.screenshot(path=str(path), full_page=full_page)
    print(f"saved {path}")


def upload_through_the_page(page: Page, url: str) -> None:
    """One more import through the upload card, then a Test of the storefront webhook."""
    page.goto(f"{url}/#import")
    arrivals: FilePayload = {
        "name": "new-arrivals.csv",
        "mimeType": "text/csv",
        "buffer": catalogue_csv(900, seed=3, start=20_000).encode(),
    }
    page.locator("#csv-file").set_input_files(files=[arrivals])
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_test_id("import-progress").locator(".badge", has_text="Completed").wait_for(timeout=60_000)
    page.goto(f"{url}/#webhooks")
    storefront = page.get_by_test_id("webhooks-table").locator("tbody tr").first
    storefront.get_by_role("button", name="Test").click()
    storefront.get_by_test_id("test-result").locator(".badge").wait_for()


def touch_the_long_product(api: httpx.Client) -> None:
    """The product with the longest values, edited last, so it heads the products list (newest first)."""
    (product,) = api.get("/api/products", params={"sku": LONG_SKU}).json()["items"]
    api.put(f"/api/products/{product['id']}", json={"active": not product["active"]}).raise_for_status()


def shoot(page: Page, url: str, width: int, out: Path) -> None:
    """Each view at `width` (`docs/dashboard-<view>-<width>.png`), then the failing webhook's
    deliveries in their dialog with one delivery's attempts open, and a product in its edit dialog."""
    for view in VIEWS:
        query = "?page_size=10&sort=-updated_at" if view == "products" else ""
        page.goto(f"{url}/{query}#{view}")
        ready = "import-history" if view == "import" else f"{view}-table"
        page.get_by_test_id(ready).locator("tbody tr").first.wait_for()
        page.wait_for_timeout(600)  # let toasts settle
        clean(page)
        save(page, out / f"dashboard-{view}-{width}.png")
    # The dialogs, over the view they open from (the viewport only: a dialog does not scroll the page).
    legacy = page.get_by_test_id("webhooks-table").locator("tbody tr").filter(has_text="legacy-erp")
    page.goto(f"{url}/#webhooks")
    legacy.get_by_role("button", name="Deliveries").click()
    dialog = page.get_by_role("dialog", name="Deliveries")
    dialog.get_by_test_id("delivery").first.locator("summary").click()
    page.evaluate("document.getElementById('toasts').replaceChildren()")
    save(page, out / f"dashboard-deliveries-{width}.png", full_page=False)
    page.goto(f"{url}/?q={LONG_SKU[:12]}#products")
    page.get_by_role("button", name=f"Edit {LONG_SKU}").click()
    page.get_by_role("dialog").wait_for()
    save(page, out / f"dashboard-edit-{width}.png", full_page=False)


def signed_in_page(browser: Browser, state: Any, **options: Any) -> Page:
    """A page in a new context that starts with the signed-in browser state `state`."""
    return browser.new_context(storage_state=state, **options).new_page()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder for the PNGs (default: docs/)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="fulfil-shots-") as tmp,
        threaded_receiver(answer_by_path) as hooks,
        service(Path(tmp)) as (url, token),
    ):
        with httpx.Client(base_url=url, timeout=60, headers=bearer(token)) as api:
            load_sample_data(api, hooks.root)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--font-render-hinting=none"])
            state = sign_in(browser, url, ADMIN_EMAIL, ADMIN_PASSWORD)
            wide = signed_in_page(browser, state, viewport={"width": 1440, "height": 900})
            upload_through_the_page(wide, url)
            with httpx.Client(base_url=url, timeout=60, headers=bearer(token)) as api:
                touch_the_long_product(api)
            shoot(wide, url, 1440, args.out)
            narrow = signed_in_page(
                browser, state, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True
            )
            shoot(narrow, url, 375, args.out)
            browser.close()


if __name__ == "__main__":
    main()
