"""What a store does while concepts move between shards, on real LMDB stores in-process:
exact copies, deletes that reach the vector index, change marks and the fence, and the log
entries that carry copies and deletes to followers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from sutra.storage.engine import Engine, MoveHook, RecordCopy, Replicator
from sutra.storage.errors import Aborted, FailedPrecondition, InvalidArgument
from sutra.storage.ids import concept_id_for, parse_id
from sutra.storage.replication import log as entries
from sutra.storage.replication.digest import store_digest
from sutra.storage.shards.map import ShardMap
from sutra.storage.shards.moves import read_copy
from sutra.storage.shards.service import ShardRole

DIMENSION = 8


def _engine(path: Path, **options: object) -> Engine:
    return Engine(path, dimension=DIMENSION, access_flush_seconds=0.05, **options)  # type: ignore[arg-type]


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Engine]:
    """A store of 20 concepts (vectors on the even ones) in a chain of associations."""
    with _engine(tmp_path / "source") as engine:
        rng = np.random.default_rng(3)
        concepts = [
            engine.make_concept(
                concept_id=None,
                content=f"concept {i}",
                embedding=rng.standard_normal(DIMENSION) if i % 2 == 0 else None,
            )
            for i in range(20)
        ]
        links = [
            engine.make_association(
                source_id=concepts[i].id.hex(), target_id=concepts[i + 1].id.hex(), type=1
            )
            for i in range(19)
        ]
        engine.write(concepts, links, batch=True)
        yield engine


def _raw(n: int) -> bytes:
    return parse_id(concept_id_for(f"concept {n}"))


def _copies(engine: Engine, ids: Sequence[bytes]) -> list[RecordCopy]:
    with engine.env.begin() as txn:
        return [read_copy(engine, txn, raw_id) for raw_id in ids]  # type: ignore[misc]


def test_copies_are_stored_exactly_and_counted(source: Engine, tmp_path: Path) -> None:
    with _engine(tmp_path / "target") as target:
        copies = _copies(source, [_raw(n) for n in range(20)])
        target.submit_copies(copies).result()
        target.submit_copies(copies).result()  # a page copied twice changes nothing
        assert _copies(target, [_raw(n) for n in range(20)]) == copies
        stats = target.stats()
        assert (stats.concepts, stats.associations, stats.vectors) == (20, 19, 10)
        query = np.frombuffer(copies[4].vector, dtype="<f4")
        assert target.search(query, 1)[0][0] == _raw(4).hex()


def test_a_bad_copy_is_refused_naming_it(source: Engine) -> None:
    copy = _copies(source, [_raw(0)])[0]
    wrong_size = RecordCopy(copy.id, copy.record, copy.vector[:8], copy.edges)
    with pytest.raises(InvalidArgument, match=r"copies\[\]\.vector .* has 2 dimensions"):
        source.submit_copies([wrong_size])
    foreign_half = RecordCopy(copy.id, copy.record, copy.vector, [(b"x" * 34, b"")])
    with pytest.raises(InvalidArgument, match="is not one of its halves"):
        source.submit_copies([foreign_half])


def test_a_drop_deletes_records_halves_and_vectors(source: Engine) -> None:
    dropped = [_raw(n) for n in range(0, 10)]
    query = np.frombuffer(_copies(source, [_raw(4)])[0].vector, dtype="<f4")
    source.submit_drop(dropped).result()
    stats = source.stats()
    # concepts 10..19 stay with the 9 associations among them; 10's incoming half stays
    assert (stats.concepts, stats.vectors, stats.associations) == (10, 5, 9)
    assert all(source.get_concept(raw_id.hex()) is None for raw_id in dropped)
    hits = {concept_id for concept_id, _ in source.search(query, 20)}
    assert hits.isdisjoint(raw_id.hex() for raw_id in dropped)
    with source.env.begin() as txn:
        nodes = {bytes(key[:16]) for key, _ in txn.cursor(db=source.dbs.edges)}
    assert nodes.isdisjoint(dropped)


class _Hook(MoveHook):
    """Moves the even-numbered concepts; refuses their writes once fenced."""

    def __init__(self) -> None:
        self.active = True
        self.fenced = False
        self.moved = {_raw(n) for n in range(0, 40, 2)}

    def moving(self, raw_id: bytes) -> bool:
        return raw_id in self.moved

    def refusal(self, raw_id: bytes) -> Aborted:
        return Aborted(f"concept {raw_id.hex()} is moving")


def test_writes_of_moving_concepts_are_marked_then_fenced(source: Engine) -> None:
    hook = _Hook()
    source.moves = hook
    again = [source.make_concept(concept_id=None, content=f"concept {n}") for n in (1, 2, 3, 4)]
    source.write(again)
    with source.env.begin() as txn:
        marked = {bytes(key) for key, _ in txn.cursor(db=source.changed_db)}
    assert marked == {_raw(2), _raw(4)}
    hook.fenced = True
    with pytest.raises(Aborted, match=_raw(2).hex()):
        source.write(again[1:2])
    source.write(again[0:1])  # a concept that stays is written as usual
    link = source.make_association(source_id=_raw(5).hex(), target_id=_raw(6).hex(), type=0)
    with pytest.raises(Aborted):
        source.write([], [link])


class _Capture(Replicator):
    """Encodes each group as the log does and keeps the entries (a log without NATS)."""

    def __init__(self) -> None:
        self.entries: list[bytes] = []

    def publish(self, writes: Sequence[object], when: float, applied: int) -> int:
        items = [
            entries.LogWrite(w.concepts, w.associations, w.batch, w.op, w.copies, w.drops, w.state)  # type: ignore[attr-defined]
            for w in writes
        ]
        self.entries.append(entries.encode_writes(items, when, b"w" * 16))
        return applied + 1


def test_copies_and_drops_reach_followers_through_the_log(source: Engine, tmp_path: Path) -> None:
    copies = _copies(source, [_raw(n) for n in range(20)])
    with _engine(tmp_path / "writer") as writer, _engine(tmp_path / "follower") as follower:
        capture = _Capture()
        writer.replicator = capture
        writer.submit_copies(copies).result()
        writer.write([writer.make_concept(concept_id=None, content="concept 1")])
        writer.submit_drop([_raw(n) for n in range(5)]).result()
        decoded = [entries.decode(raw) for raw in capture.entries]
        assert [e.writes[0].op for e in decoded] == [1, 0, 2]
        replay = [(n + 1, e.time, e.writes) for n, e in enumerate(decoded)]
        follower.submit_replay(replay).result()
        assert store_digest(follower, replicated=True) == store_digest(writer, replicated=True)
        assert follower.stats().concepts == 15


def test_only_entries_with_copies_or_drops_take_the_new_version() -> None:
    plain = entries.encode_writes([entries.LogWrite([], [], False)], 0.0, b"w" * 16)
    drop = entries.LogWrite((), (), False, op=2, drops=[b"d" * 16])
    moved = entries.encode_writes([drop], 0.0, b"w" * 16)
    assert (plain[2], moved[2]) == (1, 2)  # version-1 followers still read plain groups
    assert entries.decode(moved).writes[0].drops == [b"d" * 16]
    with pytest.raises(entries.EntryError, match="version 3 is not supported"):
        entries.decode(moved[:2] + bytes([3]) + moved[3:])


def test_a_write_queued_behind_a_switch_is_checked_against_the_new_map(source: Engine) -> None:
    """Ownership is checked by the writer thread: a write that passed the server's check
    before a map switch, but is applied after it, is refused instead of stored half."""
    role = ShardRole(0, ShardMap(1))
    source.owns, source.moves = role.owns, role
    ids = [concept_id_for(f"queued {n}") for n in range(50)]
    foreign = next(i for i in ids if ShardMap(2).owner(i) == 1)
    switch = source.submit_shard_state(role.changed(count=2, epoch=1, targets=["a", "b"]))
    queued = source.submit([source.make_concept(concept_id=foreign, content="queued")])
    switch.result()
    with pytest.raises(FailedPrecondition, match=f"concept {foreign} belongs to shard 1"):
        queued.result()
    assert source.get_concept(foreign) is None
