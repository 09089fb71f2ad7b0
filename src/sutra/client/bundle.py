"""The CDN-ready bundle: content-hashed assets, an index.html that names them, a config.js.

    assets/app.<hash>.js ...   cached for a year (`immutable`): a new content is a new name
    index.html                 revalidated on every load (`no-cache`), names the assets
    config.js                  `window.SUTRA_CONFIG = {"apiBase": ...}`, no-cache, replaceable
                               at deploy time (a Kubernetes ConfigMap, a CDN edit)
    _headers                   the cache and security headers per path, in the format Netlify
                               and Cloudflare Pages read; other CDNs: manifest.json
    manifest.json              every file with its sha256, type and Cache-Control

Standard library only, so the image's build stage runs `python -m sutra.client.bundle` on the
sources alone; the local server builds the same bundle in memory at start.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sutra.client.headers import ASSETS_DIR, cache_control, security_headers

STATIC = Path(__file__).with_name("static")
INDEX = "index.html"
CONFIG = "config.js"
MANIFEST = "manifest.json"
HEADERS = "_headers"
# Files index.html references as {{name}}: each is published under a content-hashed name.
ASSET_SOURCES = ("style.css", "graph.js", "app.js", "favicon.svg")
DEFAULT_API_BASE = "/api"
HASH_CHARS = 12

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Bundle:
    api_base: str
    files: dict[str, bytes]  # path in the bundle -> content
    assets: dict[str, str]  # source name -> hashed path

    def manifest(self) -> dict[str, object]:
        return {
            "api_base": self.api_base,
            "assets": self.assets,
            "files": {
                path: {
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "bytes": len(body),
                    "content_type": content_type(path),
                    "cache_control": cache_control(path),
                }
                for path, body in sorted(self.files.items())
                if path not in (MANIFEST, HEADERS)
            },
        }


def content_type(path: str) -> str:
    suffix = Path(path).suffix
    if suffix in _TYPES:
        return _TYPES[suffix]
    guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def normalise_api_base(value: str) -> str:
    """A path on the page's origin (`/api`) or an absolute http(s) URL; no trailing slash."""
    text = value.strip()
    parts = urlsplit(text)
    if not text or any(c.isspace() for c in text) or parts.query or parts.fragment:
        raise ValueError(
            f"expected a path such as /api or an http(s) URL without query or fragment, "
            f"got {value!r}"
        )
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"expected an http(s) URL such as https://api.example.com, got {value!r}"
            )
    elif not text.startswith("/") or text.startswith("//"):
        raise ValueError(f"a path must start with a single /, e.g. /api, got {value!r}")
    return text.rstrip("/") or "/"


def config_js(api_base: str) -> bytes:
    config = json.dumps({"apiBase": api_base})
    return (
        "// Deploy-time settings of the Sutra UI. Not cached: replace this file to point the\n"
        "// page at another API (the bundle's --api-base, a ConfigMap, a CDN edit).\n"
        f"window.SUTRA_CONFIG = {config};\n"
    ).encode()


def hashed_name(name: str, body: bytes) -> str:
    stem, dot, suffix = name.rpartition(".")
    digest = hashlib.sha256(body).hexdigest()[:HASH_CHARS]
    return f"{ASSETS_DIR}/{stem}.{digest}{dot}{suffix}"


def headers_file(bundle: Bundle) -> str:
    lines = ["/*"]
    lines += [f"  {k}: {v}" for k, v in security_headers(bundle.api_base).items()]
    lines += [f"/{ASSETS_DIR}/*", f"  Cache-Control: {cache_control(ASSETS_DIR + '/x')}"]
    for path in ("/", f"/{INDEX}", f"/{CONFIG}"):
        lines += [path, f"  Cache-Control: {cache_control(path.lstrip('/'))}"]
    return "\n".join(lines) + "\n"


def build(api_base: str = DEFAULT_API_BASE, static: Path = STATIC) -> Bundle:
    """The bundle in memory; nothing is written."""
    api_base = normalise_api_base(api_base)
    files: dict[str, bytes] = {}
    assets: dict[str, str] = {}
    for name in ASSET_SOURCES:
        body = (static / name).read_bytes()
        assets[name] = hashed_name(name, body)
        files[assets[name]] = body

    def reference(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in assets:
            raise ValueError(f"{INDEX} references {{{{{name}}}}}, which is not a bundle asset")
        return assets[name]

    files[INDEX] = _PLACEHOLDER.sub(reference, (static / INDEX).read_text("utf-8")).encode()
    files[CONFIG] = config_js(api_base)
    bundle = Bundle(api_base, files, assets)
    files[HEADERS] = headers_file(bundle).encode()
    files[MANIFEST] = (json.dumps(bundle.manifest(), indent=2) + "\n").encode()
    return bundle


def write(bundle: Bundle, out: Path) -> list[Path]:
    """Write into `out`: a new or empty directory, or one holding an earlier bundle (replaced)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: exists and is not a directory")
    previous = out / MANIFEST
    if out.is_dir() and any(out.iterdir()):
        if not previous.is_file():
            raise ValueError(
                f"--out {out}: not empty and holds no earlier bundle ({MANIFEST}); "
                "choose a new or empty directory"
            )
        try:
            old = json.loads(previous.read_text("utf-8"))["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"--out {out}: {MANIFEST} is not a bundle manifest ({exc})") from None
        for path in [*old, MANIFEST, HEADERS]:
            target = (out / path).resolve()
            if target.is_relative_to(out.resolve()) and target.is_file():
                target.unlink()
    written = []
    try:
        for path, body in sorted(bundle.files.items()):
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            written.append(target)
    except OSError as exc:
        raise ValueError(f"--out {out}: {exc.strerror or exc} ({exc.filename or out})") from None
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="where to write the bundle"
    )
    parser.add_argument(
        "--api-base",
        default=DEFAULT_API_BASE,
        metavar="URL",
        help=f"the API's base URL as the page sees it (default: {DEFAULT_API_BASE}, the proxy "
        "on the page's own origin); written to config.js",
    )


def run(args: argparse.Namespace) -> int:
    try:
        api_base = normalise_api_base(args.api_base)
    except ValueError as exc:
        raise ValueError(f"--api-base: {exc}") from None
    bundle = build(api_base)
    written = write(bundle, args.out)
    print(f"wrote {len(written)} files to {args.out} (API base {bundle.api_base})")
    for name, path in bundle.assets.items():
        print(f"  {name:<12} -> {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m sutra.client.bundle --out DIR`: the same as `sutra client build`."""
    parser = argparse.ArgumentParser(prog="python -m sutra.client.bundle", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
