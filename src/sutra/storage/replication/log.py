"""The log entry: one group commit of the writer, in a compact versioned binary form.

    header  <2sBBd16sI  magic b"SL", version, kind, time, writer id, count
    kind 1 (writes): `count` writes, each  <BII  batch flag, concepts, associations
        concept      <16sddII  id, strength, confidence (NaN: not given), content bytes,
                               vector dimension (0: none); then content, then float32 LE
        association  <16s16sBddH  source, target, type, confidence, weight, label bytes;
                               then the label
    kind 2 (claim): `count` bytes of UTF-8: the address of the writer that takes the shard

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

from sutra.storage.engine import AssociationInput, ConceptInput

MAGIC = b"SL"
VERSION = 1
KIND_WRITES = 1
KIND_CLAIM = 2

_HEADER = struct.Struct("<2sBBd16sI")
_WRITE = struct.Struct("<BII")
_CONCEPT = struct.Struct("<16sddII")
_ASSOCIATION = struct.Struct("<16s16sBddH")
NAN = float("nan")


class EntryError(ValueError):
    """Bytes that are not a log entry this version can apply."""


@dataclass(frozen=True, slots=True)
class LogWrite:
    concepts: Sequence[ConceptInput]
    associations: Sequence[AssociationInput]
    batch: bool


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
    size = _WRITE.size
    for c in write.concepts:
        size += _CONCEPT.size + 4 * len(c.content)
        size += 0 if c.embedding is None else 4 * len(c.embedding)
    for a in write.associations:
        size += _ASSOCIATION.size + 4 * len(getattr(a, "label", ""))
    return size


def encode_writes(writes: Sequence[LogWrite], when: float, writer: bytes) -> bytes:
    parts = [_HEADER.pack(MAGIC, VERSION, KIND_WRITES, when, writer, len(writes))]
    for write in writes:
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
    if version != VERSION:
        raise EntryError(f"log entry version {version} is not supported (this reads {VERSION})")
    body = memoryview(data)[_HEADER.size :]
    if kind == KIND_CLAIM:
        return LogEntry(kind, when, writer, address=bytes(body[:count]).decode("utf-8"))
    if kind != KIND_WRITES:
        raise EntryError(f"unknown log entry kind {kind}")
    try:
        writes = list(_writes(body, count))
    except (struct.error, UnicodeDecodeError) as exc:
        raise EntryError(f"truncated or damaged log entry: {exc}") from None
    return LogEntry(kind, when, writer, writes)


def _writes(body: memoryview, count: int) -> Iterator[LogWrite]:
    offset = 0
    for _ in range(count):
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


def _association(
    source: bytes, target: bytes, kind: int, confidence: float, weight: float, label: str
) -> AssociationInput:
    if label:
        return AssociationInput(source, target, kind, confidence, weight, label)  # type: ignore[call-arg]
    return AssociationInput(source, target, kind, confidence, weight)
