"""`sutra schemas verify|refresh`: the CRD schemas vendored in `schemas/crds/`.

The gate validates custom resources against JSON schemas kept in the repository, so a fresh
clone checks itself with nothing beside it. `schemas/crds/sources.yaml` records where each file
comes from (the catalog, its pinned commit, the URL template) and its sha256: `verify` proves the
files are those, `refresh` downloads them again from the pinned commit (or a new `--commit`) and
rewrites the digests, so a bump is one reviewed diff.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sutra.gitops.paths import repo_root

SOURCES = "sources.yaml"
DOWNLOAD_TIMEOUT_SECONDS = 60
_COMMIT = re.compile(r"[0-9a-f]{40}")


class SchemaSourceError(RuntimeError):
    """The sources file, a download or a downloaded file is not what it must be."""


@dataclass(frozen=True)
class Sources:
    folder: Path
    commit: str
    url: str  # template with {commit} and {path}
    digests: dict[str, str]  # path -> sha256

    def url_of(self, path: str, commit: str | None = None) -> str:
        return self.url.format(commit=commit or self.commit, path=path)


def vendored_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "schemas" / "crds"


def load_sources(folder: Path) -> Sources:
    import yaml  # not at import time: `sutra --help` and the service images stay light

    try:
        data = yaml.safe_load((folder / SOURCES).read_text())
        catalog = data["catalog"]
        digests = {str(s["path"]): str(s["sha256"]) for s in data["schemas"]}
        return Sources(folder, str(catalog["commit"]), str(catalog["url"]), digests)
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise SchemaSourceError(f"cannot read {folder / SOURCES}: {exc}") from exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(folder: Path) -> list[str]:
    """One line per vendored file that is missing or differs from its recorded digest."""
    sources = load_sources(folder)
    problems = []
    for path, digest in sources.digests.items():
        file = folder / path
        if not file.is_file():
            problems.append(f"{path}: missing")
        elif _sha256(file.read_bytes()) != digest:
            problems.append(f"{path}: sha256 differs from {SOURCES}")
    listed = set(sources.digests)
    for file in sorted(folder.rglob("*.json")):
        if (relative := file.relative_to(folder).as_posix()) not in listed:
            problems.append(f"{relative}: not listed in {SOURCES}")
    return problems


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as reply:
            return reply.read()
    except (urllib.error.URLError, OSError) as exc:
        raise SchemaSourceError(f"cannot download {url}: {exc}") from exc


def _checked_schema(url: str, data: bytes) -> None:
    """A downloaded file must be the JSON schema of an object, not an error page."""
    try:
        schema: Any = json.loads(data)
    except ValueError as exc:
        raise SchemaSourceError(f"{url} is not a JSON schema: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise SchemaSourceError(f"{url} is not a JSON schema of an object")


def _rewrite_sources(sources: Sources, commit: str, digests: dict[str, str]) -> None:
    """Change the commit and the digests in place, keeping the file's comments and order."""
    file = sources.folder / SOURCES
    text = re.sub(r"(?m)^(  commit: )\S+$", rf"\g<1>{commit}", file.read_text())
    for path, digest in digests.items():
        pattern = rf"(?ms)(^  - path: {re.escape(path)}\n.*?^    sha256: )\S+$"
        text = re.sub(pattern, rf"\g<1>{digest}", text, count=1)
    file.write_text(text)


def refresh(folder: Path, commit: str | None = None, log: Any = print) -> list[str]:
    """Download every listed schema at `commit` (default: the pinned one); the changed paths.

    Everything is downloaded and checked before anything is written: a failed refresh leaves
    the folder as it was.
    """
    sources = load_sources(folder)
    commit = commit or sources.commit
    if not _COMMIT.fullmatch(commit):
        raise SchemaSourceError(f"--commit must be a full 40-character commit SHA, not {commit}")
    fetched: dict[str, bytes] = {}
    for number, path in enumerate(sources.digests, start=1):
        url = sources.url_of(path, commit)
        log(f"[{number}/{len(sources.digests)}] {url}")
        fetched[path] = _download(url)
        _checked_schema(url, fetched[path])
    changed = [p for p, data in fetched.items() if _sha256(data) != sources.digests[p]]
    for path, data in fetched.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    _rewrite_sources(sources, commit, {p: _sha256(d) for p, d in fetched.items()})
    return changed


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "schemas",
        help="verify or refresh the vendored CRD schemas (schemas/crds/)",
        description=(
            "The CRD JSON schemas the gate validates custom resources against, vendored in "
            "schemas/crds/ with their source and digests in schemas/crds/sources.yaml."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "verify", help="exit 1 when a vendored file differs from its recorded sha256"
    )
    check.set_defaults(func=run_verify)
    update = actions.add_parser(
        "refresh",
        help="download every schema again from the catalog at the pinned commit",
        description="Download every schema listed in sources.yaml and rewrite its sha256.",
    )
    update.add_argument(
        "--commit", help="move the pin to this catalog commit (full SHA) and download from it"
    )
    update.set_defaults(func=run_refresh)


def run_verify(args: argparse.Namespace) -> int:
    folder = vendored_dir()
    problems = verify(folder)
    for problem in problems:
        print(f"{folder.name}/{problem}")
    if problems:
        print("run `make schemas` (sutra schemas refresh) and review the diff")
        return 1
    print(f"{len(load_sources(folder).digests)} CRD schemas match {SOURCES}")
    return 0


def run_refresh(args: argparse.Namespace) -> int:
    changed = refresh(vendored_dir(), args.commit)
    print(f"{len(changed)} schema(s) changed" + (": " + ", ".join(changed) if changed else ""))
    return 0
