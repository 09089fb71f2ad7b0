"""AsyncStorageClient against a real storage server: results, error mapping, deadlines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sutra.storage.aio import AsyncStorageClient
from sutra.storage.client import AssociationType, Direction, RetryPolicy, StorageClient
from sutra.storage.errors import DeadlineExceeded, InvalidArgument, NotFound, Unavailable
from sutra.storage.testing import ServerProcess, free_port, run_server


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
    return v / np.linalg.norm(v)


def test_reads_match_the_blocking_client(storage: ServerProcess) -> None:
    with StorageClient(storage.address) as sync:
        a = sync.learn_concept("rain", embedding=unit(10)).concept_id
        b = sync.learn_concept("wet streets", embedding=unit(11)).concept_id
        sync.learn_association(a, b, AssociationType.CAUSAL, confidence=0.8)
        expected_stats = sync.stats()

    async def scenario() -> None:
        async with AsyncStorageClient(storage.address, timeout=5) as client:
            assert await client.health()
            concept = await client.get_concept(a)
            assert concept is not None and concept.content == "rain"
            assert concept.embedding is not None and np.allclose(concept.embedding, unit(10))
            bare = await client.get_concept(a, embedding=False)
            assert bare is not None and bare.embedding is None
            assert await client.get_concept("0" * 32) is None
            (neighbor,) = await client.get_neighbors(a)
            assert (neighbor.concept_id, neighbor.type, neighbor.direction) == (
                b,
                AssociationType.CAUSAL,
                Direction.OUTGOING,
            )
            hits = await client.vector_search(unit(11), k=1)
            assert hits[0].concept_id == b and hits[0].similarity == pytest.approx(1, abs=1e-5)
            stats = await client.stats()
            assert stats.concepts >= expected_stats.concepts
            assert stats.dimension == expected_stats.dimension
            # Many calls in flight on the one channel.
            found = await asyncio.gather(*(client.get_concept(b) for _ in range(50)))
            assert {c.content for c in found if c is not None} == {"wet streets"}

    asyncio.run(scenario())


def test_server_errors_keep_their_class_and_message(storage: ServerProcess) -> None:
    async def scenario() -> None:
        async with AsyncStorageClient(storage.address) as client:
            with pytest.raises(InvalidArgument, match="32 hex"):
                await client.get_concept("nope")
            with pytest.raises(NotFound, match="does not exist"):
                await client.get_neighbors("0" * 32)
            with pytest.raises(InvalidArgument, match="expected 384 dimensions, got 3"):
                await client.vector_search([1.0, 2.0, 3.0])

    asyncio.run(scenario())


class CountingRetry(RetryPolicy):
    """Counts the backoff delays actually taken."""

    taken = 0

    def delays(self) -> Iterator[float]:
        for delay in super().delays():
            self.taken += 1
            yield delay


def test_the_deadline_bounds_the_retries() -> None:
    address = f"127.0.0.1:{free_port()}"
    # Fifty attempts, at least 0.2 s apart on average, do not fit in a 1 s deadline.
    retry = CountingRetry(attempts=50, initial_backoff=0.4, max_backoff=0.4, multiplier=1.0)

    async def scenario() -> None:
        client = AsyncStorageClient(address, timeout=1.0, retry=retry)
        try:
            with pytest.raises((Unavailable, DeadlineExceeded)) as caught:
                await client.stats()
        finally:
            await client.close()
        assert address in str(caught.value)

    asyncio.run(scenario())
    assert 1 <= retry.taken < 49


def test_reconnects_after_a_restart(tmp_path: Path) -> None:
    port = free_port()
    with run_server(tmp_path / "data", port=port) as server, StorageClient(server.address) as s:
        cid = s.learn_concept("durable fact").concept_id

    async def scenario() -> None:
        async with AsyncStorageClient(f"127.0.0.1:{port}", timeout=2) as client:
            with pytest.raises(Unavailable):
                await client.get_concept(cid)
            with run_server(tmp_path / "data", port=port):
                deadline = time.monotonic() + 20
                while True:
                    try:
                        concept = await client.get_concept(cid)
                        break
                    except Unavailable:
                        assert time.monotonic() < deadline, "no reconnect within 20 s"
                        await asyncio.sleep(0.1)
                assert concept is not None and concept.content == "durable fact"

    asyncio.run(scenario())
