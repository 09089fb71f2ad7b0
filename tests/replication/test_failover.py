"""Losing the writer (kill -9), two writers at once (the fence), a follower killed and back."""

from __future__ import annotations

import threading

import pytest

from sutra.common.testing import poll
from sutra.storage.errors import FailedPrecondition, Unavailable
from tests.replication.support import Load, Shard, all_found


def test_writer_killed_mid_load_loses_no_acknowledged_write(shard: Shard) -> None:
    shard.start("writer", "writer")
    shard.start("f1", "follower")
    shard.start("f2", "follower")
    readers = [shard.address("f1"), shard.address("f2")]
    with shard.client("writer") as client:
        seed = (client.learn_concept("the seed fact").concept_id, client.last_token)
    with Load(shard, readers, seed) as load:
        poll(lambda: len(load.acked) >= 60, timeout=30, what="writes before the kill")
        shard.kill("writer")
        killed_at = len(load.acked)
        shard.start("writer", "writer")
        poll(lambda: len(load.acked) >= killed_at + 60, timeout=60, what="writes after restart")
    assert load.write_errors == []  # every write was retried through the failover
    assert load.read_failures == [] and len(load.reads) > 0
    with shard.client("writer") as client:
        token = client.flush() and client.replication_status()["sequence"]
    digests = shard.digests(["writer", "f1", "f2"], token)
    assert len({d["sha256"] for d in digests.values()}) == 1, digests
    for name in ("writer", "f1", "f2"):
        assert all_found(shard, name, load.acked), name


def test_two_writers_only_the_last_claimer_appends(shard: Shard) -> None:
    starting = [threading.Thread(target=shard.start, args=(n, "writer")) for n in ("a", "b")]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join(60)
    shard.start("f1", "follower")
    acked: dict[str, list[str]] = {"a": [], "b": []}
    refused: dict[str, list[str]] = {"a": [], "b": []}

    def hammer(name: str) -> None:
        with shard.client(name) as client:
            for i in range(40):
                try:
                    acked[name].append(client.learn_concept(f"{name} says {i}").concept_id)
                except (FailedPrecondition, Unavailable) as exc:
                    refused[name].append(str(exc))

    threads = [threading.Thread(target=hammer, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    def settled() -> dict[str, str] | None:
        found = {}
        for name in ("a", "b"):
            with shard.client(name) as client:
                found[name] = client.replication_status()["state"]
        return found if sorted(found.values()) == ["fenced", "writing"] else None

    # The refused one steps down once it has read the other's entries from the log.
    final = poll(settled, timeout=30, what="one writer fenced, the other writing")
    winner = next(n for n, s in final.items() if s == "writing")
    loser = "a" if winner == "b" else "b"
    assert refused[winner] == [] and len(acked[winner]) == 40
    with shard.client(loser) as client, pytest.raises(FailedPrecondition) as caught:
        client.learn_concept("too late")
    assert "no longer the writer" in str(caught.value)
    assert shard.address(winner) in str(caught.value)
    assert shard.metric(loser, "sutra_storage_replication_fence_rejections_total") >= 1
    assert shard.metric(loser, "sutra_storage_replication_writer") == 0
    assert shard.metric(winner, "sutra_storage_replication_writer") == 1
    entries = shard.log_writers()
    last_claim = max(seq for seq, _, kind in entries if kind == 2)
    claimer = next(w for seq, w, _ in entries if seq == last_claim)
    assert {w for seq, w, _ in entries if seq > last_claim} == {claimer}  # only one appends
    with shard.client(winner) as client:
        token = client.flush() and client.replication_status()["sequence"]
    digests = shard.digests(["a", "b", "f1"], token)
    assert len({d["sha256"] for d in digests.values()}) == 1, digests  # no divergence
    assert all_found(shard, winner, acked["a"] + acked["b"])


def test_a_follower_killed_and_restarted_catches_up(shard: Shard) -> None:
    shard.start("writer", "writer")
    shard.start("f1", "follower")
    with shard.client("writer") as client:
        for i in range(30):
            client.learn_concept(f"before {i % 10}")  # re-learning: applied twice would differ
        shard.kill("f1")
        for i in range(30):
            client.learn_concept(f"while down {i % 10}")
        behind = client.replication_status()["sequence"]
        restarted = shard.start("f1", "follower")  # returns once SERVING: ready = caught up
        with shard.client("f1") as follower:
            status = follower.replication_status()
        assert status["ready"] and status["sequence"] >= behind
        assert status["pid"] == restarted.pid and status["role"] == "follower"
        for i in range(10):
            client.learn_concept(f"after {i}")
        token = client.replication_status()["sequence"]
    digests = shard.digests(["writer", "f1"], token)
    assert digests["writer"]["concepts"] == 30
    assert digests["writer"]["sha256"] == digests["f1"]["sha256"]
