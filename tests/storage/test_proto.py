"""The committed stubs are exactly what the pinned grpcio-tools generates from the proto."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sutra.storage.v1 import storage_pb2 as pb

REPO = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("proto_generate", REPO / "proto" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regenerated_stubs_are_identical(tmp_path: Path) -> None:
    generate = _generator()
    written = generate.generate(tmp_path)
    committed = REPO / "src" / "sutra" / "storage" / "v1"
    assert [p.name for p in written] == list(generate.GENERATED)
    for path in written:
        assert path.read_bytes() == (committed / path.name).read_bytes(), (
            f"{path.name} is stale: run .venv/bin/python proto/generate.py"
        )


def test_association_types_keep_the_original_numbers() -> None:
    assert dict(pb.AssociationType.items()) == {
        "ASSOCIATION_TYPE_SEMANTIC": 0,
        "ASSOCIATION_TYPE_CAUSAL": 1,
        "ASSOCIATION_TYPE_TEMPORAL": 2,
        "ASSOCIATION_TYPE_HIERARCHICAL": 3,
        "ASSOCIATION_TYPE_COMPOSITIONAL": 4,
    }
    assert pb.DESCRIPTOR.package == "sutra.storage.v1"
    assert "StorageService" in pb.DESCRIPTOR.services_by_name
