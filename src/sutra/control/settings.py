"""sutra-control settings (`SUTRA_*` environment variables), checked before the server starts.

Without SUTRA_CONTROL_TOKEN the dashboard has no access control, so it then listens on
127.0.0.1 whatever SUTRA_CONTROL_HOST says: an open admin page is tolerable on a laptop,
never on a network. In Kubernetes the token is a mounted Secret file that
SUTRA_CONTROL_TOKEN_FILE names (sutra.common.settings reads any `_FILE` setting).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from sutra.common.settings import SutraSettings, host_port, http_url

LOOPBACK = "127.0.0.1"
MIN_TOKEN_LENGTH = 16


class ControlSettings(SutraSettings):
    control_host: str = Field("127.0.0.1", min_length=1, description="listen address")
    control_port: int = Field(9000, ge=1, le=65535)
    control_token: SecretStr | None = Field(
        None,
        description="admin token (or SUTRA_CONTROL_TOKEN_FILE: a file holding it); "
        "unset: no access control, 127.0.0.1 only",
    )
    control_interval: float = Field(2.0, ge=0.1, le=60, description="seconds between samples")
    control_history_seconds: float = Field(900.0, ge=10, le=86_400, description="chart window")
    control_timeout: float = Field(1.0, gt=0, le=30, description="deadline of each reading")

    storage_server: str = Field("127.0.0.1:50051", description="storage gRPC host:port")
    storage_metrics_url: str = Field(
        "http://127.0.0.1:9091/metrics", description="storage server's Prometheus endpoint"
    )
    api_url: str = Field("http://127.0.0.1:8000", description="sutra-api base URL")
    hybrid_url: str = Field("http://127.0.0.1:8001", description="sutra-hybrid base URL")
    client_url: str | None = Field(None, description="sutra-client base URL; unset: not shown")
    grafana_url: str | None = Field(
        None, description="Grafana dashboard the page links to (Sutra overview); unset: no link"
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("control_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if len(value) < MIN_TOKEN_LENGTH:
                raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters")
        return value

    @field_validator("storage_server")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return host_port(value)

    @field_validator("storage_metrics_url")
    @classmethod
    def _metrics_url(cls, value: str) -> str:
        return http_url(value, "http://storage-server:9091/metrics")

    @field_validator("api_url", "hybrid_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        return http_url(value, "http://sutra-api:8000")

    @field_validator("client_url", mode="before")
    @classmethod
    def _client_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return http_url(str(value), "http://sutra-client:8080")

    @field_validator("grafana_url", mode="before")
    @classmethod
    def _grafana_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return http_url(str(value).strip(), "https://grafana.example.com/d/sutra-overview")

    @property
    def token(self) -> str | None:
        return self.control_token.get_secret_value() if self.control_token else None

    @property
    def listen_host(self) -> str:
        """Where to listen: the configured host only when a token guards the dashboard."""
        return self.control_host if self.token else LOOPBACK

    @property
    def history_points(self) -> int:
        return max(2, math.ceil(self.control_history_seconds / self.control_interval))
