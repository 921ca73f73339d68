"""Fulfil-RK: a product catalogue with streamed CSV import, live progress and signed webhooks."""
