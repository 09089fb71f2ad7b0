"""sutra-hybrid settings (`SUTRA_*` environment variables).

The listen host defaults to 127.0.0.1 so that a service started on a laptop is not
reachable from the network; the Kubernetes manifest sets SUTRA_HYBRID_HOST=0.0.0.0.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sutra.common.settings import SutraSettings, host_port


class HybridSettings(SutraSettings):
    hybrid_host: str = Field("127.0.0.1", min_length=1, description="HTTP listen address")
    hybrid_port: int = Field(8001, ge=1, le=65535)
    storage_server: str = Field("127.0.0.1:50051", description="storage gRPC host:port")
    vector_dimension: int = Field(384, ge=1, le=16384, description="same as the storage's")
    embedder: Literal["hashing", "semantic"] = "hashing"
    # Where the semantic model runs: auto takes CUDA when torch sees a GPU, else the CPU; cuda
    # without a GPU stops the start (SUTRA_DEVICE). The hashing embedder always runs on the CPU.
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="embedding device")
    redis_url: str | None = Field(None, description="unused here: the cache is in process")
    hybrid_storage_timeout: float = Field(5.0, gt=0, le=120, description="deadline per call")
    hybrid_ready_timeout: float = Field(1.0, gt=0, le=30, description="readiness probe deadline")
    hybrid_embed_batch_size: int = Field(64, ge=1, le=4096, description="texts per embed call")
    hybrid_embed_batch_wait_ms: float = Field(1.0, ge=0, le=1000, description="batch window")
    hybrid_embed_queue_size: int = Field(1024, ge=1, description="texts waiting to be embedded")
    hybrid_embed_cache_size: int = Field(10_000, ge=0, description="cached embeddings (LRU)")
    hybrid_workers: int = Field(16, ge=1, le=256, description="threads for storage work")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("storage_server")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return host_port(value)
