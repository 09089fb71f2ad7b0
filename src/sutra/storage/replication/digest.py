"""A digest of a store's replicated content, to compare a writer with its followers.

Access counts are left out: they are each member's own read statistics, folded into its
store by its own writer thread, never part of the log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sutra.storage import layout
from sutra.storage.engine import APPLIED_KEY, Engine


@dataclass(frozen=True, slots=True)
class Digest:
    sha256: str
    sequence: int  # the log sequence (replicated) or the write sequence the digest is of
    concepts: int
    associations: int


def store_digest(engine: Engine, *, replicated: bool) -> Digest:
    """The digest of everything stored, from one read transaction."""
    digest = hashlib.sha256()
    with engine.env.begin() as txn:
        meta = layout.read_meta(txn, engine.dbs.meta)
        applied = layout.unpack_u64(txn.get(APPLIED_KEY, db=engine.dbs.meta))
        for key, value in txn.cursor(db=engine.dbs.concepts):
            record = layout.ConceptRecord.decode(value)
            record.access_count = 0
            digest.update(bytes(key))
            digest.update(record.encode())
        for db in (engine.dbs.edges, engine.dbs.vectors):
            digest.update(b"\x00")
            for key, value in txn.cursor(db=db):
                digest.update(bytes(key))
                digest.update(bytes(value))
        for name in ("concepts", "associations", "vectors", "sequence"):
            digest.update(f"{name}={meta[name]};".encode())
    return Digest(
        digest.hexdigest(),
        applied if replicated else meta["sequence"],
        meta["concepts"],
        meta["associations"],
    )
