"""The log entry: one group commit of the writer, in a compact versioned binary form.

    header  <2sBBd16sI  magic b"SL", version, kind, time, writer id, count
    kind 1 (writes): `count` writes, each  <BII  batch flag, concepts, associations
        concept      <16sddII  id, strength, confidence (NaN: not given), content bytes,
                               vector dimension (0: none); then content, then float32 LE
        association  <16s16sBddH  source, target, type, confidence, weight, label bytes;
                               then the label
    kind 2 (claim): `count` bytes of UTF-8: the address of the writer that takes the shard

Version 2 (written only for entries that hold a resharding write, so that a group of plain
writes stays readable by version-1 followers) puts an operation byte before each write:
    0 learn       as above
    1 copies      <I count; each <16sIII id, record bytes, vector bytes, halves; then the
                  record, the vector, and each half as <HI key bytes, value bytes + both
    2 drop        <I count; then `count` 16-byte ids
    3 shard state <I size; then `size` bytes of JSON (the shard's place in the shard map)

The entry carries the writer's commit time, so that a follower stores exactly the
timestamps the writer stored: applying an entry is a pure function of the store and the
entry, on the writer and on every follower alike (`Engine.submit_replay`).
"""

from __future__ import annotations

import math
import struct
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from sutra.storage.engine import (
    OP_DROP,
    OP_IMPORT,
    OP_LEARN,
    OP_SHARD,
    AssociationInput,
    ConceptInput,
    RecordCopy,
)

MAGIC = b"SL"
VERSION = 1
VERSION_OPS = 2  # entries holding copies or drops
KIND_WRITES = 1
KIND_CLAIM = 2

_HEADER = struct.Struct("<2sBBd16sI")
_WRITE = struct.Struct("<BII")
_CONCEPT = struct.Struct("<16sddII")
_ASSOCIATION = struct.Struct("<16s16sBddH")
_OP = struct.Struct("<B")
_COUNT = struct.Struct("<I")
_COPY = struct.Struct("<16sIII")
_HALF = struct.Struct("<HI")
NAN = float("nan")


class EntryError(ValueError):
    """Bytes that are not a log entry this version can apply."""


@dataclass(frozen=True, slots=True)
class LogWrite:
    concepts: Sequence[ConceptInput]
    associations: Sequence[AssociationInput]
    batch: bool
    op: int = OP_LEARN
    copies: Sequence[RecordCopy] = ()
    drops: Sequence[bytes] = ()
    state: bytes = b""


@dataclass(frozen=True, slots=True)
class LogEntry:
    kind: int
    time: float
    writer: bytes  # 16 bytes: the writer process that appended it
    writes: list[LogWrite] = field(default_factory=list)
    address: str = ""  # claim entries: where the writer serves


def new_writer_id() -> bytes:
    return uuid.uuid4().bytes


def _opt(value: float | None) -> float:
    return NAN if value is None else float(value)


def _unopt(value: float) -> float | None:
    return None if math.isnan(value) else value


def estimated_size(write: LogWrite) -> int:
    """An upper bound of the write's encoded bytes (UTF-8 takes at most 4 bytes a character)."""
    size = _WRITE.size + _OP.size + _COUNT.size + 16 * len(write.drops) + len(write.state)
    for copy in write.copies:
        size += _COPY.size + len(copy.record) + len(copy.vector)
        size += sum(_HALF.size + len(k) + len(v) for k, v in copy.edges)
    for c in write.concepts:
        size += _CONCEPT.size + 4 * len(c.content)
        size += 0 if c.embedding is None else 4 * len(c.embedding)
    for a in write.associations:
        size += _ASSOCIATION.size + 4 * len(getattr(a, "label", ""))
    return size


def encode_writes(writes: Sequence[LogWrite], when: float, writer: bytes) -> bytes:
    ops = any(write.op != OP_LEARN for write in writes)
    version = VERSION_OPS if ops else VERSION
    parts = [_HEADER.pack(MAGIC, version, KIND_WRITES, when, writer, len(writes))]
    for write in writes:
        if ops:
            parts.append(_OP.pack(write.op))
            if write.op != OP_LEARN:
                _encode_op(write, parts)
                continue
        parts.append(_WRITE.pack(write.batch, len(write.concepts), len(write.associations)))
        for c in write.concepts:
            content = c.content.encode("utf-8")
            vector = b"" if c.embedding is None else np.asarray(c.embedding, "<f4").tobytes()
            dim = len(vector) // 4
            parts.append(
                _CONCEPT.pack(c.id, _opt(c.strength), _opt(c.confidence), len(content), dim)
            )
            parts.append(content)
            parts.append(vector)
        for a in write.associations:
            label = getattr(a, "label", "").encode("utf-8")
            parts.append(
                _ASSOCIATION.pack(a.source, a.target, a.type, a.confidence, a.weight, len(label))
            )
            parts.append(label)
    return b"".join(parts)


def _encode_op(write: LogWrite, parts: list[bytes]) -> None:
    if write.op == OP_SHARD:
        parts += [_COUNT.pack(len(write.state)), write.state]
        return
    if write.op == OP_DROP:
        parts.append(_COUNT.pack(len(write.drops)))
        parts.extend(bytes(raw_id) for raw_id in write.drops)
        return
    parts.append(_COUNT.pack(len(write.copies)))
    for copy in write.copies:
        parts.append(_COPY.pack(copy.id, len(copy.record), len(copy.vector), len(copy.edges)))
        parts += [copy.record, copy.vector]
        for key, value in copy.edges:
            parts += [_HALF.pack(len(key), len(value)), key, value]


def encode_claim(address: str, when: float, writer: bytes) -> bytes:
    raw = address.encode("utf-8")
    return _HEADER.pack(MAGIC, VERSION, KIND_CLAIM, when, writer, len(raw)) + raw


def decode(data: bytes) -> LogEntry:
    """The entry in `data`; EntryError names what is wrong."""
    if len(data) < _HEADER.size:
        raise EntryError(f"a log entry is at least {_HEADER.size} bytes, got {len(data)}")
    magic, version, kind, when, writer, count = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise EntryError(f"not a storage log entry (magic {magic!r})")
    if version not in (VERSION, VERSION_OPS):
        raise EntryError(
            f"log entry version {version} is not supported (this reads {VERSION} and {VERSION_OPS})"
        )
    body = memoryview(data)[_HEADER.size :]
    if kind == KIND_CLAIM:
        return LogEntry(kind, when, writer, address=bytes(body[:count]).decode("utf-8"))
    if kind != KIND_WRITES:
        raise EntryError(f"unknown log entry kind {kind}")
    try:
        writes = list(_writes(body, count, version == VERSION_OPS))
    except (struct.error, UnicodeDecodeError) as exc:
        raise EntryError(f"truncated or damaged log entry: {exc}") from None
    return LogEntry(kind, when, writer, writes)


def _writes(body: memoryview, count: int, ops: bool) -> Iterator[LogWrite]:
    offset = 0
    for _ in range(count):
        if ops:
            (op,) = _OP.unpack_from(body, offset)
            offset += _OP.size
            if op == OP_IMPORT:
                copies, offset = _copies(body, offset)
                yield LogWrite((), (), False, op=op, copies=copies)
                continue
            if op == OP_DROP:
                (n,) = _COUNT.unpack_from(body, offset)
                offset += _COUNT.size
                drops = [bytes(body[offset + 16 * i : offset + 16 * i + 16]) for i in range(n)]
                offset += 16 * n
                yield LogWrite((), (), False, op=op, drops=drops)
                continue
            if op == OP_SHARD:
                (size,) = _COUNT.unpack_from(body, offset)
                offset += _COUNT.size
                state = bytes(body[offset : offset + size])
                offset += size
                yield LogWrite((), (), False, op=op, state=state)
                continue
            if op != OP_LEARN:
                raise EntryError(f"unknown write operation {op}")
        batch, n_concepts, n_associations = _WRITE.unpack_from(body, offset)
        offset += _WRITE.size
        concepts = []
        for _ in range(n_concepts):
            cid, strength, confidence, size, dim = _CONCEPT.unpack_from(body, offset)
            offset += _CONCEPT.size
            content = bytes(body[offset : offset + size]).decode("utf-8")
            offset += size
            vector = None
            if dim:
                vector = np.frombuffer(body, dtype="<f4", count=dim, offset=offset)
                offset += dim * 4
            concepts.append(
                ConceptInput(cid, content, vector, _unopt(strength), _unopt(confidence))
            )
        associations = []
        for _ in range(n_associations):
            source, target, kind, confidence, weight, size = _ASSOCIATION.unpack_from(body, offset)
            offset += _ASSOCIATION.size
            label = bytes(body[offset : offset + size]).decode("utf-8")
            offset += size
            associations.append(_association(source, target, kind, confidence, weight, label))
        yield LogWrite(concepts, associations, bool(batch))


def _copies(body: memoryview, offset: int) -> tuple[list[RecordCopy], int]:
    (n,) = _COUNT.unpack_from(body, offset)
    offset += _COUNT.size
    copies = []
    for _ in range(n):
        raw_id, record_size, vector_size, halves = _COPY.unpack_from(body, offset)
        offset += _COPY.size
        record = bytes(body[offset : offset + record_size])
        offset += record_size
        vector = bytes(body[offset : offset + vector_size])
        offset += vector_size
        edges = []
        for _ in range(halves):
            key_size, value_size = _HALF.unpack_from(body, offset)
            offset += _HALF.size
            key = bytes(body[offset : offset + key_size])
            offset += key_size
            edges.append((key, bytes(body[offset : offset + value_size])))
            offset += value_size
        if len(record) != record_size or len(vector) != vector_size:
            raise struct.error("a copy runs past the end of the entry")
        copies.append(RecordCopy(raw_id, record, vector, edges))
    return copies, offset


def _association(
    source: bytes, target: bytes, kind: int, confidence: float, weight: float, label: str
) -> AssociationInput:
    if label:
        return AssociationInput(source, target, kind, confidence, weight, label)  # type: ignore[call-arg]
    return AssociationInput(source, target, kind, confidence, weight)
