"""sutra-api settings (`SUTRA_*` environment variables), checked before the server starts.

The listen host defaults to 127.0.0.1 so that a gateway started on a laptop is not reachable
from the network; the Kubernetes manifest sets SUTRA_API_HOST=0.0.0.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator

from sutra.api.ratelimit import DEFAULT_GROUP
from sutra.common.settings import ByteSize, SutraSettings, host_port, http_url


class ApiSettings(SutraSettings):
    api_host: str = Field("127.0.0.1", min_length=1, description="listen address")
    api_port: int = Field(8000, ge=1, le=65535)
    storage_server: str = Field("127.0.0.1:50051", description="storage gRPC host:port")
    hybrid_url: str = Field("http://127.0.0.1:8001", description="sutra-hybrid base URL")
    vector_dimension: int = Field(384, ge=1, le=16384, description="as the storage server")
    redis_url: str | None = Field(None, description="cache /reason in Redis; unset: in process")

    # Time budget of a request, counted from its arrival, by route group (the groups of
    # sutra.api.ratelimit.group_of): every downstream call gets at most what is left of it,
    # and a request whose budget is spent is answered 504 (sutra.api.deadline).
    budget_reason_seconds: float = Field(2.0, gt=0, le=300, description="/reason")
    budget_search_seconds: float = Field(
        1.0, gt=0, le=300, description="/semantic-search, /search/vector"
    )
    budget_read_seconds: float = Field(0.5, gt=0, le=300, description="/concepts/..., /stats")
    budget_learn_seconds: float = Field(5.0, gt=0, le=300, description="/learn")
    budget_batch_seconds: float = Field(10.0, gt=0, le=300, description="/learn/batch")
    budget_default_seconds: float = Field(5.0, gt=0, le=300, description="every other request")

    # Caps of single downstream calls, in seconds: a call gets min(cap, budget left).
    storage_timeout: float = Field(2.0, gt=0, le=300)
    hybrid_timeout: float = Field(10.0, gt=0, le=300, description="learn, search")
    reason_timeout: float = Field(15.0, gt=0, le=300, description="/reason through hybrid")
    ready_timeout: float = Field(1.0, gt=0, le=60, description="each /ready check")
    redis_timeout: float = Field(0.1, gt=0, le=10, description="each cache operation")

    # Circuit breaker, one per dependency (sutra.api.breaker): it judges the last
    # `window_calls` calls once `min_calls` are recorded.
    breaker_window_calls: int = Field(20, ge=1, le=10_000, description="calls judged")
    breaker_min_calls: int = Field(10, ge=1, le=10_000, description="calls before judging")
    breaker_failure_rate: float = Field(0.5, gt=0, le=1, description="share failed that opens it")
    breaker_slow_call_rate: float = Field(0.5, gt=0, le=1, description="share slow that opens it")
    breaker_reset_seconds: float = Field(5.0, gt=0, le=3600, description="open time")
    breaker_half_open_calls: int = Field(3, ge=1, le=100, description="probes when half-open")
    storage_slow_call_seconds: float = Field(0.5, gt=0, le=300, description="a slow storage call")
    hybrid_slow_call_seconds: float = Field(1.0, gt=0, le=300, description="a slow hybrid call")

    # Bulkheads: most calls in flight to each dependency; more are refused at once (503).
    bulkhead_storage: int = Field(64, ge=1, le=10_000)
    bulkhead_hybrid: int = Field(32, ge=1, le=10_000)

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

    # Bulk ingest (POST /learn/jobs, sutra.api.jobs).
    jobs_max_upload_bytes: ByteSize = Field(
        64 * 1024 * 1024, ge=1024, description="largest NDJSON upload to /learn/jobs"
    )
    jobs_batch_size: int = Field(100, ge=1, le=100, description="lines per /learn/batch call")
    jobs_dir: Path | None = Field(
        None,
        description="uploads and job state without Redis; unset: TMPDIR/sutra-api-PORT-jobs "
        "(`sutra up`: DATA_DIR/jobs); with SUTRA_REDIS_URL both live in Redis",
    )
    jobs_retention_seconds: float = Field(
        7 * 86_400.0, gt=0, description="how long a finished job's report is kept"
    )
    jobs_lease_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="with Redis: a job whose worker is silent this long "
        "is taken over by another pod",
    )

    # /reason response cache.
    cache_ttl_seconds: float = Field(300.0, ge=0, description="0 disables the cache")
    cache_max_entries: int = Field(10_000, ge=1, description="in-process cache size")
    cache_stale_seconds: float = Field(
        3600.0,
        ge=0,
        description="how long past its TTL, or past a learn, an answer may still be served "
        "(marked X-Sutra-Degraded) while hybrid or storage is unavailable; 0: never",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_graceful_seconds: float = Field(10.0, ge=0, description="drain time on SIGTERM")

    @field_validator("breaker_min_calls")
    @classmethod
    def _min_calls(cls, value: int, info: ValidationInfo) -> int:
        window = info.data.get("breaker_window_calls")
        if window is not None and value > window:
            raise ValueError(f"must not exceed SUTRA_BREAKER_WINDOW_CALLS ({window})")
        return value

    def budgets(self) -> dict[str, float]:
        """The request budget of each route group."""
        return {
            "reason": self.budget_reason_seconds,
            "search": self.budget_search_seconds,
            "read": self.budget_read_seconds,
            "learn": self.budget_learn_seconds,
            "batch": self.budget_batch_seconds,
            DEFAULT_GROUP: self.budget_default_seconds,
        }

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
