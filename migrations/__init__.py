"""The SQL migrations, shipped inside the installed package as `fulfil.migrations` (see pyproject.toml)."""
