"""The log entry format: what the writer encodes is what every follower applies."""

from __future__ import annotations

import numpy as np
import pytest

from sutra.storage.engine import AssociationInput, ConceptInput
from sutra.storage.replication import log


def test_writes_round_trip_exactly() -> None:
    vector = np.arange(8, dtype="<f4") / 7
    concepts = [
        ConceptInput(b"a" * 16, "with a vector: é", vector, 2.5, None),
        ConceptInput(b"b" * 16, "plain", None, None, 0.25),
    ]
    associations = [AssociationInput(b"a" * 16, b"b" * 16, 3, 0.5, 2.0)]
    writes = [log.LogWrite(concepts, associations, True), log.LogWrite(concepts[1:], [], False)]
    data = log.encode_writes(writes, 1234.5, b"w" * 16)
    entry = log.decode(data)
    assert (entry.kind, entry.time, entry.writer) == (log.KIND_WRITES, 1234.5, b"w" * 16)
    assert [w.batch for w in entry.writes] == [True, False]
    first = entry.writes[0]
    assert first.concepts[0].content == "with a vector: é"
    assert first.concepts[0].strength == 2.5 and first.concepts[0].confidence is None
    assert np.array_equal(first.concepts[0].embedding, vector)
    assert first.concepts[1].embedding is None and first.concepts[1].confidence == 0.25
    assert first.associations == associations
    assert len(data) < 2 * log.estimated_size(writes[0])  # compact: no per-field names


def test_claims_carry_the_writer_address() -> None:
    entry = log.decode(log.encode_claim("10.0.0.7:50051", 1.0, b"x" * 16))
    assert (entry.kind, entry.address, entry.writes) == (log.KIND_CLAIM, "10.0.0.7:50051", [])


# An entry that promises one write but ends after its header
TRUNCATED = log.encode_writes([log.LogWrite([], [], True)], 0.0, bytes(16))[:-9]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"short", "at least"),
        (b"XX" + bytes(30), "not a storage log entry"),
        (b"SL\x09" + bytes(29), "version 9 is not supported"),
        (TRUNCATED, "truncated"),
    ],
)
def test_damaged_entries_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(log.EntryError, match=message):
        log.decode(data)
