"""Rules point downward: the schemas and their field rules load without the service behind them."""

from __future__ import annotations

import subprocess
import sys

SCHEMAS = [
    "fulfil.validation",
    "fulfil.products.schemas",
    "fulfil.webhooks.schemas",
    "fulfil.imports.schemas",
    "fulfil.access.schemas",
]


def test_schemas_load_without_the_database_the_queue_or_the_web_app() -> None:
    code = f"import sys; {'; '.join(f'import {name}' for name in SCHEMAS)}; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    for heavy in ("fulfil.api", "fulfil.resources", "fulfil.queue", "databases", "arq", "starlette"):
        assert f"'{heavy}'" not in loaded, f"loading the schemas imports {heavy}"
