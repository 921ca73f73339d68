"""The dashboard, shipped inside the installed package as `fulfil.web` (see pyproject.toml)."""
