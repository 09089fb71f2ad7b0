"""`sutra up --tier high`: the high tier's storage shards on this machine.

As many storage servers as the tier table gives the high tier (`storage.shards`), each one
shard of the map (SUTRA_STORAGE_SHARD of SUTRA_STORAGE_SHARD_COUNT); api, hybrid and control
reach them through the shard router (SUTRA_STORAGE_SHARDS). Shard 0 is the usual
storage-server (SUTRA_STORAGE_PORT, its data under DATA_DIR/storage); shard N + 1 listens on
SUTRA_STORAGE_SHARD_PORT (50071) + N, its metrics on SUTRA_STORAGE_SHARD_METRICS_PORT (9291)
+ N, its data under DATA_DIR/storage-shard-N+2. The shards run without a replicated log here
(one laptop): the cluster runs a writer, followers and a log per shard.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from sutra.stack.medium import port_base
from sutra.stack.services import Service
from sutra.storage.shards.map import shards_for_tier


def shard_env(index: int, count: int) -> dict[str, str]:
    return {"SUTRA_STORAGE_SHARD": str(index), "SUTRA_STORAGE_SHARD_COUNT": str(count)}


def other_shards(data_dir: Path, environ: Mapping[str, str], count: int) -> list[Service]:
    """Shards 1 .. count - 1, each a storage server of its own."""
    port = port_base(environ, "SUTRA_STORAGE_SHARD_PORT", 50071)
    metrics = port_base(environ, "SUTRA_STORAGE_SHARD_METRICS_PORT", 9291)
    return [
        Service(
            f"storage-shard-{n + 2}",
            "sutra.storage",
            "SUTRA_STORAGE_PORT",
            port + n,
            "grpc",
            {"SUTRA_METRICS_PORT": metrics + n},
            env={
                "SUTRA_STORAGE_PORT": str(port + n),
                "SUTRA_METRICS_PORT": str(metrics + n),
                "SUTRA_STORAGE_PATH": str(data_dir / f"storage-shard-{n + 2}"),
                **shard_env(n + 1, count),
            },
        )
        for n in range(count - 1)
    ]


def high_stack(services: list[Service], data_dir: Path, count: int | None = None) -> list[Service]:
    """The low tier's services with the storage split into the table's shards, in start order."""
    environ = os.environ
    count = count or shards_for_tier("high")
    shards = other_shards(data_dir, environ, count)
    first = next(s for s in services if s.name == "storage-server")
    first = dataclasses.replace(first, env={**first.env, **shard_env(0, count)})
    addresses = [f"127.0.0.1:{s.port(environ)}" for s in (first, *shards)]
    stack: list[Service] = []
    for service in services:
        if service.name == "storage-server":
            stack += [first, *shards]
        else:  # the shards' clients (api, hybrid, control) go through the router
            stack.append(
                dataclasses.replace(
                    service, env={**service.env, "SUTRA_STORAGE_SHARDS": ",".join(addresses)}
                )
            )
    return stack
