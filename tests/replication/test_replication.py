"""The replicated log: followers equal to the writer, read-your-writes, write refusal."""

from __future__ import annotations

import asyncio
import itertools

import grpc
import pytest

from sutra.storage.aio import AsyncStorageClient
from sutra.storage.client import AssociationInput, ConceptInput, StorageClient
from sutra.storage.errors import FailedPrecondition
from sutra.storage.v1 import storage_pb2 as pb
from sutra.storage.v1 import storage_pb2_grpc as pb_grpc
from tests.replication.support import Shard, vector


def _learn(client: StorageClient, start: int, count: int) -> list[str]:
    concepts = [ConceptInput(f"fact {i}", embedding=vector(i)) for i in range(start, start + count)]
    result = client.learn_batch(concepts)
    ids = result.concept_ids
    client.learn_batch(
        associations=[AssociationInput(a, b, confidence=0.5) for a, b in itertools.pairwise(ids)]
    )
    return ids


def test_every_acknowledged_write_is_on_every_follower(shard: Shard) -> None:
    shard.start("writer", "writer")
    shard.start("f1", "follower")
    shard.start("f2", "follower")
    readers = [shard.address("f1"), shard.address("f2")]
    with shard.client("writer", readers=readers) as client:
        ids = [cid for i in range(0, 60, 20) for cid in _learn(client, i, 20)]
        client.learn_concept("a single fact")
        token = client.last_token
        assert token > 0
        # Reads go to the followers, at least at this client's last write.
        found = client.get_concepts(ids)
        assert all(c is not None for c in found)
        assert len(client.get_neighbors(ids[0])) == 1
    digests = shard.digests(["writer", "f1", "f2"], token)
    assert digests["writer"]["concepts"] == 61
    assert digests["writer"]["associations"] == 57
    assert len({d["sha256"] for d in digests.values()}) == 1, digests
    # Without the writer, both clients' reads are served by the followers.
    shard.kill("writer")
    with StorageClient(shard.address("writer"), readers=readers) as client:
        assert all(c is not None for c in client.get_concepts(ids))

    async def read_async() -> list:
        async with AsyncStorageClient("127.0.0.1:1", readers=readers) as aclient:
            return [await aclient.get_concept(cid) for cid in ids[:5]]

    assert all(c is not None for c in asyncio.run(read_async()))


def test_min_sequence_reads_and_write_refusal_on_a_follower(shard: Shard) -> None:
    shard.start("writer", "writer")
    shard.start("f1", "follower")
    with (
        grpc.insecure_channel(shard.address("writer")) as w,
        grpc.insecure_channel(shard.address("f1")) as f,
    ):
        writer, follower = pb_grpc.StorageServiceStub(w), pb_grpc.StorageServiceStub(f)
        for i in range(20):
            written = writer.LearnConcept(pb.LearnConceptRequest(content=f"read me {i}"))
            assert written.token.sequence > 0 and written.token.shard == 0
            read = follower.GetConcept(
                pb.GetConceptRequest(
                    concept_id=written.concept_id, min_sequence=written.token.sequence
                ),
                timeout=10,
            )
            assert read.found and read.concept.content == f"read me {i}"
        # A sequence the log does not hold yet: a bounded wait, then UNAVAILABLE.
        with pytest.raises(grpc.RpcError) as caught:
            follower.GetConcept(
                pb.GetConceptRequest(
                    concept_id=written.concept_id, min_sequence=written.token.sequence + 100
                ),
                timeout=10,
            )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "not yet" in caught.value.details()
    # A follower refuses writes, naming the writer (learned from the writer's claim entry).
    with shard.client("f1") as client, pytest.raises(FailedPrecondition) as refused:
        client.learn_concept("not here")
    assert shard.address("writer") in str(refused.value)
    assert "read follower" in str(refused.value)


def test_storage_status_lists_every_member(shard: Shard) -> None:
    import json
    import subprocess
    import sys

    writer = shard.start("writer", "writer")
    follower = shard.start("f1", "follower")
    with shard.client("writer") as client:
        client.learn_concept("counted")
        token = client.last_token or client.replication_status()["sequence"]
    shard.digests(["f1"], token)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sutra.cli",
            "storage",
            "status",
            "--json",
            "--server",
            writer.address,
            "--readers",
            follower.address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    members = json.loads(result.stdout)["members"]
    assert [m["role"] for m in members] == ["writer", "follower"]
    assert [m["address"] for m in members] == [writer.address, follower.address]
    assert [m["pid"] for m in members] == [writer.pid, follower.pid]
    assert all(m["sequence"] >= token and m["lag"] == 0 and m["shard"] == 0 for m in members)
    assert set(members[0]) == {"role", "shard", "address", "pid", "sequence", "lag"}
    applied = shard.metric("f1", "sutra_storage_replication_applied_sequence")
    assert applied == members[1]["sequence"]
    assert shard.metric("f1", "sutra_storage_replication_lag_entries") == 0
    assert shard.metric("f1", "sutra_storage_replication_entries_total") >= 1
