"""Webhooks: subscriptions, the outbox and signed delivery."""
