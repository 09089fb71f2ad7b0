"""`sutra up --tier medium`: the medium tier's storage on this machine.

Three nats-server nodes (a JetStream cluster, fsync on every write), the storage server as
the shard's writer with its log on that cluster, and two read followers; the other services
find the followers through SUTRA_STORAGE_READERS. Ports: the nodes listen on
SUTRA_NATS_PORT (4222) + 0..2 for clients, SUTRA_NATS_CLUSTER_PORT (6222) + 0..2 for their
routes and SUTRA_NATS_MONITOR_PORT (8222) + 0..2 for /healthz; the followers on
SUTRA_STORAGE_REPLICA_PORT (50061) + 0..1, their metrics on
SUTRA_STORAGE_REPLICA_METRICS_PORT (9191) + 0..1. Data under DATA_DIR/nats/ and
DATA_DIR/storage-replica-N/.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from sutra.stack.services import Service
from sutra.storage.replication.cluster import node_config

NODES = 3
REPLICAS = 2


def port_base(environ: Mapping[str, str], variable: str, default: int) -> int:
    """The first of a run of ports: `variable` if set, else `default`."""
    return int(environ.get(variable, default))


def nats_nodes(data_dir: Path, environ: Mapping[str, str]) -> tuple[list[Service], str]:
    """The node services (configuration files written under data_dir/nats) and their URL."""
    client = port_base(environ, "SUTRA_NATS_PORT", 4222)
    route = port_base(environ, "SUTRA_NATS_CLUSTER_PORT", 6222)
    monitor = port_base(environ, "SUTRA_NATS_MONITOR_PORT", 8222)
    root = data_dir / "nats"
    root.mkdir(parents=True, exist_ok=True)
    services = []
    for i in range(NODES):
        name = f"n{i + 1}"
        routes = [route + j for j in range(NODES) if j != i]
        config = root / f"{name}.conf"
        config.write_text(
            node_config(name, client + i, route + i, routes, root / name, monitor + i)
        )
        services.append(
            Service(
                f"nats-{i + 1}",
                "sutra.stack.natsnode",
                "SUTRA_NATS_MONITOR_PORT",
                monitor + i,
                "/healthz?js-enabled-only=true",  # JetStream waits for its peers
                {"SUTRA_NATS_PORT": client + i, "SUTRA_NATS_CLUSTER_PORT": route + i},
                env={
                    "SUTRA_NATS_NODE_CONFIG": str(config),
                    "SUTRA_NATS_MONITOR_PORT": str(monitor + i),
                    "SUTRA_NATS_PORT": str(client + i),
                    "SUTRA_NATS_CLUSTER_PORT": str(route + i),
                },
            )
        )
    url = ",".join(f"nats://127.0.0.1:{client + i}" for i in range(NODES))
    return services, url


def followers(data_dir: Path, environ: Mapping[str, str], url: str) -> list[Service]:
    port = port_base(environ, "SUTRA_STORAGE_REPLICA_PORT", 50061)
    metrics = port_base(environ, "SUTRA_STORAGE_REPLICA_METRICS_PORT", 9191)
    return [
        Service(
            f"storage-replica-{j + 1}",
            "sutra.storage",
            "SUTRA_STORAGE_PORT",
            port + j,
            "grpc",
            {"SUTRA_METRICS_PORT": metrics + j},
            env={
                "SUTRA_STORAGE_PORT": str(port + j),
                "SUTRA_METRICS_PORT": str(metrics + j),
                "SUTRA_STORAGE_PATH": str(data_dir / f"storage-replica-{j + 1}"),
                "SUTRA_STORAGE_ROLE": "follower",
                "SUTRA_STORAGE_NATS_URL": url,
            },
        )
        for j in range(REPLICAS)
    ]


def medium_stack(services: list[Service], data_dir: Path) -> list[Service]:
    """The low tier's services with the log and the followers added, in start order."""
    environ = os.environ
    nodes, url = nats_nodes(data_dir, environ)
    replicas = followers(data_dir, environ, url)
    readers = ",".join(f"127.0.0.1:{r.port(environ)}" for r in replicas)
    stack: list[Service] = [*nodes]
    for service in services:
        if service.name == "storage-server":
            writer = dataclasses.replace(
                service, env={**service.env, "SUTRA_STORAGE_NATS_URL": url}
            )
            stack += [writer, *replicas]
        else:  # the readers' clients (api, hybrid, control) read from the followers
            stack.append(
                dataclasses.replace(service, env={**service.env, "SUTRA_STORAGE_READERS": readers})
            )
    return stack
