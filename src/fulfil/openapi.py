"""The OpenAPI document and the offline docs pages (filled in by the products issue)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
