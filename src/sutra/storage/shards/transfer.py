"""The shard server's side of resharding: its steps, and pages of concepts moved out and in.

`sutra storage reshard` (sutra.storage.shards.reshard) drives these RPCs; every one is
idempotent so that a move interrupted anywhere is finished by running the command again.
"""

from __future__ import annotations

from typing import Any

from sutra.storage import layout
from sutra.storage.engine import Engine, RecordCopy
from sutra.storage.errors import FailedPrecondition, InvalidArgument
from sutra.storage.shards import moves
from sutra.storage.shards.map import map_version
from sutra.storage.shards.service import ShardRole
from sutra.storage.v1 import storage_pb2 as pb

__all__ = ["ack_moving", "copies_from_pb", "drop_moved", "reshard", "scan_moving", "status"]

MAX_PAGE = 10_000
SCAN_BUDGET = 50_000  # concepts looked at per page, so a page never takes long to read


def status(role: ShardRole, engine: Engine) -> pb.ShardStatus:
    with engine.env.begin() as txn:
        changed = txn.stat(engine.changed_db)["entries"]
    return role.status(changed)


def reshard(role: ShardRole, engine: Engine, request: pb.ReshardRequest) -> pb.ShardStatus:
    """One step of a move to the map of `request.count` shards (idempotent)."""
    steps = {
        pb.RESHARD_ACTION_BEGIN: _begin,
        pb.RESHARD_ACTION_FENCE: _fence,
        pb.RESHARD_ACTION_SWITCH: _switch,
        pb.RESHARD_ACTION_FINISH: _finish,
        pb.RESHARD_ACTION_ABORT: _abort,
    }
    step = steps.get(request.action)
    if step is None:
        raise InvalidArgument(f"action must be one of BEGIN..ABORT, got {request.action}")
    if not 1 <= request.count <= 1024:
        raise InvalidArgument(f"count must be within 1..1024, got {request.count}")
    with role.lock:
        step(role, engine, request)
    return status(role, engine)


def _begin(role: ShardRole, engine: Engine, request: pb.ReshardRequest) -> None:
    if role.active and role.moving_to == request.count:
        return
    if role.phase:
        raise FailedPrecondition(
            f"shard {role.index} is in phase {role.phase!r} of a move to "
            f"{map_version(role.moving_to or role.map.count)}: finish it first"
        )
    if request.count == role.map.count:
        raise InvalidArgument(f"shard {role.index} already serves {role.map.version}")
    # In write order: every write after this one is marked, and the copy that follows
    # reads everything before it.
    _change(role, engine, phase="tracking", moving_to=request.count)


def _fence(role: ShardRole, engine: Engine, request: pb.ReshardRequest) -> None:
    _moving_to(role, request.count)
    if role.phase != "fenced":  # every write of a moving concept after this one is refused
        _change(role, engine, phase="fenced")


def _switch(role: ShardRole, engine: Engine, request: pb.ReshardRequest) -> None:
    if role.epoch == request.epoch and role.map.count == request.count:
        return
    if len(request.targets) != request.count:
        raise InvalidArgument(
            f"targets lists {len(request.targets)} shards, the map has {request.count}"
        )
    if request.epoch <= role.epoch:
        raise FailedPrecondition(
            f"shard {role.index} serves epoch {role.epoch}, not before epoch {request.epoch}"
        )
    if role.phase == "" and role.map.count == request.count:
        _change(role, engine, epoch=request.epoch, targets=list(request.targets))  # added
        return
    _moving_to(role, request.count)
    if role.phase != "fenced":
        raise FailedPrecondition(f"shard {role.index} must be fenced before the switch")
    _change(
        role,
        engine,
        count=request.count,
        epoch=request.epoch,
        targets=list(request.targets),
        phase="cleanup",
        moving_to=0,
        moved_from=role.map.count,
    )


def _finish(role: ShardRole, engine: Engine, request: pb.ReshardRequest) -> None:
    if role.phase == "cleanup":
        _change(role, engine, phase="")


def _abort(role: ShardRole, engine: Engine, request: pb.ReshardRequest) -> None:
    if role.phase == "cleanup":
        raise FailedPrecondition(
            f"shard {role.index} already switched to {role.map.version}: a move cannot be "
            "undone after its switch; finish it"
        )
    if role.active:
        _change(role, engine, phase="", moving_to=0)
        engine.run_task(lambda txn: txn.drop(engine.changed_db, delete=False)).result()


def _change(role: ShardRole, engine: Engine, **changes: Any) -> None:
    """Change the shard's state as a write of its own (logged on a replicated shard)."""
    engine.submit_shard_state(role.changed(**changes)).result()


def _moving_to(role: ShardRole, count: int) -> None:
    if not role.active or role.moving_to != count:
        raise FailedPrecondition(
            f"shard {role.index} is not moving to {map_version(count)} (phase "
            f"{role.phase or 'none'}): begin the move first"
        )


# ------------------------------------------------------------------ pages out


def scan_moving(
    role: ShardRole, engine: Engine, request: pb.ScanMovingRequest
) -> pb.ScanMovingResponse:
    """Concepts this shard holds that the new map gives to others, exactly as stored."""
    if not role.active:
        raise FailedPrecondition("no move is in progress on this server: begin it first")
    limit = request.limit or 1_000
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidArgument(f"limit must be within 0..{MAX_PAGE}, got {request.limit}")
    if request.changed:
        return _changed_page(engine, request.after, limit)
    response = pb.ScanMovingResponse()
    with engine.env.begin() as txn:
        cursor = txn.cursor(db=engine.dbs.concepts)
        found = cursor.set_range(request.after) if request.after else cursor.first()
        last = b""
        while found:
            key = bytes(cursor.key())
            found = cursor.next()
            if key == request.after:
                continue
            response.scanned += 1
            last = key
            if role.moving(key):
                response.copies.append(_copy_pb(moves.read_copy(engine, txn, key)))
            if len(response.copies) == limit or response.scanned == SCAN_BUDGET:
                response.next = last if found else b""
                break
    return response


def _changed_page(engine: Engine, after: bytes, limit: int) -> pb.ScanMovingResponse:
    response = pb.ScanMovingResponse()
    with engine.env.begin() as txn:
        cursor = txn.cursor(db=engine.changed_db)
        found = cursor.set_range(after) if after else cursor.first()
        while found:
            key, value = bytes(cursor.key()), bytes(cursor.value())
            found = cursor.next()
            if key == after:
                continue
            copy = moves.read_copy(engine, txn, key)
            if copy is not None:
                response.copies.append(_copy_pb(copy))
            response.marks.append(pb.ChangeMark(id=key, sequence=layout.unpack_u64(value)))
            if len(response.marks) == limit:
                response.next = key if found else b""
                break
    return response


def ack_moving(engine: Engine, request: pb.AckMovingRequest) -> pb.AckMovingResponse:
    """Forget the marks whose concepts were copied, unless written again since."""
    marks = [(bytes(m.id), layout.pack_u64(m.sequence)) for m in request.marks]

    def forget(txn: Any) -> int:
        for raw_id, sequence in marks:
            if txn.get(raw_id, db=engine.changed_db) == sequence:
                txn.delete(raw_id, db=engine.changed_db)
        return int(txn.stat(engine.changed_db)["entries"])

    return pb.AckMovingResponse(remaining=engine.run_task(forget).result())


def _copy_pb(copy: RecordCopy | None) -> pb.ConceptCopy:
    assert copy is not None
    return pb.ConceptCopy(
        id=copy.id,
        record=copy.record,
        vector=copy.vector,
        edges=[pb.EdgeCopy(key=k, value=v) for k, v in copy.edges],
    )


# ------------------------------------------------------------------ pages in


def copies_from_pb(role: ShardRole, copies: Any) -> list[RecordCopy]:
    """The copies of an ImportConcepts request; each must belong to this shard."""
    result = []
    for message in copies:
        copy = RecordCopy(
            bytes(message.id),
            bytes(message.record),
            bytes(message.vector),
            [(bytes(e.key), bytes(e.value)) for e in message.edges],
        )
        if len(copy.id) == 16 and not role.owns(copy.id):
            role.check_write([copy], [])  # raises, naming the owner
        result.append(copy)
    return result


def drop_moved(
    role: ShardRole, engine: Engine, request: pb.DropMovedRequest
) -> tuple[list[bytes], bytes]:
    """A page of the concepts this shard stores but no longer owns: (ids, next key)."""
    if role.phase != "cleanup":
        raise FailedPrecondition("this shard has no moved concepts to delete (no switch yet)")
    limit = request.limit or 1_000
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidArgument(f"limit must be within 0..{MAX_PAGE}, got {request.limit}")
    ids: list[bytes] = []
    with engine.env.begin() as txn:
        cursor = txn.cursor(db=engine.dbs.concepts)
        found = cursor.set_range(request.after) if request.after else cursor.first()
        scanned, last = 0, b""
        while found:
            key = bytes(cursor.key())
            found = cursor.next()
            if key == request.after:
                continue
            scanned += 1
            last = key
            if not role.owns(key):
                ids.append(key)
            if scanned == limit:
                return ids, last if found else b""
    return ids, b""
