"""Every RPC through StorageClient against a real server; bad input gets the right status."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sutra.storage.client import (
    AssociationInput,
    AssociationType,
    ConceptInput,
    Direction,
    InvalidArgument,
    NotFound,
    StorageClient,
    StorageError,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.snapshots import verify_snapshot
from sutra.storage.testing import ServerProcess

from .support import DIMENSION, vector


def test_health_reports_serving(client: StorageClient) -> None:
    assert client.health()
    assert client.health("sutra.storage.v1.StorageService")


def test_learn_and_get_concept_round_trip(client: StorageClient) -> None:
    learned = client.learn_concept(
        "Water boils at 100 degrees", embedding=vector(1), strength=2.0, confidence=0.75
    )
    assert learned.concept_id == concept_id_for("water  boils at 100 DEGREES ")
    assert learned.sequence > 0
    concept = client.get_concept(learned.concept_id)
    assert concept is not None
    assert concept.id == learned.concept_id
    assert concept.content == "Water boils at 100 degrees"
    assert concept.strength == 2.0
    assert concept.confidence == 0.75
    assert concept.embedding is not None
    np.testing.assert_allclose(concept.embedding, vector(1), rtol=1e-6)
    assert concept.created_at > 0 and concept.updated_at >= concept.created_at
    assert concept.access_count == 1
    assert client.get_concept(learned.concept_id, embedding=False).embedding is None  # type: ignore[union-attr]
    assert client.get_concept("0" * 32) is None


def test_relearning_strengthens_and_keeps_the_larger_confidence(client: StorageClient) -> None:
    first = client.learn_concept("Ice is frozen water", confidence=0.9)
    again = client.learn_concept("ice is frozen water", confidence=0.5)
    assert again.concept_id == first.concept_id
    assert again.sequence > first.sequence
    concept = client.get_concept(first.concept_id)
    assert concept is not None
    assert concept.strength == pytest.approx(1.02)
    assert concept.confidence == 0.9
    assert concept.content == "ice is frozen water"


def test_explicit_ids_are_kept(client: StorageClient) -> None:
    chosen = "ABCDEF0123456789abcdef0123456789"
    learned = client.learn_concept("chosen id", concept_id=chosen)
    assert learned.concept_id == chosen.lower()
    assert client.get_concept(chosen) is not None


def test_associations_neighbors_and_paths(client: StorageClient) -> None:
    names = ["rain", "wet ground", "mud", "boots", "puddle"]
    batch = client.learn_batch([ConceptInput(n) for n in names])
    ids = dict(zip(names, batch.concept_ids, strict=True))
    assert batch.concept_ids == [concept_id_for(n) for n in names]
    client.learn_association(ids["rain"], ids["wet ground"], AssociationType.CAUSAL, confidence=0.9)
    client.learn_association(
        ids["wet ground"], ids["mud"], AssociationType.COMPOSITIONAL, weight=2.5
    )
    client.learn_association(ids["boots"], ids["mud"], AssociationType.TEMPORAL, confidence=0.4)
    client.learn_association(ids["rain"], ids["puddle"], AssociationType.HIERARCHICAL)
    client.learn_association(ids["puddle"], ids["rain"], AssociationType.SEMANTIC)

    out = client.get_neighbors(ids["rain"], direction=Direction.OUTGOING)
    assert {(n.concept_id, n.type, n.direction) for n in out} == {
        (ids["wet ground"], AssociationType.CAUSAL, Direction.OUTGOING),
        (ids["puddle"], AssociationType.HIERARCHICAL, Direction.OUTGOING),
    }
    incoming = client.get_neighbors(ids["mud"], direction=Direction.INCOMING)
    by_source = {n.concept_id: n for n in incoming}
    assert by_source[ids["wet ground"]].type == AssociationType.COMPOSITIONAL
    assert by_source[ids["wet ground"]].weight == 2.5
    assert by_source[ids["boots"]].confidence == 0.4
    both = client.get_neighbors(ids["rain"])
    assert len(both) == 3
    assert [n.type for n in client.get_neighbors(ids["rain"], types=[AssociationType.CAUSAL])] == [
        AssociationType.CAUSAL
    ]
    assert len(client.get_neighbors(ids["rain"], limit=1)) == 1

    path = client.find_path(ids["rain"], ids["mud"])
    assert path is not None
    assert path.concept_ids == [ids["rain"], ids["wet ground"], ids["mud"]]
    assert [c.content for c in path.concepts] == ["rain", "wet ground", "mud"]
    assert [(e.source_id, e.target_id, e.type) for e in path.edges] == [
        (ids["rain"], ids["wet ground"], AssociationType.CAUSAL),
        (ids["wet ground"], ids["mud"], AssociationType.COMPOSITIONAL),
    ]
    # Undirected by default: boots -> mud <- wet ground <- rain.
    undirected = client.find_path(ids["boots"], ids["rain"])
    assert undirected is not None and len(undirected.edges) == 3
    assert client.find_path(ids["boots"], ids["rain"], directed=True) is None
    assert client.find_path(ids["rain"], ids["mud"], max_depth=1) is None
    same = client.find_path(ids["rain"], ids["rain"])
    assert same is not None and same.concept_ids == [ids["rain"]] and same.edges == []


def test_batch_is_one_write_with_internal_associations(client: StorageClient) -> None:
    a, b = concept_id_for("batch a"), concept_id_for("batch b")
    result = client.learn_batch(
        [ConceptInput("batch a", embedding=vector(11)), {"content": "batch b"}],
        [AssociationInput(a, b, AssociationType.CAUSAL, confidence=0.6)],
    )
    assert result.concept_ids == [a, b]
    assert result.associations == 1
    assert [n.concept_id for n in client.get_neighbors(a)] == [b]


def test_vector_search_finds_the_nearest(client: StorageClient) -> None:
    ids = [
        client.learn_concept(f"vector concept {i}", embedding=vector(100 + i)).concept_id
        for i in range(20)
    ]
    hits = client.vector_search(vector(105), k=3)
    assert hits[0].concept_id == ids[5]
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-5)
    assert len(hits) == 3
    assert hits[0].similarity >= hits[1].similarity >= hits[2].similarity
    near = vector(107) + 0.01 * vector(999)
    assert client.vector_search(near, k=1, ef_search=200)[0].concept_id == ids[7]


def test_stats_and_flush(client: StorageClient) -> None:
    before = client.stats()
    client.learn_concept("stats probe", embedding=vector(5000))
    sequence = client.flush()
    after = client.stats()
    assert after.concepts == before.concepts + 1
    assert after.vectors == before.vectors + 1
    assert after.writes == before.writes + 1
    assert after.sequence == sequence == before.sequence + 1
    assert after.commits > before.commits
    assert after.pending == 0
    assert after.store_bytes > 0
    assert after.uptime_seconds >= before.uptime_seconds
    assert after.dimension == DIMENSION


def test_server_side_snapshot(client: StorageClient, tmp_path: Path) -> None:
    client.learn_concept("snapshot me")
    stats = client.stats()
    info = client.snapshot(str(tmp_path / "snap"))
    assert info.path == str(tmp_path / "snap")
    assert info.concepts == stats.concepts and info.sequence == stats.sequence
    verified = verify_snapshot(tmp_path / "snap")
    assert verified.sha256 == info.sha256 and verified.concepts == info.concepts
    assert client.stats().last_snapshot_time >= info.created_at - 1
    with pytest.raises(StorageError, match="already exists"):
        client.snapshot(str(tmp_path / "snap"))
    with pytest.raises(InvalidArgument, match="absolute"):
        client.snapshot("relative/dir")


BAD_INPUT: list[tuple[str, Callable[[StorageClient], object], type[StorageError], str]] = [
    ("malformed id", lambda c: c.get_concept("not-hex"), InvalidArgument, "32 hex"),
    ("short id", lambda c: c.learn_concept("x", concept_id="abc"), InvalidArgument, "32 hex"),
    (
        "wrong dimension",
        lambda c: c.learn_concept("x", embedding=[0.5] * 12),
        InvalidArgument,
        f"expected {DIMENSION} dimensions, got 12",
    ),
    (
        "wrong query dimension",
        lambda c: c.vector_search([0.5] * 12, k=1),
        InvalidArgument,
        f"expected {DIMENSION} dimensions, got 12",
    ),
    (
        "unknown concept",
        lambda c: c.learn_association(concept_id_for("rain"), "f" * 32),
        NotFound,
        "f" * 32,
    ),
    ("neighbors of unknown", lambda c: c.get_neighbors("e" * 32), NotFound, "e" * 32),
    ("path from unknown", lambda c: c.find_path("d" * 32, "e" * 32), NotFound, "d" * 32),
    ("oversized", lambda c: c.learn_concept("x" * 70_000), InvalidArgument, "65536 bytes"),
    ("empty content", lambda c: c.learn_concept("   "), InvalidArgument, "empty"),
    ("empty batch", lambda c: c.learn_batch([], []), InvalidArgument, "at least one"),
    ("negative k", lambda c: c.vector_search(np.ones(DIMENSION), k=-1), InvalidArgument, "k"),
    ("zero k", lambda c: c.vector_search(np.ones(DIMENSION), k=0), InvalidArgument, "k"),
    (
        "confidence",
        lambda c: c.learn_concept("x", confidence=1.5),
        InvalidArgument,
        "confidence must be within [0, 1]",
    ),
    (
        "association confidence",
        lambda c: c.learn_association("a" * 32, "b" * 32, confidence=-0.1),
        InvalidArgument,
        "confidence",
    ),
    (
        "self association",
        lambda c: c.learn_association(concept_id_for("rain"), concept_id_for("rain")),
        InvalidArgument,
        "two concepts",
    ),
    (
        "zero query",
        lambda c: c.vector_search(np.zeros(DIMENSION), k=1),
        InvalidArgument,
        "zeros",
    ),
    ("depth", lambda c: c.find_path("a" * 32, "b" * 32, max_depth=-1), InvalidArgument, "depth"),
    (
        "bad batch member",
        lambda c: c.learn_batch([ConceptInput("fine"), ConceptInput("bad", embedding=[1.0])]),
        InvalidArgument,
        "got 1",
    ),
]


@pytest.mark.parametrize(
    ("case", "call", "error", "message"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT]
)
def test_bad_input_gets_a_status_and_the_server_keeps_serving(
    client: StorageClient,
    case: str,
    call: Callable[[StorageClient], object],
    error: type[StorageError],
    message: str,
) -> None:
    before = client.stats()
    with pytest.raises(error) as raised:
        call(client)
    assert message in raised.value.message, raised.value.message
    after = client.stats()
    assert after.sequence == before.sequence  # nothing was written
    assert client.health()


def test_a_refused_batch_writes_nothing(client: StorageClient) -> None:
    with pytest.raises(NotFound):
        client.learn_batch(
            [ConceptInput("half batch member")],
            [AssociationInput(concept_id_for("half batch member"), "c" * 32)],
        )
    assert client.get_concept(concept_id_for("half batch member")) is None


def test_metrics_endpoint_serves_storage_metrics(
    server: ServerProcess, client: StorageClient
) -> None:
    client.learn_concept("metrics probe", embedding=vector(77))
    client.vector_search(vector(77), k=1)
    stats = client.stats()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    for name in (
        'sutra_storage_writes_total{kind="concept"}',
        "sutra_storage_batches_total",
        "sutra_storage_commit_batch_size_bucket",
        "sutra_storage_commit_seconds_bucket",
        "sutra_storage_search_seconds_bucket",
        "sutra_storage_queue_depth",
        "sutra_storage_concepts",
        "sutra_storage_associations",
        "sutra_storage_vectors",
        "sutra_storage_store_bytes",
        "sutra_storage_last_snapshot_timestamp_seconds",
        "sutra_storage_sequence",
    ):
        assert name in text, name
    values = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["sutra_storage_concepts"] == stats.concepts
    assert values["sutra_storage_sequence"] == stats.sequence
