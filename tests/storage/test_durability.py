"""Acknowledged writes survive restarts, SIGKILL and SIGTERM; a dead server exits cleanly."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import lmdb.verify
import numpy as np
import pytest

from sutra.storage.client import (
    AssociationInput,
    AssociationType,
    ConceptInput,
    Direction,
    RetryPolicy,
    StorageClient,
    StorageError,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import free_port, run_server

from .support import vector


def test_everything_survives_a_clean_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    names = ["sun", "heat", "summer", "season", "beach", "sand"]
    ids = {n: concept_id_for(n) for n in names}
    with run_server(data) as server, StorageClient(server.address) as client:
        client.learn_batch([ConceptInput(n, embedding=vector(i)) for i, n in enumerate(names)])
        for kind, (a, b) in zip(
            AssociationType,
            [
                ("sun", "heat"),
                ("sun", "summer"),
                ("summer", "season"),
                ("season", "beach"),
                ("beach", "sand"),
            ],
            strict=True,
        ):
            client.learn_association(ids[a], ids[b], kind, confidence=0.5 + kind / 10, weight=kind)
        for _ in range(3):
            client.learn_concept("sun")  # strengthen
        for _ in range(4):
            client.get_concept(ids["beach"])
        before = {n: client.get_concept(ids[n], embedding=True) for n in names}
        neighbors_before = {n: client.get_neighbors(ids[n]) for n in names}
        stats_before = client.stats()
        assert server.terminate() == 0

    with run_server(data) as server, StorageClient(server.address) as client:
        stats = client.stats()
        for key in ("concepts", "associations", "vectors", "sequence", "writes"):
            assert getattr(stats, key) == getattr(stats_before, key), key
        for n in names:
            neighbors = client.get_neighbors(ids[n])
            assert neighbors == neighbors_before[n], n
            concept = client.get_concept(ids[n])
            assert concept is not None
            old = before[n]
            assert old is not None
            assert concept.strength == old.strength
            assert concept.confidence == old.confidence
            assert concept.created_at == old.created_at
            np.testing.assert_array_equal(concept.embedding, old.embedding)
            # One more read than before the restart: this one.
            assert concept.access_count == old.access_count + 1, n
        assert client.get_concept(ids["sun"]).strength == pytest.approx(1.02**3)  # type: ignore[union-attr]
        assert client.get_concept(ids["beach"]).access_count == 7  # type: ignore[union-attr]
        types = {
            n.type
            for name in names
            for n in client.get_neighbors(ids[name], direction=Direction.OUTGOING)
        }
        assert types == set(AssociationType)
        assert client.vector_search(vector(3), k=1)[0].concept_id == ids["season"]


def _writer(
    address: str,
    tag: str,
    use_batches: bool,
    acknowledged: dict[str, tuple[str, ...]],
    lock: threading.Lock,
    stop: threading.Event,
) -> None:
    """Write until the server dies, recording every acknowledged write."""
    with StorageClient(address, timeout=30.0, retry=RetryPolicy(attempts=1)) as client:
        i = 0
        while not stop.is_set():
            content = f"{tag}-{i}"
            try:
                if use_batches:
                    hub, leaves = content, [f"{content}-leaf{j}" for j in range(3)]
                    client.learn_batch(
                        [ConceptInput(hub), *(ConceptInput(leaf) for leaf in leaves)],
                        [
                            AssociationInput(
                                concept_id_for(hub), concept_id_for(leaf), AssociationType.CAUSAL
                            )
                            for leaf in leaves
                        ],
                    )
                    record: tuple[str, ...] = (hub, *leaves)
                else:
                    client.learn_concept(content, embedding=vector(hash(content) % 10_000))
                    record = (content,)
            except StorageError:
                return  # the server is gone: this write was not acknowledged
            with lock:
                acknowledged[content] = record
            i += 1


def _check_all_present(address: str, acknowledged: dict[str, tuple[str, ...]]) -> None:
    with StorageClient(address, timeout=30.0) as client:
        for key, record in acknowledged.items():
            for content in record:
                concept = client.get_concept(concept_id_for(content), embedding=False)
                assert concept is not None, f"acknowledged write {content!r} is missing"
                assert concept.content == content
            if len(record) > 1:
                neighbors = client.get_neighbors(concept_id_for(key), direction=Direction.OUTGOING)
                assert {n.concept_id for n in neighbors} == {concept_id_for(c) for c in record[1:]}
                assert {n.type for n in neighbors} == {AssociationType.CAUSAL}
        stats = client.stats()
        expected = sum(len(r) for r in acknowledged.values())
        assert stats.concepts >= expected


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acknowledged: dict[str, tuple[str, ...]] = {}
    lock = threading.Lock()
    rounds, per_round = 3, 400
    for round_ in range(rounds):
        with run_server(data) as server:
            _check_all_present(server.address, acknowledged)
            stop = threading.Event()
            start = len(acknowledged)
            threads = [
                threading.Thread(
                    target=_writer,
                    args=(server.address, f"r{round_}t{t}", t % 4 == 0, acknowledged, lock, stop),
                )
                for t in range(16)
            ]
            for thread in threads:
                thread.start()
            while len(acknowledged) - start < per_round and all(t.is_alive() for t in threads):
                time.sleep(0.01)
            assert server.kill() == -9  # mid-stream: 16 writers are waiting on the server
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            assert len(acknowledged) - start >= per_round
        problems = lmdb.verify.verify(str(data))
        assert problems == [], problems
    with run_server(data) as server:
        _check_all_present(server.address, acknowledged)


def test_sigterm_drains_and_exits_zero(tmp_path: Path) -> None:
    data = tmp_path / "data"
    acknowledged: dict[str, tuple[str, ...]] = {}
    lock = threading.Lock()
    with run_server(data) as server:
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_writer,
                args=(server.address, f"t{t}", t % 2 == 0, acknowledged, lock, stop),
            )
            for t in range(8)
        ]
        for thread in threads:
            thread.start()
        while len(acknowledged) < 100:
            time.sleep(0.01)
        assert server.terminate() == 0
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        log = server.log()
    assert '"event":"stopping","signal":"SIGTERM"' in log
    assert '"event":"stopped"' in log
    with run_server(data) as server:
        _check_all_present(server.address, acknowledged)


def _run_module(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "sutra.storage"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SUTRA_VECTOR_DIMENSION", "0"),
        ("SUTRA_STORAGE_PORT", "not-a-port"),
        ("SUTRA_METRICS_PORT", "70000"),
        ("SUTRA_STORAGE_QUEUE_SIZE", "-1"),
        ("SUTRA_STORAGE_MAP_SIZE", "lots"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path, variable: str, value: str) -> None:
    result = _run_module({"SUTRA_STORAGE_PATH": str(tmp_path / "data"), variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]


def test_a_store_of_another_dimension_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_server(data) as server, StorageClient(server.address) as client:
        client.learn_concept("has a vector", embedding=vector(1))
    result = _run_module(
        {
            "SUTRA_STORAGE_PATH": str(data),
            "SUTRA_VECTOR_DIMENSION": "8",
            "SUTRA_STORAGE_PORT": str(free_port()),
            "SUTRA_METRICS_PORT": "0",
        }
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "384-dimension" in lines[0] and "SUTRA_VECTOR_DIMENSION is 8" in lines[0]


def test_a_full_store_refuses_writes_and_keeps_serving(tmp_path: Path) -> None:
    from sutra.storage.client import ResourceExhausted

    env = {"SUTRA_STORAGE_MAP_SIZE": "1MiB"}
    stored: list[str] = []
    with run_server(tmp_path / "data", env=env) as server, StorageClient(server.address) as client:
        with pytest.raises(ResourceExhausted, match="map size") as raised:
            for b in range(1000):
                names = [f"filler {b}-{i}" for i in range(25)]
                client.learn_batch(
                    [ConceptInput(n, embedding=vector(i)) for i, n in enumerate(names)]
                )
                stored.extend(names)
        assert "SUTRA_STORAGE_MAP_SIZE" in raised.value.message
        assert stored and client.health()
        assert client.stats().concepts == len(stored)
        assert client.get_concept(concept_id_for(stored[-1])) is not None
    # and the store it leaves behind opens cleanly
    assert lmdb.verify.verify(str(tmp_path / "data")) == []


def test_a_second_server_on_the_same_store_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_server(data):
        result = _run_module(
            {
                "SUTRA_STORAGE_PATH": str(data),
                "SUTRA_STORAGE_PORT": str(free_port()),
                "SUTRA_METRICS_PORT": "0",
            }
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sutra-storage: another storage server is already serving {data}"
    ]
