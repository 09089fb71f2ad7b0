"""sutra-api settings (`SUTRA_*` environment variables), checked before the server starts.

The listen host defaults to 127.0.0.1 so that a gateway started on a laptop is not reachable
from the network; the Kubernetes manifest sets SUTRA_API_HOST=0.0.0.0.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from sutra.common.settings import ByteSize, SutraSettings, host_port, http_url


class ApiSettings(SutraSettings):
    api_host: str = Field("127.0.0.1", min_length=1, description="listen address")
    api_port: int = Field(8000, ge=1, le=65535)
    storage_server: str = Field("127.0.0.1:50051", description="storage gRPC host:port")
    hybrid_url: str = Field("http://127.0.0.1:8001", description="sutra-hybrid base URL")
    vector_dimension: int = Field(384, ge=1, le=16384, description="as the storage server")
    redis_url: str | None = Field(None, description="cache /reason in Redis; unset: in process")

    # Deadlines of downstream calls, in seconds.
    storage_timeout: float = Field(2.0, gt=0, le=300)
    hybrid_timeout: float = Field(10.0, gt=0, le=300, description="learn, search")
    reason_timeout: float = Field(15.0, gt=0, le=300, description="/reason through hybrid")
    ready_timeout: float = Field(1.0, gt=0, le=60, description="each /ready check")
    redis_timeout: float = Field(0.1, gt=0, le=10, description="each cache operation")

    # Circuit breaker, one per dependency.
    breaker_failures: int = Field(5, ge=1, description="consecutive failures that open it")
    breaker_reset_seconds: float = Field(5.0, gt=0, le=3600, description="open time")

    # Per-client rate limits, requests per window; 0 disables a limit. Every request but
    # /health, /ready and /metrics is in a group (sutra.api.ratelimit.EXEMPT says why).
    rate_limit_window_seconds: float = Field(60.0, gt=0, le=86_400)
    rate_limit_learn: int = Field(60, ge=0)
    rate_limit_batch: int = Field(30, ge=0)
    rate_limit_search: int = Field(100, ge=0, description="/semantic-search, /search/vector")
    rate_limit_reason: int = Field(100, ge=0)
    rate_limit_read: int = Field(600, ge=0, description="/concepts/..., /stats")
    rate_limit_default: int = Field(
        120, ge=0, description="every other request: /docs, /openapi.json, unknown paths"
    )
    rate_limit_max_clients: int = Field(
        100_000,
        ge=1,
        le=10_000_000,
        description="(client, group) buckets kept at once, at most about 450 bytes each "
        "(100,000: about 45 MB); when full, the refilled ones are dropped first, then the "
        "least recently seen",
    )
    trust_forwarded: bool = Field(
        False,
        description="exactly one proxy (ingress controller, client nginx) is in front: "
        "client = the last X-Forwarded-For address, the one it appended",
    )

    max_body_bytes: ByteSize = Field(1024 * 1024, ge=1024)

    # /reason response cache.
    cache_ttl_seconds: float = Field(300.0, ge=0, description="0 disables the cache")
    cache_max_entries: int = Field(10_000, ge=1, description="in-process cache size")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_graceful_seconds: float = Field(10.0, ge=0, description="drain time on SIGTERM")

    @field_validator("storage_server")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return host_port(value)

    @field_validator("hybrid_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value, "http://sutra-hybrid:8001")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("expected redis://host:port/db, rediss://... or unix://...")
        return value
