"""sutra-api and sutra-hybrid over three shards: SUTRA_STORAGE_SHARDS selects the router.

Real processes on 127.0.0.1: three shard servers, hybrid and api started with the shard
list; facts learned through the api are answered by a reasoning path whose concepts live
on different shards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest

from sutra.storage.shards.map import ShardMap
from sutra.storage.shards.router import SHARDS_ENV
from sutra.storage.shards.testing import run_shards, stored_ids
from sutra.storage.testing import ServerProcess
from tests.api.support import run_api, run_hybrid

SHARDS = 3
FACTS = [
    "Smoking causes lung cancer.",
    "Lung cancer causes chest pain.",
    "Paris is in France.",
]


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    with run_shards(tmp_path_factory.mktemp("shards"), SHARDS) as servers:
        yield servers


@pytest.fixture(scope="module")
def http(
    shards: list[ServerProcess], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    logs: Path = tmp_path_factory.mktemp("logs")
    listed = ",".join(s.address for s in shards)
    # The services inherit this process's environment plus their own settings.
    with (
        mock.patch.dict(os.environ, {SHARDS_ENV: listed}),
        run_hybrid(shards[0].address, logs) as hybrid,
        run_api(shards[0].address, hybrid.url, logs) as api,
        httpx.Client(base_url=api.url, timeout=30) as client,
    ):
        for fact in FACTS:
            reply = client.post("/learn", json={"content": fact, "source": "test"})
            assert reply.status_code == 201, reply.text
        yield client


def _holder(shards: list[ServerProcess], concept_id: str) -> list[int]:
    """The shards that store the concept, read from their LMDB files (a shard refuses to read a
    concept it does not own, naming the owner)."""
    return [i for i, server in enumerate(shards) if concept_id in stored_ids(server.data_dir)]


def test_reasoning_path_crosses_shards(http: httpx.Client, shards: list[ServerProcess]) -> None:
    reply = http.post("/reason", json={"query": "What does smoking cause?", "num_paths": 5})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["answer"].lower() == "lung cancer", body
    two_hop = [p for p in body["paths"] if len(p["concept_ids"]) >= 3]
    assert two_hop, body["paths"]
    ids = two_hop[0]["concept_ids"]
    # Each concept of the path is stored on exactly its owner, and the owners differ.
    owners = [ShardMap(SHARDS).owner(i) for i in ids]
    assert [_holder(shards, i) for i in ids] == [[o] for o in owners]
    assert len(set(owners)) > 1, owners


def test_reads_through_the_api_reach_every_shard(
    http: httpx.Client, shards: list[ServerProcess]
) -> None:
    learned = http.post(
        "/learn/batch", json={"items": [{"content": f"Fact {i}."} for i in range(12)]}
    )
    assert learned.status_code == 201, learned.text
    ids = [r["concept_id"] for r in learned.json()["results"]]
    assert {ShardMap(SHARDS).owner(i) for i in ids} == set(range(SHARDS))
    for concept_id, number in zip(ids, range(12), strict=True):
        concept = http.get(f"/concepts/{concept_id}")
        assert concept.status_code == 200, concept.text
        assert concept.json()["content"] == f"Fact {number}."
