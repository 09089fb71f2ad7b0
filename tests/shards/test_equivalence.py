"""One data set in one node and in four shards: the router answers as the single node does."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from sutra.cli import main as sutra
from sutra.storage.client import Direction, StorageClient
from sutra.storage.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from sutra.storage.ids import concept_id_for
from sutra.storage.shards.router import ShardedStorageClient
from sutra.storage.shards.testing import Dataset, generate, load, run_shards, sample_pairs
from sutra.storage.testing import ServerProcess, free_port, run_server
from sutra.storage.v1 import storage_pb2 as pb
from tests.shards.conftest import ENV

SHARDS = 4


@dataclass
class Loaded:
    data: Dataset
    single: StorageClient
    router: ShardedStorageClient
    shards: list[ServerProcess]
    single_server: ServerProcess

    @property
    def targets(self) -> list[str]:
        return [s.address for s in self.shards]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """20,000 concepts with vectors and 60,000 associations, in one node and in four shards."""
    root = tmp_path_factory.mktemp("equivalence")
    data = generate(20_000, 60_000)
    with (
        run_server(root / "single", env=ENV) as single_server,
        run_shards(root / "shards", SHARDS, ENV) as shards,
        StorageClient(single_server.address, timeout=30.0) as single,
        ShardedStorageClient([s.address for s in shards], timeout=30.0) as router,
    ):
        with ThreadPoolExecutor(2) as pool:  # two sets of servers: load both at once
            for done in [pool.submit(load, single, data), pool.submit(load, router, data)]:
                done.result()
        yield Loaded(data, single, router, shards, single_server)


def _length(path: object) -> int | None:
    return None if path is None else len(path.concepts)  # type: ignore[attr-defined]


def test_paths_have_the_single_nodes_length_and_existence(loaded: Loaded) -> None:
    found = missing = 0
    for n, (start, end) in enumerate(sample_pairs(loaded.data, 300)):
        depth, directed = (0, 2, 3, 4)[n % 4], n % 5 == 0
        one = loaded.single.find_path(start, end, max_depth=depth, directed=directed)
        many = loaded.router.find_path(start, end, max_depth=depth, directed=directed)
        assert _length(many) == _length(one), (start, end, depth, directed)
        if many is None:
            missing += 1
            continue
        found += 1
        assert many.concept_ids[0] == start and many.concept_ids[-1] == end
        for edge, a, b in zip(many.edges, many.concept_ids, many.concept_ids[1:], strict=False):
            assert {edge.source_id, edge.target_id} == {a, b}
            if directed:
                assert (edge.source_id, edge.target_id) == (a, b)
    assert found > 50 and missing > 20  # both outcomes are exercised


def test_vector_search_gives_the_single_nodes_top_10(loaded: Loaded) -> None:
    rng = np.random.default_rng(5)
    for query in rng.standard_normal((300, 32)).astype(np.float32):
        one = [h.concept_id for h in loaded.single.vector_search(query, 10)]
        many = [h.concept_id for h in loaded.router.vector_search(query, 10)]
        assert many == one


def test_neighbours_and_stats_are_the_single_nodes(loaded: Loaded) -> None:
    def key(n: object) -> tuple:
        return (n.concept_id, n.type, n.direction, n.confidence, n.weight, n.label)  # type: ignore[attr-defined]

    for concept_id in loaded.data.ids[::97]:
        for direction in Direction:
            one = loaded.single.get_neighbors(concept_id, direction=direction)
            many = loaded.router.get_neighbors(concept_id, direction=direction)
            assert sorted(map(key, many)) == sorted(map(key, one))
    one, many = loaded.single.stats(), loaded.router.stats()
    assert (
        (many.concepts, many.associations, many.vectors, many.dimension)
        == (
            one.concepts,
            one.associations,
            one.vectors,
            one.dimension,
        )
        == (20_000, 60_000, 20_000, 32)
    )
    every = loaded.router.get_concepts(loaded.data.ids[:1000])
    assert [c.id for c in every if c is not None] == loaded.data.ids[:1000]


def test_every_shard_holds_only_its_concepts(loaded: Loaded) -> None:
    counts = []
    for target in loaded.targets:
        with StorageClient(target) as shard:
            counts.append(shard.stats().concepts)
    assert sum(counts) == 20_000 and min(counts) > 20_000 // SHARDS * 0.8
    foreign = next(i for i in loaded.data.ids if loaded.router.map.owner(i) == 1)
    with StorageClient(loaded.targets[0]) as shard0, pytest.raises(FailedPrecondition) as caught:
        shard0.learn_concept("misrouted", concept_id=foreign)
    assert "belongs to shard 1" in caught.value.message


def test_batched_neighbours_are_bounded(loaded: Loaded) -> None:
    request = pb.GetNeighborsBatchRequest(concept_ids=[loaded.data.ids[0]] * 10_001)
    with pytest.raises(InvalidArgument) as caught:
        loaded.router.rpc(0, "GetNeighborsBatch", request)
    assert "concept_ids" in caught.value.message and "10000" in caught.value.message


def test_bad_input_is_invalid_argument_naming_what(loaded: Loaded) -> None:
    with pytest.raises(InvalidArgument, match="concept_id must be 32 hex characters"):
        loaded.router.get_neighbors("nope")
    with pytest.raises(InvalidArgument, match="needs at least one concept"):
        loaded.router.learn_batch()
    with pytest.raises(InvalidArgument, match="max_depth must be within"):
        loaded.router.find_path(loaded.data.ids[0], loaded.data.ids[1], max_depth=33)


def test_an_association_to_an_unknown_concept_is_refused_whole(loaded: Loaded) -> None:
    known, unknown = loaded.data.ids[0], concept_id_for("never learned")
    with pytest.raises(NotFound) as caught:
        loaded.router.learn_association(known, unknown)
    assert unknown in caught.value.message
    assert unknown not in {n.concept_id for n in loaded.router.get_neighbors(known)}


@pytest.mark.parametrize(
    "case, error, words",
    [
        ("reversed", FailedPrecondition, "is shard 3 of the map"),
        ("too few", FailedPrecondition, "the router has rendezvous-blake2b/3"),
        ("unreachable", Unavailable, "is unreachable"),
        ("not a shard", FailedPrecondition, "is not a shard server"),
    ],
)
def test_bad_shard_lists_fail_with_one_error_naming_the_shard(
    loaded: Loaded, case: str, error: type[Exception], words: str
) -> None:
    targets = {
        "reversed": loaded.targets[::-1],
        "too few": loaded.targets[:3],
        "unreachable": [*loaded.targets[:3], f"127.0.0.1:{free_port()}"],
        "not a shard": [loaded.single_server.address, *loaded.targets[1:]],
    }[case]
    with ShardedStorageClient(targets, timeout=1.0) as router, pytest.raises(error) as caught:
        router.get_concept(loaded.data.ids[0])
    message = caught.value.message  # type: ignore[attr-defined]
    assert words in message and message.startswith("shard ")


def test_a_store_refuses_to_serve_as_another_shard(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shard.json").write_text(
        '{"index": 1, "count": 4, "map_version": "rendezvous-blake2b/4"}\n'
    )
    env = {
        **__import__("os").environ,
        **ENV,
        "SUTRA_STORAGE_PATH": str(tmp_path / "data"),
        "SUTRA_STORAGE_PORT": str(free_port()),
        "SUTRA_STORAGE_SHARD": "2",
        "SUTRA_STORAGE_SHARD_COUNT": "4",
    }
    done = subprocess.run(
        [sys.executable, "-m", "sutra.storage"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert "is shard 1 of map rendezvous-blake2b/4, not shard 2" in done.stderr.decode()


def test_the_factories_pick_the_router_from_the_environment(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from sutra.storage.aio import AsyncStorageClient
    from sutra.storage.shards.aio import AsyncShardedStorageClient, async_storage_client
    from sutra.storage.shards.router import storage_client

    monkeypatch.delenv("SUTRA_STORAGE_SHARDS", raising=False)
    with storage_client(loaded.single_server.address) as plain:
        assert type(plain) is StorageClient
    monkeypatch.setenv("SUTRA_STORAGE_SHARDS", ",".join(loaded.targets))
    with storage_client(loaded.single_server.address, timeout=10.0) as routed:
        assert isinstance(routed, ShardedStorageClient)
        assert routed.stats().concepts == loaded.single.stats().concepts

    async def read() -> None:
        sharded = async_storage_client("unused:1", timeout=10.0)
        assert isinstance(sharded, AsyncShardedStorageClient)
        async with sharded, AsyncStorageClient(loaded.single_server.address) as one:
            concept_id = loaded.data.ids[3]
            assert (await sharded.get_concept(concept_id)).content == "concept 3"  # type: ignore[union-attr]
            want = {n.concept_id for n in await one.get_neighbors(concept_id)}
            assert {n.concept_id for n in await sharded.get_neighbors(concept_id)} == want
            query = loaded.data.vectors[5]
            hits = [h.concept_id for h in await sharded.vector_search(query, 10)]
            assert hits == [h.concept_id for h in await one.vector_search(query, 10)]

    asyncio.run(read())


def test_check_reports_a_half_edge_until_the_retry_completes_it(
    loaded: Loaded, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs last: it adds two concepts and an association to the shared shards."""
    router = loaded.router
    a = router.learn_concept("half edge source").concept_id
    b = next(
        router.learn_concept(f"half edge target {n}").concept_id
        for n in range(100)
        if router.map.owner(concept_id_for(f"half edge target {n}")) != router.map.owner(a)
    )
    with StorageClient(loaded.targets[router.map.owner(a)]) as owner_of_a:
        owner_of_a.learn_association(a, b)  # only the source's half: a crash between halves
    shards = ",".join(loaded.targets)
    assert sutra(["storage", "check", "--shards", shards]) == 1
    out = capsys.readouterr().out
    assert f"half-edge {a} -> {b} type 0: on shard {router.map.owner(a)}" in out
    router.learn_association(a, b)  # the client's retry writes both halves again
    assert sutra(["storage", "check", "--shards", shards]) == 0
    assert sutra(["storage", "check", "--shards", loaded.targets[0]]) == 2
