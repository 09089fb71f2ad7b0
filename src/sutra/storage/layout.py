"""The on-disk layout of the store: LMDB sub-databases, keys and record encodings.

One LMDB environment (`data.mdb`) holds four named sub-databases:

- ``concepts``: id (16 bytes) -> header ``<ddddQI`` (strength, confidence, created,
  updated, access count, flags) followed by the UTF-8 content.
- ``edges``: every association twice, once under each endpoint, so that neighbours in
  either direction are one prefix scan: ``node | direction | other | type`` (16+1+16+1
  bytes; direction 1 = outgoing, 2 = incoming) -> ``<ddd`` (confidence, weight, updated)
  followed by the UTF-8 label (none in records written before labels: they read as "").
- ``vectors``: id -> float32 little-endian array of the configured dimension.
- ``meta``: name -> u64 (sequence and counters, kept in the same transactions as the
  data they count, so they are exact in every snapshot), and ``last_snapshot_us``: the
  Unix time in microseconds of the last snapshot the store served (not a counter; see
  `write_last_snapshot`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import lmdb

FORMAT_VERSION = 1
DB_CONCEPTS = b"concepts"
DB_EDGES = b"edges"
DB_VECTORS = b"vectors"
DB_META = b"meta"
# Concepts written while they move to another shard (resharding): id -> write sequence.
DB_CHANGED = b"moving"
MAX_DBS = 8

OUTGOING = 1
INCOMING = 2

META_KEYS = (
    "format",
    "dimension",
    "sequence",
    "concepts",
    "associations",
    "vectors",
    "writes",
    "batches",
    "commits",
)

_CONCEPT = struct.Struct("<ddddQI")
_EDGE = struct.Struct("<ddd")
_U64 = struct.Struct("<Q")
FLAG_HAS_VECTOR = 1


def encode_concept(
    strength: float,
    confidence: float,
    created_at: float,
    updated_at: float,
    access_count: int,
    flags: int,
    content: str,
) -> bytes:
    """A ``concepts`` value: the fixed header, then the UTF-8 content."""
    return _CONCEPT.pack(
        strength, confidence, created_at, updated_at, access_count, flags
    ) + content.encode("utf-8")


@dataclass(slots=True)
class ConceptRecord:
    strength: float
    confidence: float
    created_at: float
    updated_at: float
    access_count: int
    flags: int
    content: str

    def encode(self) -> bytes:
        return encode_concept(
            self.strength,
            self.confidence,
            self.created_at,
            self.updated_at,
            self.access_count,
            self.flags,
            self.content,
        )

    @classmethod
    def decode(cls, raw: bytes) -> ConceptRecord:
        strength, confidence, created, updated, access, flags = _CONCEPT.unpack_from(raw)
        content = bytes(raw[_CONCEPT.size :]).decode("utf-8")
        return cls(strength, confidence, created, updated, access, flags, content)

    @property
    def has_vector(self) -> bool:
        return bool(self.flags & FLAG_HAS_VECTOR)


@dataclass(slots=True, frozen=True)
class EdgeRecord:
    confidence: float
    weight: float
    updated_at: float
    label: str = ""

    def encode(self) -> bytes:
        return _EDGE.pack(self.confidence, self.weight, self.updated_at) + self.label.encode(
            "utf-8"
        )

    @classmethod
    def decode(cls, raw: bytes) -> EdgeRecord:
        confidence, weight, updated = _EDGE.unpack_from(raw)
        return cls(confidence, weight, updated, bytes(raw[_EDGE.size :]).decode("utf-8"))


def edge_key(node: bytes, direction: int, other: bytes, kind: int) -> bytes:
    return node + bytes((direction,)) + other + bytes((kind,))


def split_edge_key(key: bytes) -> tuple[bytes, int, bytes, int]:
    return key[:16], key[16], key[17:33], key[33]


EDGE_KEY_BYTES = 34


def check_copy(copy: object, dimension: int) -> None:
    """InvalidArgument naming what is wrong with a concept copy (`engine.RecordCopy`)."""
    from sutra.storage.errors import InvalidArgument

    raw_id: bytes = copy.id  # type: ignore[attr-defined]
    if len(raw_id) != 16:
        raise InvalidArgument(f"copies[].id must be 16 bytes, got {len(raw_id)}")
    try:
        ConceptRecord.decode(copy.record)  # type: ignore[attr-defined]
        for key, value in copy.edges:  # type: ignore[attr-defined]
            if len(key) != EDGE_KEY_BYTES or key[:16] != raw_id or key[16] not in (1, 2):
                raise InvalidArgument(
                    f"copies[].edges[].key of {raw_id.hex()} is not one of its halves"
                )
            EdgeRecord.decode(value)
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(f"copies[] of {raw_id.hex()} is not a stored record: {exc}") from None
    size = len(copy.vector)  # type: ignore[attr-defined]
    if size not in (0, 4 * dimension):
        raise InvalidArgument(
            f"copies[].vector of {raw_id.hex()} has {size // 4} dimensions, the store {dimension}"
        )


def pack_u64(value: int) -> bytes:
    return _U64.pack(value)


def unpack_u64(raw: bytes | None) -> int:
    return _U64.unpack(raw)[0] if raw else 0


@dataclass(slots=True)
class Databases:
    concepts: object
    edges: object
    vectors: object
    meta: object


def open_databases(env: lmdb.Environment, *, create: bool) -> Databases:
    return Databases(
        concepts=env.open_db(DB_CONCEPTS, create=create),
        edges=env.open_db(DB_EDGES, create=create),
        vectors=env.open_db(DB_VECTORS, create=create),
        meta=env.open_db(DB_META, create=create),
    )


# Written by the thread that finished a snapshot, in a transaction of its own; not one of the
# counters the writer thread keeps in memory (META_KEYS), so the two never overwrite each other.
LAST_SNAPSHOT_KEY = b"last_snapshot_us"


def read_last_snapshot(txn: lmdb.Transaction, meta_db: object) -> float:
    """The Unix time of the last snapshot the store served; 0.0 when it never served one."""
    return unpack_u64(txn.get(LAST_SNAPSHOT_KEY, db=meta_db)) / 1_000_000


def write_last_snapshot(txn: lmdb.Transaction, meta_db: object, when: float) -> float:
    """Store `when` unless the store holds a later time; the time stored, as read back.

    Two snapshots may finish in either order: the time never goes backwards.
    """
    stored = unpack_u64(txn.get(LAST_SNAPSHOT_KEY, db=meta_db))
    micros = max(stored, round(when * 1_000_000))
    if micros != stored:
        txn.put(LAST_SNAPSHOT_KEY, pack_u64(micros), db=meta_db)
    return micros / 1_000_000


def read_meta(txn: lmdb.Transaction, meta_db: object) -> dict[str, int]:
    return {key: unpack_u64(txn.get(key.encode(), db=meta_db)) for key in META_KEYS}


_META_KEYS_BYTES = tuple((key, key.encode()) for key in META_KEYS)


def write_meta(
    txn: lmdb.Transaction,
    meta_db: object,
    meta: dict[str, int],
    *,
    unchanged: dict[str, int] | None = None,
) -> None:
    """Store the counters; with `unchanged` (what the store holds), only those that differ."""
    for key, raw_key in _META_KEYS_BYTES:
        value = meta[key]
        if unchanged is None or unchanged.get(key) != value:
            txn.put(raw_key, pack_u64(value), db=meta_db)
