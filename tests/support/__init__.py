"""Plain helpers shared by the API tests, the browser tests, the benchmarks and the scripts.

No fixtures live here: the conftest.py files hold those, thin, and call these modules. Each
module is one concept: `ports` (free ports), `waiting` (polling for a condition, health waits),
`blocking` (async helpers from blocking code), `databases` (PostgreSQL and Redis databases of
one's own), `processes` (`python -m fulfil` as a real process), `live` (the app on uvicorn in the
test's loop), `receivers` (webhook receivers that record what they get), `browser` (Chromium's
start, page helpers), and `products`, `imports`, `webhooks` (the API called as a client would).
"""
