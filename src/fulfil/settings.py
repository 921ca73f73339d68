"""Every setting of the service, read once from the environment and `.env`.

A bad value stops start-up with one line that names the variable (see `load_settings`).
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    """WEBHOOK_ALLOWED_NETWORKS: networks such as `10.0.0.0/8, fd00::/8`, separated by commas."""
    networks = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a network such as 10.0.0.0/8") from exc
    return networks


DEFAULT_SECRET_KEY = "your-secret-key-change-in-production"


class SettingsError(Exception):
    """A setting has a value the service cannot use; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str | None = Field(None, description="PostgreSQL URL; unset: embedded PostgreSQL")
    redis_url: str | None = Field(None, description="Redis URL; unset: embedded Redis")
    celery_broker_url: str | None = Field(None, description="Accepted for compatibility; unused")
    celery_result_backend: str | None = Field(None, description="Accepted for compatibility; unused")
    secret_key: str = DEFAULT_SECRET_KEY
    old_secret_keys: str = Field(
        "", description="Former SECRET_KEYs, by commas: what they sealed is still read, and sealed again anew"
    )
    debug: bool = True
    environment: Literal["development", "production", "test"] = "development"
    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    upload_dir: Path | None = None
    upload_storage: Literal["database", "local"] = Field(
        "database", description="Where uploads wait for their job: PostgreSQL (any host) or UPLOAD_DIR (one host)"
    )
    max_upload_mb: int = Field(200, ge=1)
    import_batch_rows: int = Field(10_000, ge=1, description="CSV rows per import batch (one COPY + upsert + commit)")
    # Slow clients (see fulfil.limits): a request head must arrive within HEADER_TIMEOUT_SECONDS; each
    # BODY_IDLE_TIMEOUT_SECONDS spent waiting for a body must bring BODY_MIN_BYTES_PER_SECOND a second.
    header_timeout_seconds: float = Field(10.0, gt=0)
    body_idle_timeout_seconds: float = Field(30.0, gt=0)
    body_min_bytes_per_second: int = Field(1024, ge=0)
    max_connections: int = Field(1000, ge=1, description="Connections and requests served at once; past it a 503")
    max_concurrent_uploads: int = Field(8, ge=1, description="Uploads received at once per process; past it a 503")
    worker_in_process: bool = True
    migrate_on_start: bool = True
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # Twice the worker's job slots: each running import holds one connection for its whole run, so
    # even ten imports at once leave half the pool to the API.
    db_pool_size: int = Field(20, ge=2, le=200)
    history_retention_days: int = Field(
        30, ge=0, description="Days finished imports and webhook deliveries are kept; 0 keeps them forever"
    )
    preview_ttl_hours: int = Field(
        24, ge=1, description="Hours a finished import preview (and its stored file) waits to be confirmed"
    )
    product_history_days: int = Field(
        90, ge=0, description="Days product history entries are kept (and imports can be undone); 0 keeps them"
    )
    webhook_retry_base_seconds: float = Field(5.0, gt=0)
    webhook_retry_max_seconds: float = Field(3600.0, gt=0)
    webhook_allowed_networks: str = ""
    webhook_disable_after_hours: float = Field(
        120.0, gt=0, description="A webhook whose deliveries all failed this long (5 at least) is disabled"
    )
    allowed_hosts: str = Field(
        "", description="Host names the service answers to, by commas; default: localhost, 127.0.0.1, [::1], HOST"
    )
    session_idle_minutes: int = Field(120, ge=1, description="A dashboard session ends after this long unused")
    session_max_hours: int = Field(24 * 7, ge=1, description="A dashboard session ends this long after sign-in")
    audit_retention_days: int = Field(365, ge=0, description="Days audit entries are kept; 0 keeps them forever")

    @field_validator("log_level", "environment", "upload_storage", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL such as postgresql://user:password@host:5432/db")
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a Redis URL such as redis://localhost:6379/0")
        return value or None

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _real_secret_in_production(self) -> Settings:
        if self.production and self.secret_key == DEFAULT_SECRET_KEY:
            raise ValueError("SECRET_KEY is the default; set a long random one in production (ENVIRONMENT=production)")
        return self

    @property
    def previous_secret_keys(self) -> list[str]:
        return [key.strip() for key in self.old_secret_keys.split(",") if key.strip()]

    @property
    def uploads_path(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @cached_property
    def allowed_networks(self) -> list[Network]:
        return parse_networks(self.webhook_allowed_networks)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one readable line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if not error["loc"]:  # a rule across settings: its message names them, and no value is echoed
                lines.append(message)
                continue
            lines.append(f"{str(error['loc'][0]).upper()}: {message} (got {error.get('input')!r})")
        raise SettingsError("invalid configuration: " + "; ".join(lines)) from None
