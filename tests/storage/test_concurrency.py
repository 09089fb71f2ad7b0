"""Readers never see half a batch; a full queue refuses writes and loses none."""

from __future__ import annotations

import threading
from pathlib import Path

from sutra.storage.client import (
    AssociationInput,
    AssociationType,
    ConceptInput,
    NotFound,
    ResourceExhausted,
    RetryPolicy,
    StorageClient,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import run_server

from .support import vector

LEAVES = 6  # each batch: one hub, LEAVES leaves, an association hub -> leaf for each


def batch_of(name: str) -> tuple[list[ConceptInput], list[AssociationInput]]:
    leaves = [f"{name}/leaf{i}" for i in range(LEAVES)]
    concepts = [ConceptInput(name), *(ConceptInput(leaf) for leaf in leaves)]
    associations = [
        AssociationInput(concept_id_for(name), concept_id_for(leaf), AssociationType.COMPOSITIONAL)
        for leaf in leaves
    ]
    return concepts, associations


def test_readers_never_see_a_half_applied_batch(tmp_path: Path) -> None:
    batches = 150
    in_flight: list[str] = []  # hub ids whose batch has been sent (maybe not yet committed)
    done = threading.Event()
    violations: list[str] = []
    observations = {"partial-or-whole": 0, "absent": 0, "stats": 0}

    with run_server(tmp_path / "data") as server:

        def write() -> None:
            with StorageClient(server.address, timeout=30) as client:
                for b in range(batches):
                    name = f"batch-{b}"
                    in_flight.append(concept_id_for(name))
                    client.learn_batch(*batch_of(name))
            done.set()

        def read() -> None:
            with StorageClient(server.address, timeout=30) as client:
                while not done.is_set():
                    # Counters come from one read transaction: whole batches only.
                    stats = client.stats()
                    observations["stats"] += 1
                    if stats.concepts % (LEAVES + 1) or stats.associations != (
                        stats.concepts // (LEAVES + 1) * LEAVES
                    ):
                        violations.append(f"stats {stats.concepts}/{stats.associations}")
                    for hub in in_flight[-3:]:
                        try:
                            neighbors = client.get_neighbors(hub)
                        except NotFound:
                            observations["absent"] += 1
                            continue
                        observations["partial-or-whole"] += 1
                        if len(neighbors) != LEAVES:
                            violations.append(f"{hub}: {len(neighbors)} of {LEAVES} edges")

        readers = [threading.Thread(target=read) for _ in range(4)]
        writer = threading.Thread(target=write)
        for thread in (*readers, writer):
            thread.start()
        for thread in (writer, *readers):
            thread.join(timeout=120)
        with StorageClient(server.address) as client:
            stats = client.stats()
    assert violations == []
    assert stats.concepts == batches * (LEAVES + 1)
    assert stats.associations == batches * LEAVES
    assert stats.batches == batches
    # The readers really raced the writer: they saw batches both before and after commit.
    assert observations["stats"] > 0 and observations["partial-or-whole"] > 0


def test_a_full_queue_answers_resource_exhausted_and_loses_nothing(tmp_path: Path) -> None:
    env = {"SUTRA_STORAGE_QUEUE_SIZE": "1", "SUTRA_STORAGE_WORKERS": "64"}
    acknowledged: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    with run_server(tmp_path / "data", env=env) as server:

        def hammer(t: int) -> None:
            with StorageClient(server.address, timeout=60, retry=RetryPolicy(attempts=1)) as c:
                for i in range(40):
                    names = [f"t{t}-{i}-{j}" for j in range(20)]
                    try:
                        c.learn_batch(
                            [ConceptInput(n, embedding=vector(j)) for j, n in enumerate(names)]
                        )
                    except ResourceExhausted as exc:
                        assert "queue is full" in exc.message
                        with lock:
                            refused.extend(names)
                        continue
                    with lock:
                        acknowledged.extend(names)
                    if refused and i > 5:
                        return

        threads = [threading.Thread(target=hammer, args=(t,)) for t in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        with StorageClient(server.address, timeout=30) as client:
            assert client.health()
            stats = client.stats()
            assert refused, "no write was refused: the queue never filled"
            assert stats.rejected == len(refused) // 20
            assert stats.concepts == len(acknowledged)
            for name in acknowledged:
                assert client.get_concept(concept_id_for(name), embedding=False) is not None
            for name in refused[:200]:
                assert client.get_concept(concept_id_for(name), embedding=False) is None
            # Once the burst is over the server takes writes again.
            client.learn_concept("after the burst")


def test_get_concepts_sees_a_concurrent_batch_whole_or_not_at_all(tmp_path: Path) -> None:
    batches = 120
    done = threading.Event()
    violations: list[str] = []
    seen = {"none": 0, "all": 0}
    names = [f"snapshot-{b}" for b in range(batches)]
    ids = [
        [concept_id_for(c.content) for c in batch_of(name)[0]] for name in names
    ]  # hub and leaves of each batch

    with run_server(tmp_path / "data") as server:

        def write() -> None:
            with StorageClient(server.address, timeout=30) as client:
                for name in names:
                    client.learn_batch(*batch_of(name))
            done.set()

        def read() -> None:
            with StorageClient(server.address, timeout=30) as client:
                b = 0
                while not done.is_set() and b < batches:
                    # Several batches at once, leaves before hubs: one snapshot or it shows.
                    window = ids[b : b + 3]
                    asked = [i for batch in window for i in reversed(batch)]
                    found = client.get_concepts(asked)
                    start = 0
                    for batch in window:
                        part = found[start : start + len(batch)]
                        start += len(batch)
                        present = sum(c is not None for c in part)
                        if present == 0:
                            seen["none"] += 1
                        elif present == len(part):
                            seen["all"] += 1
                        else:
                            violations.append(f"{present} of {len(part)} concepts of a batch")
                    # Batches commit in order: a later batch seen means every earlier one.
                    flags = [
                        all(c is not None for c in found[i : i + LEAVES + 1])
                        for i in range(0, len(found), LEAVES + 1)
                    ]
                    if flags != sorted(flags, reverse=True):
                        violations.append(f"batches seen out of order: {flags}")
                    if flags[0]:
                        b += 1

        readers = [threading.Thread(target=read) for _ in range(3)]
        writer = threading.Thread(target=write)
        for thread in (*readers, writer):
            thread.start()
        for thread in (writer, *readers):
            thread.join(timeout=120)
        with StorageClient(server.address) as client:
            final = client.get_concepts([i for batch in ids for i in batch])
    assert violations == []
    assert all(c is not None for c in final)
    assert seen["all"] > 0 and seen["none"] > 0  # the readers really raced the writer
