"""The dashboard's access views: API tokens made and revoked in the page, users an admin creates
and what their role is offered, the audit log, and a session that ends while the page is open."""

from __future__ import annotations

import re
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.e2e.conftest import ADMIN_EMAIL, Service
from tests.support.access import bearer
from tests.support.blocking import run_async
from tests.support.browser import sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "a password for e2e users"


async def expire_sessions(database_url: str, email: str) -> None:
    """Make every session of `email` idle for two days, as if the user had walked away."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE user_session SET last_seen_at = now() - interval '2 days'"
            " FROM app_user u WHERE u.id = user_session.user_id AND lower(u.email) = lower($1)",
            email,
        )
    finally:
        await conn.close()


def create_user_in_page(page: Page, email: str, role: str) -> None:
    page.goto("/#users")
    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog", name="New user")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Role").select_option(role)
    dialog.get_by_label("Initial password").fill(PASSWORD)
    dialog.get_by_role("button", name="Create user").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("users-table")).to_contain_text(email)


@pytest.fixture
def product(service: Service) -> Iterator[None]:
    """One product, so the table has rows whose buttons the role may or may not be offered."""
    with service.api() as api:
        created = api.post("/api/products", json={"sku": "ROLE-1", "name": "Role check"})
        assert created.status_code in (201, 409), created.text
        yield


def test_a_token_made_in_the_page_works_and_stops_once_revoked(page: Page, service: Service) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/#tokens")
    page.get_by_role("button", name="New token").click()
    dialog = page.get_by_role("dialog", name="New API token")
    dialog.get_by_label("Name").fill("e2e reader")
    # An admin is offered every scope; leave only products:read ticked.
    for scope in ["products:write", "imports:read", "imports:write", "webhooks:manage", "admin"]:
        dialog.get_by_role("checkbox", name=re.compile(f"^{scope}")).uncheck()
    dialog.get_by_role("button", name="Create token").click()

    shown = page.get_by_role("dialog", name="Token e2e reader created")
    token = shown.get_by_role("textbox").input_value()
    assert token.startswith("fk_")
    shown.get_by_role("button", name="Copy").click()
    expect(page.locator(".toast")).to_contain_text("Token copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    shown.get_by_role("button", name="Done").click()

    with httpx.Client(base_url=service.url, headers=bearer(token), timeout=30) as api:
        assert api.get("/api/products").status_code == 200
        assert api.post("/api/products", json={"sku": "TOK-1", "name": "Nope"}).status_code == 403
        assert api.get("/api/uploads").status_code == 403

        page.reload()
        row = page.get_by_test_id("tokens-table").locator("tr", has_text="e2e reader")
        expect(row).to_contain_text("products:read")
        expect(row).not_to_contain_text("never used")
        expect(row.locator("td[data-label='Last used'] time")).to_be_visible()
        expect(row.locator("td[data-label='Expires']")).to_have_text("never")

        row.get_by_role("button", name="Revoke e2e reader").click()
        confirm = page.get_by_role("dialog", name="Revoke token")
        confirm.get_by_role("button", name="Revoke token").click()
        expect(page.get_by_test_id("tokens-table")).not_to_contain_text("e2e reader")
        refused = api.get("/api/products")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


def test_a_token_with_an_expiry_lists_it(page: Page) -> None:
    page.goto("/#tokens")
    page.get_by_role("button", name="New token").click()
    dialog = page.get_by_role("dialog", name="New API token")
    dialog.get_by_label("Name").fill("e2e expiring")
    dialog.get_by_label("Expires").fill("2099-12-31")
    dialog.get_by_role("button", name="Create token").click()
    page.get_by_role("dialog", name="Token e2e expiring created").get_by_role("button", name="Done").click()
    row = page.get_by_test_id("tokens-table").locator("tr", has_text="e2e expiring")
    expect(row.locator("td[data-label='Expires']")).to_contain_text("2099")
    expect(row.locator("td[data-label='Last used']")).to_have_text("never")


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_a_user_made_by_an_admin_is_offered_only_what_their_role_allows(
    browser: Browser, page: Page, service: Service, product: None, role: str
) -> None:
    email = f"e2e-{role}@example.com"
    create_user_in_page(page, email, role)

    context = browser.new_context(base_url=service.url, storage_state=sign_in(browser, service.url, email, PASSWORD))
    try:
        mine = context.new_page()
        mine.goto("/#products")
        expect(mine.locator("#session")).to_contain_text(email)
        expect(mine.locator("#session")).to_contain_text(role)
        table = mine.get_by_test_id("products-table")
        expect(table).to_contain_text("ROLE-1")
        nav = mine.get_by_role("navigation", name="Sections")
        expect(nav.get_by_role("link", name="API tokens")).to_be_visible()
        for admin_only in ["Webhooks", "Users", "Audit"]:
            expect(nav.get_by_role("link", name=admin_only)).to_have_count(0)
        for section in ["#webhooks", "#users", "#audit"]:
            expect(mine.locator(section)).to_have_count(0)
        expect(mine.get_by_role("button", name="Bulk Delete")).to_have_count(0)
        writes = 1 if role == "editor" else 0
        expect(mine.get_by_role("button", name="New product")).to_have_count(writes)
        expect(table.get_by_role("button", name="Edit ROLE-1")).to_have_count(writes)
        expect(table.get_by_role("button", name="Delete ROLE-1")).to_have_count(writes)
        mine.goto("/#import")
        expect(mine.get_by_test_id("import-history")).to_be_visible()
        expect(mine.get_by_role("button", name="Import", exact=True)).to_have_count(writes)

        # Its tokens can carry only its role's scopes, and the API agrees with the page.
        mine.goto("/#tokens")
        mine.get_by_role("button", name="New token").click()
        offered = mine.get_by_role("dialog", name="New API token").get_by_role("checkbox")
        expected = ["products:read", "imports:read"] + (["products:write", "imports:write"] if writes else [])
        assert sorted(offered.evaluate_all("els => els.map(e => e.value)")) == sorted(expected)
        mine.keyboard.press("Escape")
        assert context.request.get(f"{service.url}/api/webhooks").status == 403
        mine.goto("/#webhooks")
        expect(mine.locator("#webhooks-card")).to_have_count(0)
    finally:
        context.close()


def test_the_last_admin_cannot_be_demoted_and_the_page_says_why(page: Page) -> None:
    page.goto("/#users")
    row = page.get_by_test_id("users-table").locator("tr", has_text=ADMIN_EMAIL)
    row.get_by_label(f"Role of {ADMIN_EMAIL}").select_option("editor")
    expect(page.locator("#users-card .notice--danger")).to_contain_text("is the last enabled admin")
    expect(row.get_by_label(f"Role of {ADMIN_EMAIL}")).to_have_value("admin")
    row.get_by_role("button", name="Disable").click()
    page.get_by_role("dialog", name="Disable user").get_by_role("button", name="Disable user").click()
    expect(page.locator("#users-card .notice--danger")).to_contain_text("is the last enabled admin")
    expect(row).to_contain_text("Active")


def test_an_admin_disables_a_user_and_sets_a_password(browser: Browser, page: Page, service: Service) -> None:
    email = "e2e-disabled@example.com"
    create_user_in_page(page, email, "viewer")
    row = page.get_by_test_id("users-table").locator("tr", has_text=email)
    row.get_by_role("button", name="Disable").click()
    page.get_by_role("dialog", name="Disable user").get_by_role("button", name="Disable user").click()
    expect(row).to_contain_text("Disabled")
    expect(row.get_by_role("button", name="Enable")).to_be_focused()  # the redrawn row keeps the keyboard
    with httpx.Client(base_url=service.url, timeout=30) as anonymous:
        refused = anonymous.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert refused.status_code == 401
        row.get_by_role("button", name="Enable").click()
        expect(row).to_contain_text("Active")
        row.get_by_role("button", name="Set password").click()
        dialog = page.get_by_role("dialog", name=f"New password for {email}")
        dialog.get_by_label("New password").fill("another e2e password")
        dialog.get_by_label("The same again").fill("another e2e password")
        dialog.get_by_role("button", name="Set password").click()
        expect(dialog).to_be_hidden()
        assert anonymous.post("/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
        accepted = anonymous.post("/api/auth/login", json={"email": email, "password": "another e2e password"})
        assert accepted.status_code == 200


def test_the_audit_view_lists_the_sign_ins_and_filters_them(page: Page) -> None:
    page.goto("/#audit")
    table = page.get_by_test_id("audit-table")
    signin = table.locator("tr", has_text="auth.signin").filter(has_text=ADMIN_EMAIL).first
    expect(signin).to_contain_text("127.0.0.1")
    page.get_by_label("Action").select_option("auth.signin")
    expect(table.locator("tbody tr").first).to_contain_text("auth.signin")
    expect(table.locator("tbody tr", has_not_text="auth.signin")).to_have_count(0)
    page.get_by_label("Actor (email)").fill("nobody-here@example.com")
    expect(page.locator("#audit-card")).to_contain_text("Nothing matches these filters")
    page.get_by_label("Actor (email)").fill(ADMIN_EMAIL)
    expect(table.locator("tbody tr").first).to_contain_text(ADMIN_EMAIL)
    page.get_by_label("From").fill("2099-01-01T00:00")
    expect(page.locator("#audit-card")).to_contain_text("Nothing matches these filters")


def test_the_audit_view_pages_through_the_log(page: Page, service: Service) -> None:
    with service.api() as api:
        for n in range(55):
            assert api.post("/api/tokens", json={"name": f"paging {n}", "scopes": ["products:read"]}).status_code == 201
    page.goto("/#audit")
    page.get_by_label("Action").select_option("token.created")
    card = page.locator("#audit-card")
    expect(card.locator(".pager__label")).to_have_text(re.compile(r"Page 1 of [2-9]"))
    expect(card.get_by_test_id("audit-table").locator("tbody tr")).to_have_count(50)
    card.get_by_role("button", name="Next page of the audit log").click()
    expect(card.locator(".pager__label")).to_have_text(re.compile(r"Page 2 of"))
    expect(card.get_by_test_id("audit-table")).to_contain_text("paging 0")
    expect(card.get_by_role("button", name="Previous page of the audit log")).to_be_enabled()


def test_a_session_that_ends_mid_use_signs_in_again_and_comes_back(
    browser: Browser, page: Page, service: Service
) -> None:
    email = "e2e-walks-away@example.com"
    create_user_in_page(page, email, "editor")
    context = browser.new_context(base_url=service.url, storage_state=sign_in(browser, service.url, email, PASSWORD))
    try:
        mine = context.new_page()
        mine.goto("/#tokens")
        expect(mine.get_by_test_id("tokens-table")).to_be_visible()

        # A write from the tokens section.
        run_async(expire_sessions(service.database_url, email))
        mine.get_by_role("button", name="New token").click()
        dialog = mine.get_by_role("dialog", name="New API token")
        dialog.get_by_label("Name").fill("after a break")
        dialog.get_by_role("button", name="Create token").click()
        expect(mine).to_have_url(re.compile(r"/login\?next=%2F%23tokens$"))
        sign_in_here(mine, email)
        expect(mine).to_have_url(re.compile(r"/#tokens$"))
        expect(mine.get_by_role("button", name="New token")).to_be_visible()

        # A read from the products section, with its filters in the address.
        mine.goto("/?q=ROLE#products")
        expect(mine.get_by_test_id("products-table")).to_be_visible()
        run_async(expire_sessions(service.database_url, email))
        mine.get_by_label("Search").fill("ROLE-")
        expect(mine).to_have_url(re.compile(r"/login\?next="))
        sign_in_here(mine, email)
        expect(mine).to_have_url(re.compile(r"/\?q=ROLE-#products$"))
        expect(mine.get_by_label("Search")).to_have_value("ROLE-")

        # The upload's XHR: nothing is imported, and the page comes back to the upload.
        mine.goto("/#import")
        expect(mine.get_by_test_id("import-history")).to_be_visible()
        run_async(expire_sessions(service.database_url, email))
        csv_file: FilePayload = {"name": "late.csv", "mimeType": "text/csv", "buffer": b"sku,name\nLATE-1,Late\n"}
        mine.locator("#csv-file").set_input_files(files=[csv_file])
        mine.get_by_role("button", name="Import", exact=True).click()
        expect(mine).to_have_url(re.compile(r"/login\?next=%2F%23import$"))
        sign_in_here(mine, email)
        expect(mine).to_have_url(re.compile(r"/#import$"))
        expect(mine.get_by_role("button", name="Import", exact=True)).to_be_visible()
    finally:
        context.close()


def sign_in_here(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
