"""Storage-server settings (`SUTRA_*` environment variables).

The listen host defaults to 127.0.0.1 so that a server started on a laptop is not
reachable from the network; the Kubernetes manifest sets SUTRA_STORAGE_HOST=0.0.0.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from sutra.common.settings import ByteSize, SutraSettings

GIB = 1024**3


class StorageSettings(SutraSettings):
    storage_path: Path = Field(Path("./.data/storage"), description="LMDB environment directory")
    storage_host: str = Field("127.0.0.1", min_length=1, description="gRPC and metrics address")
    storage_port: int = Field(50051, ge=1, le=65535)
    metrics_port: int = Field(9091, ge=0, le=65535, description="Prometheus; 0 disables")
    vector_dimension: int = Field(384, ge=1, le=16384)
    vector_hnsw_threshold: int = Field(20_000, ge=0, description="vectors before HNSW is used")
    storage_queue_size: int = Field(10_000, ge=1, description="writes waiting for the writer")
    # Sparse: the file grows with the data, the map only reserves address space.
    storage_map_size: ByteSize = Field(32 * GIB, ge=1024**2)
    storage_max_content_bytes: ByteSize = Field(64 * 1024, ge=1)
    storage_max_batch: int = Field(10_000, ge=1, description="concepts + associations per batch")
    storage_max_group: int = Field(4096, ge=1, description="writes per group commit")
    storage_workers: int = Field(32, ge=1, le=1024, description="gRPC handler threads")
    # RPCs beyond this many (running + waiting for a handler thread) get RESOURCE_EXHAUSTED
    # from gRPC at once instead of queueing without bound in memory.
    storage_max_concurrent_rpcs: int = Field(1000, ge=1)
    storage_grace_seconds: float = Field(20.0, ge=0, description="drain time on SIGTERM")
    storage_access_flush_seconds: float = Field(1.0, gt=0, description="access-count flushes")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Log replication (medium and high tiers); unset SUTRA_STORAGE_NATS_URL: a single server.
    storage_nats_url: str = Field("", description="NATS servers, comma-separated; '' = off")
    storage_role: Literal["writer", "follower"] = Field("writer", description="with NATS")
    storage_stream: str = Field("SUTRA_STORAGE_0", min_length=1, description="JetStream stream")
    storage_shard: int = Field(0, ge=0, le=1023)
    # Shards (docs/storage-sharding.md): this server holds shard `storage_shard` of this many.
    storage_shard_count: int = Field(1, ge=1, le=1024, description="shards in the map; 1 = off")
    storage_stream_replicas: int = Field(3, ge=1, le=5, description="when the writer creates it")
    # The log's retention (docs/storage-replication.md): longer than the newest snapshot can be old.
    storage_stream_max_age_seconds: float = Field(0, ge=0, description="entry age; 0 = for ever")
    storage_advertise: str = Field("", description="host:port others reach this server at")
    storage_max_lag: int = Field(1000, ge=0, description="log entries behind before unready")
    storage_read_wait_seconds: float = Field(2.0, ge=0, description="min_sequence wait bound")
    storage_nats_connect_seconds: float = Field(5.0, gt=0, description="first connection bound")
    # A directory, or s3://BUCKET/PREFIX (`sutra storage snapshot --to` either)
    storage_snapshot_dir: str | None = Field(None, description="snapshots a follower starts from")
