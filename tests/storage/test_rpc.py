"""Every RPC through StorageClient against a real server; bad input gets the right status."""

from __future__ import annotations

import asyncio
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
    # Length does not matter to cosine similarity, not even subnormal float32 lengths.
    tiny = (vector(105).astype(np.float64) * 1e-41).astype(np.float32)
    assert np.any(tiny)
    assert client.vector_search(tiny, k=1)[0].concept_id == ids[5]


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
    (
        "NaN in a batch vector",
        lambda c: c.learn_batch(
            [
                ConceptInput("fine nan", embedding=vector(1)),
                ConceptInput("bad nan", embedding=np.full(DIMENSION, np.nan)),
            ]
        ),
        InvalidArgument,
        "NaN or infinite",
    ),
    (
        "infinite query",
        lambda c: c.vector_search(np.full(DIMENSION, np.inf), k=1),
        InvalidArgument,
        "NaN or infinite",
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
    client.learn_concept("rain")  # a known concept, for the cases that need one
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


def _raw_stub(server: ServerProcess):  # type: ignore[no-untyped-def]
    import grpc

    from sutra.storage.v1 import storage_pb2_grpc as pb_grpc

    channel = grpc.insecure_channel(server.address)
    return channel, pb_grpc.StorageServiceStub(channel)


def test_vectors_as_repeated_floats_or_packed_bytes(server: ServerProcess) -> None:
    """Both encodings of a vector are accepted and answered; both at once is refused."""
    import grpc

    from sutra.storage.v1 import storage_pb2 as pb

    channel, stub = _raw_stub(server)
    with channel:
        listed = stub.LearnConcept(
            pb.LearnConceptRequest(content="listed vector", embedding=vector(21).tolist())
        )
        packed = stub.LearnConcept(
            pb.LearnConceptRequest(
                content="packed vector", embedding_f32=vector(22).astype("<f4").tobytes()
            )
        )
        for concept_id, expected in ((listed.concept_id, 21), (packed.concept_id, 22)):
            as_list = stub.GetConcept(pb.GetConceptRequest(concept_id=concept_id))
            assert not as_list.concept.embedding_f32
            np.testing.assert_allclose(as_list.concept.embedding, vector(expected), rtol=1e-6)
            as_bytes = stub.GetConcept(
                pb.GetConceptRequest(concept_id=concept_id, packed_embedding=True)
            )
            assert len(as_bytes.concept.embedding) == 0
            np.testing.assert_array_equal(
                np.frombuffer(as_bytes.concept.embedding_f32, dtype="<f4"), vector(expected)
            )
        for query in (
            pb.VectorSearchRequest(query_vector=vector(22).tolist(), k=1),
            pb.VectorSearchRequest(query_vector_f32=vector(22).astype("<f4").tobytes(), k=1),
        ):
            assert stub.VectorSearch(query).results[0].concept_id == packed.concept_id

        refused = [
            pb.LearnConceptRequest(
                content="both",
                embedding=vector(23).tolist(),
                embedding_f32=vector(23).astype("<f4").tobytes(),
            ),
            pb.LearnConceptRequest(content="ragged", embedding_f32=b"\x00" * 7),
            pb.LearnConceptRequest(
                content="short", embedding_f32=vector(23, 12).astype("<f4").tobytes()
            ),
        ]
        messages = ["not both", "4 bytes each", f"expected {DIMENSION} dimensions, got 12"]
        for request, message in zip(refused, messages, strict=True):
            with pytest.raises(grpc.RpcError) as raised:
                stub.LearnConcept(request)
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert message in raised.value.details()
        with pytest.raises(grpc.RpcError) as raised:
            stub.VectorSearch(
                pb.VectorSearchRequest(
                    query_vector=[1.0] * DIMENSION,
                    query_vector_f32=np.ones(DIMENSION, "<f4").tobytes(),
                    k=1,
                )
            )
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_batch_vectors_are_stored_row_by_row(client: StorageClient) -> None:
    """A batch's vectors are checked and converted as one block; each concept keeps its own."""
    members = [ConceptInput(f"block member {i}", embedding=vector(100 + i)) for i in range(20)]
    members.insert(7, ConceptInput("block member without a vector"))
    result = client.learn_batch(members)
    for member, concept_id in zip(members, result.concept_ids, strict=True):
        concept = client.get_concept(concept_id)
        assert concept is not None and concept.content == member.content
        if member.embedding is None:
            assert concept.embedding is None
        else:
            np.testing.assert_array_equal(concept.embedding, member.embedding)


def test_relearning_within_a_batch_and_adding_a_vector_later(client: StorageClient) -> None:
    before = client.stats()
    first = client.learn_batch(
        [ConceptInput("twice in one batch"), ConceptInput("TWICE in one batch", confidence=0.5)]
    )
    assert first.concept_ids[0] == first.concept_ids[1]
    concept = client.get_concept(first.concept_ids[0])
    assert concept is not None
    assert concept.strength == pytest.approx(1.02)
    assert concept.embedding is None
    middle = client.stats()
    assert (middle.concepts, middle.vectors) == (before.concepts + 1, before.vectors)

    client.learn_concept("twice in one batch", embedding=vector(31))
    client.learn_concept("twice in one batch", embedding=vector(32))
    after = client.stats()
    assert (after.concepts, after.vectors) == (middle.concepts, middle.vectors + 1)
    concept = client.get_concept(first.concept_ids[0])
    assert concept is not None and concept.embedding is not None
    np.testing.assert_array_equal(concept.embedding, vector(32))
    assert client.vector_search(vector(32), k=1)[0].concept_id == first.concept_ids[0]


def test_get_concepts_reads_many_in_request_order(client: StorageClient) -> None:
    learned = client.learn_batch(
        [ConceptInput(f"batch read {i}", embedding=vector(500 + i)) for i in range(5)]
    )
    ids = learned.concept_ids
    unknown = "9" * 32
    asked = [ids[3], unknown, ids[0], ids[4].upper(), ids[3]]
    found = client.get_concepts(asked)
    assert [c.id if c else None for c in found] == [ids[3], None, ids[0], ids[4], ids[3]]
    assert [c.content if c else None for c in found] == [
        "batch read 3",
        None,
        "batch read 0",
        "batch read 4",
        "batch read 3",
    ]
    assert all(c.embedding is None for c in found if c)  # no vectors unless asked
    with_vectors = client.get_concepts([ids[1], ids[2]], embedding=True)
    for offset, concept in zip((1, 2), with_vectors, strict=True):
        assert concept is not None and concept.embedding is not None
        np.testing.assert_allclose(concept.embedding, vector(500 + offset), rtol=1e-6)
    # The same record as GetConcept reads; every read is counted, repeats included.
    single = client.get_concept(ids[3], embedding=False)
    assert single is not None and found[4] is not None
    assert (single.strength, single.confidence, single.created_at) == (
        found[4].strength,
        found[4].confidence,
        found[4].created_at,
    )
    assert found[0].access_count == 1 and found[4].access_count == 2  # type: ignore[union-attr]
    assert single.access_count == 3
    assert client.get_concepts([]) == []
    assert client.get_concepts([unknown]) == [None]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["a" * 32, "not-hex"], "concept_ids[1] must be 32 hex characters, got 'not-hex'"),
        (["a" * 31], "concept_ids[0] must be 32 hex characters"),
        (["a" * 32] * 1_001, "1001 ids, more than the limit of 1000"),
    ],
    ids=["malformed", "short", "over the limit"],
)
def test_get_concepts_refuses_bad_requests(
    client: StorageClient, ids: list[str], message: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        client.get_concepts(ids)
    assert message in raised.value.message, raised.value.message
    assert len(client.get_concepts(["a" * 32] * 1_000)) == 1_000  # the limit itself is fine


def test_async_client_get_concepts(server: ServerProcess, client: StorageClient) -> None:
    from sutra.storage.aio import AsyncStorageClient

    known = client.learn_concept("async batch read", embedding=vector(77)).concept_id

    async def read() -> list:
        async with AsyncStorageClient(server.address, timeout=10) as aio:
            found = await aio.get_concepts([known, "8" * 32], embedding=True)
            with pytest.raises(InvalidArgument, match="concept_ids\\[0\\]"):
                await aio.get_concepts(["xyz"])
            return found

    found = asyncio.run(read())
    assert found[1] is None
    assert found[0] is not None and found[0].content == "async batch read"
    np.testing.assert_allclose(found[0].embedding, vector(77), rtol=1e-6)  # type: ignore[arg-type]
