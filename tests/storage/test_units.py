"""Concept ids, size settings and the on-disk records, without a server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sutra.common.settings import parse_size
from sutra.storage.ids import InvalidId, concept_id_for, parse_id
from sutra.storage.layout import ConceptRecord, EdgeRecord, edge_key, split_edge_key


def test_concept_ids_are_blake2b_128_of_normalised_content() -> None:
    import hashlib

    assert (
        concept_id_for("  Water\tBoils \n")
        == hashlib.blake2b(b"water boils", digest_size=16).hexdigest()
    )
    assert concept_id_for("Caf\u00e9") == concept_id_for("cafe\u0301")  # NFC
    assert concept_id_for("a b") != concept_id_for("ab")
    assert len(concept_id_for("x")) == 32


@pytest.mark.parametrize("bad", ["", "xyz", "0" * 31, "0" * 33, "g" * 32, " " + "0" * 31])
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(InvalidId, match="32 hex"):
        parse_id(bad)


def test_ids_accept_either_case() -> None:
    assert parse_id("AB" * 16) == parse_id("ab" * 16) == bytes([0xAB]) * 16


@pytest.mark.parametrize(
    ("text", "size"),
    [("32GiB", 32 * 1024**3), ("64KiB", 65536), ("1000", 1000), ("5 MB", 5_000_000)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_records_round_trip() -> None:
    record = ConceptRecord(1.5, 0.25, 10.0, 20.0, 7, 1, "caf\u00e9 \u2603")
    assert ConceptRecord.decode(record.encode()) == record
    edge = EdgeRecord(0.9, 2.0, 30.0)
    assert EdgeRecord.decode(edge.encode()) == edge
    a, b = b"\x01" * 16, b"\x02" * 16
    assert split_edge_key(edge_key(a, 2, b, 4)) == (a, 2, b, 4)


def test_storage_cli_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sutra.cli", "storage", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("serve", "snapshot", "restore", "stats"):
        assert command in result.stdout
