"""The data that ships inside the package: the SQL migrations and the dashboard's files.

In the repository they are the top-level `migrations/` and `web/` folders, which pyproject.toml
maps onto the packages `fulfil.migrations` and `fulfil.web`; an installed wheel and an editable
install both reach them through importlib.resources, never through a path relative to the code.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path


def migrations() -> Traversable:
    """The folder of numbered SQL files."""
    return files("fulfil.migrations")


def web_dir() -> Path:
    """The dashboard's folder as a directory on disk, which is what StaticFiles serves from."""
    folder = files("fulfil.web")
    if not isinstance(folder, Path):
        raise RuntimeError("the dashboard's files are not on disk (installed as a zip?); install fulfil unpacked")
    return folder
