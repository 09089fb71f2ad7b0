"""How a store takes part in a move of concepts between shards (resharding), inside the writer.

Three things happen in the writer's transactions, so that each is exactly as durable as the
write it belongs to:

- While a move is in progress, a client write of a concept the new map gives to another shard
  marks it changed (`mark_changed`: id -> the write's sequence, in the `moving` database), so
  the mover copies it again; once the move is fenced such a write is refused instead (ABORTED:
  the client sends it again once the new owner serves it).
- `apply_copies` stores concepts exactly as another shard held them: record, vector and halves,
  byte for byte, so that copying twice or copying an older state first changes nothing.
- `apply_drop` deletes concepts, their vectors (the vector index forgets them after the
  commit) and every association half stored under them.

Copies and drops are log writes on a replicated shard (sutra.storage.replication.log), so
followers stay equal to their writer; the change marks are the writer's own bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import lmdb
import numpy as np

from sutra.storage import layout

if TYPE_CHECKING:
    from sutra.storage.engine import Engine, MoveHook, RecordCopy

Changes = list[tuple[bytes, np.ndarray | None]]


def mark_changed(
    engine: Engine,
    txn: lmdb.Transaction,
    write: Any,
    sequence: int,
    hook: MoveHook,
    owns: Callable[[bytes], bool],
    *,
    refuse: bool = True,
) -> None:
    """Mark the moving concepts a write touches; refuse a client's once the move is fenced
    (`refuse`; a replayed log entry was accepted by the writer: it is only marked)."""
    touched = [c.id for c in write.concepts]
    for assoc in write.associations:
        touched += [end for end in (assoc.source, assoc.target) if owns(end)]
    moving = [raw_id for raw_id in touched if hook.moving(raw_id)]
    if not moving:
        return
    if hook.fenced and refuse:
        raise hook.refusal(moving[0])
    mark = layout.pack_u64(sequence)
    for raw_id in moving:
        txn.put(raw_id, mark, db=engine.changed_db)


def apply_copies(
    engine: Engine,
    txn: lmdb.Transaction,
    copies: Sequence[RecordCopy],
    meta: dict[str, int],
    changes: Changes,
) -> None:
    """Store each copy exactly (an upsert of every record); the counters follow what changed."""
    dbs = engine.dbs
    for copy in copies:
        old = txn.get(copy.id, db=dbs.concepts)
        had_vector = old is not None and layout.ConceptRecord.decode(old).has_vector
        meta["concepts"] += old is None
        txn.put(copy.id, copy.record, db=dbs.concepts)
        if copy.vector:
            txn.put(copy.id, copy.vector, db=dbs.vectors)
            changes.append((copy.id, np.frombuffer(copy.vector, dtype="<f4")))
        elif had_vector:
            txn.delete(copy.id, db=dbs.vectors)
            changes.append((copy.id, None))
        meta["vectors"] += bool(copy.vector) - had_vector
        for key, value in copy.edges:
            new = txn.put(key, value, db=dbs.edges, overwrite=False)
            if not new:
                txn.put(key, value, db=dbs.edges)
            elif key[16] == layout.OUTGOING:  # counted on the source's shard
                meta["associations"] += 1


def apply_drop(
    engine: Engine,
    txn: lmdb.Transaction,
    ids: Sequence[bytes],
    meta: dict[str, int],
    changes: Changes,
) -> None:
    """Delete each concept, its vector and the association halves stored under it."""
    dbs = engine.dbs
    for raw_id in ids:
        old = txn.get(raw_id, db=dbs.concepts)
        if old is not None:
            meta["concepts"] -= 1
            if layout.ConceptRecord.decode(old).has_vector:
                meta["vectors"] -= 1
                txn.delete(raw_id, db=dbs.vectors)
                changes.append((raw_id, None))
            txn.delete(raw_id, db=dbs.concepts)
        cursor = txn.cursor(db=dbs.edges)
        if cursor.set_range(raw_id):
            while cursor.key()[:16] == raw_id:
                meta["associations"] -= cursor.key()[16] == layout.OUTGOING
                if not cursor.delete():
                    break
        txn.delete(raw_id, db=engine.changed_db)


def read_copy(engine: Engine, txn: lmdb.Transaction, raw_id: bytes) -> RecordCopy | None:
    """The concept `raw_id` exactly as stored here (None when it is not)."""
    from sutra.storage.engine import RecordCopy

    record = txn.get(raw_id, db=engine.dbs.concepts)
    if record is None:
        return None
    vector = txn.get(raw_id, db=engine.dbs.vectors)
    edges: list[tuple[bytes, bytes]] = []
    cursor = txn.cursor(db=engine.dbs.edges)
    if cursor.set_range(raw_id):
        for key, value in cursor:
            if key[:16] != raw_id:
                break
            edges.append((bytes(key), bytes(value)))
    return RecordCopy(bytes(raw_id), bytes(record), bytes(vector or b""), edges)
