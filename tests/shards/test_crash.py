"""A shard SIGKILLed mid-load: the others keep taking writes, no acknowledged write is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sutra.common.testing import poll
from sutra.storage.client import AssociationInput, ConceptInput, Direction
from sutra.storage.errors import StorageError, Unavailable
from sutra.storage.ids import concept_id_for
from sutra.storage.shards.check import half_edges
from sutra.storage.shards.router import ShardedStorageClient
from sutra.storage.shards.testing import run_shards, shard_env
from sutra.storage.testing import run_server
from tests.shards.conftest import ENV

Batch = tuple[list[ConceptInput], list[AssociationInput]]


def _batch(n: int) -> Batch:
    """50 new concepts and 50 associations chaining them to the previous batch's."""
    concepts = [ConceptInput(f"crash {n} {i}") for i in range(50)]
    associations = [
        AssociationInput(concept_id_for(f"crash {n} {i}"), concept_id_for(f"crash {n - 1} {i}"))
        for i in range(50)
        if n > 0
    ]
    return concepts, associations


class Loader(threading.Thread):
    """Writes batches until stopped; keeps the acknowledged ones and the failed ones."""

    def __init__(self, router: ShardedStorageClient) -> None:
        super().__init__(daemon=True)
        self.router, self.stop = router, threading.Event()
        self.acked: list[Batch] = []
        self.failed: list[Batch] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            batch = _batch(n)
            try:
                self.router.learn_batch(*batch)
                self.acked.append(batch)
            except StorageError:
                self.failed.append(batch)
            n += 1


def test_a_killed_shard_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with run_shards(tmp_path, 3, ENV) as shards:
        targets = [s.address for s in shards]
        with ShardedStorageClient(targets, timeout=5.0) as router:
            loader = Loader(router)
            loader.start()
            poll(lambda: len(loader.acked) >= 20, timeout=60, what="20 batches acknowledged")
            shards[1].kill()
            poll(lambda: loader.failed, timeout=60, what="a batch refused by the dead shard")
            for owner in (0, 2):  # the other shards keep accepting writes
                content = next(
                    f"alive {owner} {n}"
                    for n in range(1000)
                    if router.map.owner(concept_id_for(f"alive {owner} {n}")) == owner
                )
                assert router.learn_concept(content).concept_id == concept_id_for(content)
            loader.stop.set()
            loader.join(timeout=60)
            restart = {**ENV, **shard_env(1, 3)}
            with run_server(shards[1].data_dir, port=shards[1].port, env=restart):
                for batch in loader.failed:  # the client's retry completes a half-done batch
                    _retried(lambda b=batch: router.learn_batch(*b))
                _assert_all_stored(router, loader.acked + loader.failed)
                assert half_edges(router) == []


def _retried(call: Callable[[], object]) -> None:
    """Retry on Unavailable (the channel reconnecting to the restarted shard), up to 60 s."""

    def attempt() -> bool:
        try:
            call()
        except Unavailable:
            return False
        return True

    poll(attempt, timeout=60, what="the write accepted after the restart")


def _assert_all_stored(router: ShardedStorageClient, batches: list[Batch]) -> None:
    ids = [concept_id_for(c.content) for concepts, _ in batches for c in concepts]
    for start in range(0, len(ids), 1000):
        found = router.get_concepts(ids[start : start + 1000])
        assert all(c is not None for c in found)
    links = [(a.source_id, a.target_id) for _, associations in batches for a in associations]
    outgoing = router.neighbors_batch([s for s, _ in links], direction=Direction.OUTGOING)
    incoming = router.neighbors_batch([t for _, t in links], direction=Direction.INCOMING)
    for source, target in links:
        assert target in {n.concept_id for n in outgoing[source]}
        assert source in {n.concept_id for n in incoming[target]}
