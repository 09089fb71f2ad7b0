"""sutra-client's local server settings (`SUTRA_*` variables), checked before it starts.

The listen host defaults to 127.0.0.1 like every service here; in Kubernetes nginx serves the
bundle instead (images/sutra-client/), configured by the same SUTRA_API_URL.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sutra.client.bundle import DEFAULT_API_BASE, normalise_api_base
from sutra.common.settings import ByteSize, SutraSettings, http_url


class ClientSettings(SutraSettings):
    client_host: str = Field("127.0.0.1", min_length=1, description="listen address")
    client_port: int = Field(8080, ge=1, le=65535)
    api_url: str = Field("http://127.0.0.1:8000", description="sutra-api, where /api/ goes")
    api_base: str = Field(DEFAULT_API_BASE, description="the API base the page uses (config.js)")
    proxy_timeout: float = Field(30.0, gt=0, le=300, description="seconds per proxied request")
    max_body_bytes: ByteSize = Field(1024 * 1024, ge=1024, description="as nginx's 1m default")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value, "http://sutra-api:8000")

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        return normalise_api_base(value)
