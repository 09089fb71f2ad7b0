"""Regenerate the committed Python stubs of the storage protocol.

The stubs are committed so that the runtime image needs no protoc. Run after
editing a .proto file:

    .venv/bin/python proto/generate.py            # writes src/sutra/storage/v1/
    .venv/bin/python proto/generate.py --out DIR  # writes DIR/sutra/storage/v1/

Generated with grpcio-tools (the version pinned in pyproject.toml), whose
bundled protoc fixes the output byte for byte, so a test regenerates into a
temporary directory and compares.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PROTO_ROOT.parent
PROTO_FILES = ("sutra/storage/v1/storage.proto",)
GENERATED = ("storage_pb2.py", "storage_pb2.pyi", "storage_pb2_grpc.py")
# The project's ruff configuration excludes the generated .py files; the stub file gets
# this header so that linting and formatting leave it exactly as protoc wrote it.
PYI_HEADER = "# ruff: noqa\n# fmt: off\n"


def generate(out: Path) -> list[Path]:
    """Write the stubs under `out` (a source root such as src/); return the files written."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(PROTO_ROOT / name) for name in PROTO_FILES),
    ]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}")
    package = out / "sutra" / "storage" / "v1"
    stub = package / "storage_pb2.pyi"
    text = stub.read_text(encoding="utf-8")
    if not text.startswith(PYI_HEADER):
        stub.write_text(PYI_HEADER + text, encoding="utf-8")
    return [package / name for name in GENERATED]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "src", help="source root")
    args = parser.parse_args(argv)
    try:
        written = generate(args.out)
    except Exception as exc:
        print(f"generate: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
