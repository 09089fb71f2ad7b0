"""Association labels: stored beside the type, kept across restarts, bounded in length."""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest

from sutra.storage import layout
from sutra.storage.client import (
    AssociationInput,
    AssociationType,
    ConceptInput,
    Direction,
    InvalidArgument,
    StorageClient,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.testing import run_server

from .support import vector

NAMES = ("ada lovelace", "london", "england")


def _learn(client: StorageClient) -> dict[str, str]:
    ids = {n: concept_id_for(n) for n in NAMES}
    client.learn_batch(
        [ConceptInput(n, embedding=vector(i)) for i, n in enumerate(NAMES)],
        [
            AssociationInput(
                ids["ada lovelace"],
                ids["london"],
                AssociationType.SEMANTIC,
                0.8,
                label="grew up in",
            ),
            AssociationInput(ids["london"], ids["england"], AssociationType.COMPOSITIONAL, 0.7),
        ],
    )
    return ids


def _labels(client: StorageClient, concept_id: str) -> dict[tuple[str, Direction], str]:
    return {(n.concept_id, n.direction): n.label for n in client.get_neighbors(concept_id)}


def test_a_label_survives_a_restart_and_a_write_without_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_server(data) as server, StorageClient(server.address) as client:
        ids = _learn(client)
        # Re-learning without a label keeps the stored label (and the larger confidence).
        client.learn_association(ids["ada lovelace"], ids["london"], confidence=0.5)
        assert server.terminate() == 0

    with run_server(data) as server, StorageClient(server.address) as client:
        assert _labels(client, ids["ada lovelace"]) == {
            (ids["london"], Direction.OUTGOING): "grew up in"
        }
        assert _labels(client, ids["london"]) == {
            (ids["ada lovelace"], Direction.INCOMING): "grew up in",
            (ids["england"], Direction.OUTGOING): "",
        }
        (edge,) = client.get_neighbors(ids["ada lovelace"])
        assert (edge.label, edge.confidence) == ("grew up in", 0.8)
        # A new label replaces the old one.
        client.learn_association(ids["ada lovelace"], ids["london"], label="lived in")
        (edge,) = client.get_neighbors(ids["ada lovelace"])
        assert edge.label == "lived in"


def _strip_labels(data: Path) -> int:
    """Rewrite every edge record as a store written before labels had it (24 bytes)."""
    env = lmdb.open(str(data), max_dbs=layout.MAX_DBS, subdir=True)
    try:
        dbs = layout.open_databases(env, create=False)
        with env.begin(write=True) as txn:
            records = list(txn.cursor(db=dbs.edges))
            for key, value in records:
                txn.put(key, bytes(value[:24]), db=dbs.edges)
        return len(records)
    finally:
        env.close()


def test_records_written_before_labels_read_as_unlabelled(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_server(data) as server, StorageClient(server.address) as client:
        ids = _learn(client)
        assert server.terminate() == 0
    assert _strip_labels(data) == 4  # two associations, each stored under both ends

    with run_server(data) as server, StorageClient(server.address) as client:
        (edge,) = client.get_neighbors(ids["ada lovelace"])
        assert (edge.concept_id, edge.label, edge.confidence) == (ids["london"], "", 0.8)
        client.learn_association(ids["ada lovelace"], ids["london"], label="grew up in")
        (edge,) = client.get_neighbors(ids["ada lovelace"])
        assert edge.label == "grew up in"


def test_a_label_over_200_characters_is_refused_naming_the_field(
    client: StorageClient,
) -> None:
    ids = _learn(client)
    london, england, kind = ids["london"], ids["england"], AssociationType.COMPOSITIONAL
    client.learn_association(london, england, kind, label="x" * 200)
    with pytest.raises(InvalidArgument, match="label must be at most 200 characters, got 201"):
        client.learn_association(london, england, kind, label="y" * 201)
    with pytest.raises(InvalidArgument, match="label"):
        client.learn_batch([], [AssociationInput(london, england, kind, label="z" * 300)])
    assert [n.label for n in client.get_neighbors(england)] == ["x" * 200]
