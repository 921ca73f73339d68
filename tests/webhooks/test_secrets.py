"""Secrets at rest and their rotation: sealed under SECRET_KEY, rotated with an overlap a real
receiver verifies with the reference `standardwebhooks` library, erased after the grace."""

from __future__ import annotations

import base64
import hashlib
import hmac

import asyncpg
import httpx
import pytest
import standardwebhooks

from fulfil.settings import SettingsError, load_settings
from fulfil.webhooks import secrets
from fulfil.webhooks.jobs import seal_secrets
from tests.support.live import LiveServer
from tests.support.receivers import Received, Receiver
from tests.support.waiting import eventually
from tests.support.webhooks import create_webhook

OLD, NEW = "old-sëcret", "new-secret"


def verifier(secret: str) -> standardwebhooks.Webhook:
    return standardwebhooks.Webhook("whsec_" + base64.b64encode(secret.encode()).decode())


def legacy(secret: str, request: Received) -> str:
    return "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()


def refuses(secret: str, request: Received) -> bool:
    try:
        verifier(secret).verify(request.body, request.headers)
    except standardwebhooks.WebhookVerificationError:
        return True
    return False


async def change(client: httpx.AsyncClient, sku: str) -> None:
    assert (await client.post("/api/products", json={"sku": sku, "name": sku})).status_code == 201


async def test_a_secret_is_stored_sealed_never_in_plaintext(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    hook = await create_webhook(client, "https://example.com/hook", secret=OLD)
    row = await db.fetchrow("SELECT secret, secret_sealed, secret_key_id FROM webhook WHERE id = $1", hook["id"])
    assert row["secret"] is None
    assert OLD not in row["secret_sealed"]
    assert OLD.encode() not in base64.urlsafe_b64decode(row["secret_sealed"])
    assert hook["has_secret"] is True


async def test_during_the_grace_both_secrets_verify_and_after_it_only_the_new_one(
    client: httpx.AsyncClient, receiver: Receiver, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, receiver.url, secret=OLD)
    response = await client.post(f"/api/webhooks/{hook['id']}/rotate-secret", json={"secret": NEW, "grace_seconds": 2})
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"] == NEW
    assert rotated["previous_secret_expires_at"] is not None
    assert rotated["webhook"]["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]

    await change(client, "DURING")
    (during,) = await receiver.wait_for(1)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verifier(NEW).verify(during.body, during.headers)["data"]["sku"] == "DURING"
    assert verifier(OLD).verify(during.body, during.headers)["data"]["sku"] == "DURING"
    assert during.headers["X-Webhook-Signature"] == legacy(NEW, during)

    # The sweep erases the old secret once the grace is over.
    await eventually(
        lambda: db.fetchval("SELECT previous_secret_sealed IS NULL FROM webhook WHERE id = $1", hook["id"]),
        what="the old secret erased",
    )
    await change(client, "AFTER")
    after = (await receiver.wait_for(2))[1]
    assert " " not in after.headers["webhook-signature"]
    assert verifier(NEW).verify(after.body, after.headers)["data"]["sku"] == "AFTER"
    assert refuses(OLD, after)
    shown = (await client.get(f"/api/webhooks/{hook['id']}")).json()
    assert shown["previous_secret_expires_at"] is None


async def test_a_generated_secret_is_shown_once_and_audited(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    hook = await create_webhook(client, "https://example.com/hook", secret=OLD)
    rotated = (await client.post(f"/api/webhooks/{hook['id']}/rotate-secret", json={})).json()
    assert len(rotated["secret"]) >= 40
    for response in (await client.get(f"/api/webhooks/{hook['id']}"), await client.get("/api/webhooks")):
        assert rotated["secret"] not in response.text
    audit = await db.fetchrow("SELECT action, details FROM audit_event WHERE action = 'webhook.secret_rotated'")
    assert audit is not None
    assert rotated["secret"] not in audit["details"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"grace_seconds": 7 * 24 * 3600 + 1}, "grace_seconds"),
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"grace_seconds": "1"}, "grace_seconds"),
        ({"secret": "a\x00b"}, "secret"),
        ({"secret": "x" * 513}, "secret"),
        ({"other": 1}, "other"),
    ],
)
async def test_a_bad_rotation_names_its_field(client: httpx.AsyncClient, body: dict, field: str) -> None:
    hook = await create_webhook(client, "https://example.com/hook", secret=OLD)
    response = await client.post(f"/api/webhooks/{hook['id']}/rotate-secret", json=body)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert (await client.post("/api/webhooks/999999/rotate-secret", json={})).status_code == 404


async def test_a_plaintext_secret_is_sealed_by_the_sweep_and_still_signs(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, receiver.url)
    await db.execute("UPDATE webhook SET secret = $1 WHERE id = $2", OLD, hook["id"])  # as before sealing existed
    await change(client, "PLAIN")
    (request,) = await receiver.wait_for(1)
    assert request.headers["X-Webhook-Signature"] == legacy(OLD, request)

    await eventually(
        lambda: db.fetchval(
            "SELECT secret IS NULL AND secret_sealed IS NOT NULL FROM webhook WHERE id = $1", hook["id"]
        )
    )
    await change(client, "SEALED")
    second = (await receiver.wait_for(2))[1]
    assert verifier(OLD).verify(second.body, second.headers)["data"]["sku"] == "SEALED"


async def test_secret_key_rotation_reads_old_keys_and_seals_anew(live_server: LiveServer) -> None:
    old_settings = live_server.resources.settings
    token = secrets.seal(old_settings, OLD)
    rotated = old_settings.model_copy(update={"secret_key": "a-new-key", "old_secret_keys": old_settings.secret_key})
    assert secrets.unseal(rotated, token) == OLD
    resealed = secrets.reseal(rotated, token)
    assert secrets.unseal(rotated.model_copy(update={"old_secret_keys": ""}), resealed) == OLD
    with pytest.raises(secrets.SecretUnreadable):
        secrets.unseal(rotated.model_copy(update={"old_secret_keys": ""}), token)
    assert secrets.key_id(rotated) != secrets.key_id(old_settings)


async def test_the_sweep_moves_secrets_to_a_new_secret_key(
    client: httpx.AsyncClient, live_server: LiveServer, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, "https://example.com/hook", secret=OLD, headers={"X-Key": "v"})
    await client.post(f"/api/webhooks/{hook['id']}/rotate-secret", json={"secret": NEW})
    resources = live_server.resources
    old_settings = resources.settings
    resources.settings = old_settings.model_copy(
        update={"secret_key": "the-next-key", "old_secret_keys": f"unused, {old_settings.secret_key}"}
    )
    try:
        await seal_secrets(resources)  # (or the sweep, which runs with the same settings, did)
        assert await seal_secrets(resources) == 0
        columns = "secret_sealed, previous_secret_sealed, headers_sealed"
        row = await db.fetchrow(f"SELECT {columns} FROM webhook WHERE id = $1", hook["id"])
        only_new = resources.settings.model_copy(update={"old_secret_keys": ""})
        assert secrets.unseal(only_new, row["secret_sealed"]) == NEW
        assert secrets.unseal(only_new, row["previous_secret_sealed"]) == OLD
        assert secrets.unseal(only_new, row["headers_sealed"]) == '{"X-Key": "v"}'
    finally:
        resources.settings = old_settings


async def test_a_secret_no_key_opens_fails_the_delivery_without_sending_it(
    client: httpx.AsyncClient, live_server: LiveServer, receiver: Receiver, db: asyncpg.Connection
) -> None:
    hook = await create_webhook(client, receiver.url, secret=OLD, retry_count=3)
    stranger = live_server.resources.settings.model_copy(update={"secret_key": "a key nobody lists"})
    await db.execute("UPDATE webhook SET secret_sealed = $1 WHERE id = $2", secrets.seal(stranger, OLD), hook["id"])
    await change(client, "LOCKED")

    async def failed() -> dict | None:
        items = (await client.get(f"/api/webhooks/{hook['id']}/deliveries")).json()["items"]
        return items[0] if items and items[0]["status"] == "failed" else None

    delivery = await eventually(failed)
    assert "neither SECRET_KEY nor one of OLD_SECRET_KEYS" in delivery["last_error"]
    assert len(delivery["attempts"]) == 1
    assert receiver.received == []


def test_production_refuses_the_default_secret_key() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is the default"):
        load_settings(environment="production", _env_file=None)
    assert load_settings(environment="production", secret_key="s" * 40, _env_file=None).production
