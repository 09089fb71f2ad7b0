"""`sutra client publish --to s3://BUCKET/PREFIX`: the bundle into the bucket a CDN serves.

The order keeps every page that is being loaded whole, before, during and after a publish:

    1. upload the hashed assets not already there (a name is its content, so one there is
       this very file): `immutable`, kept a year by browsers and the CDN
    2. switch index.html and config.js (and manifest.json, _headers): `no-cache`, so the next
       load sees the new index, which names only assets uploaded in step 1
       (then `--invalidate-command`, for a CDN that must be told, e.g. CloudFront)
    3. delete the assets the new index no longer names, once no index has named them for
       `--grace-seconds`: a page loaded from an older index may still fetch them meanwhile

`PREFIX/.sutra-publish.json` records when each asset was last named by a published index; an
asset it does not know counts from its upload time. Credentials come from boto3's usual chain:
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or `*_FILE` naming mounted files holding them),
AWS_SHARED_CREDENTIALS_FILE, AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (OIDC); the endpoint
from --endpoint-url or AWS_ENDPOINT_URL (any S3-compatible store).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sutra.client.bundle import CONFIG, DEFAULT_API_BASE, INDEX, Bundle, build, content_type
from sutra.client.headers import ASSETS_DIR, cache_control

STATE = ".sutra-publish.json"
DEFAULT_GRACE_SECONDS = 7 * 24 * 3600
# Published after the assets: the switch. index.html last, so it never names a missing file.
SWITCH_ORDER = (CONFIG, "manifest.json", "_headers", INDEX)


@dataclass(frozen=True)
class Target:
    bucket: str
    prefix: str  # "" or ending in "/"

    def key(self, path: str) -> str:
        return self.prefix + path

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass
class Report:
    uploaded: int = 0
    present: int = 0
    deleted: int = 0
    kept: int = 0


def parse_target(url: str) -> Target:
    """`s3://BUCKET[/PREFIX]`; the prefix is a folder, so it gets a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"--to: expected s3://BUCKET/PREFIX, got {url!r}")
    prefix = "/".join(part for part in parts.path.split("/") if part)
    return Target(parts.netloc, prefix + "/" if prefix else "")


def _load_file_credentials() -> None:
    """AWS_X_FILE -> AWS_X, the way the services read mounted secrets (SUTRA_X_FILE)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        path = os.environ.get(f"{name}_FILE")
        if path and not os.environ.get(name):
            with open(path, encoding="utf-8") as handle:
                os.environ[name] = handle.read().strip()


def s3_client(endpoint_url: str | None) -> Any:
    """A client that fails fast: an unreachable endpoint is an error in seconds, not minutes."""
    import boto3  # the `publish` extra: only this command needs it
    from botocore.config import Config

    _load_file_credentials()
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2})
    return boto3.client("s3", endpoint_url=endpoint_url or None, config=config)


def list_objects(s3: Any, target: Target, folder: str) -> dict[str, float]:
    """Key -> upload time (epoch seconds) of every object under PREFIX/folder/."""
    found: dict[str, float] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=target.bucket, Prefix=target.key(folder + "/")
    )
    for page in pages:
        for item in page.get("Contents", []):
            found[item["Key"]] = item["LastModified"].timestamp()
    return found


def put(s3: Any, target: Target, path: str, body: bytes) -> None:
    s3.put_object(
        Bucket=target.bucket,
        Key=target.key(path),
        Body=body,
        ContentType=content_type(path),
        CacheControl=cache_control(path),
    )


def read_state(s3: Any, target: Target) -> dict[str, float]:
    """Asset key -> when a published index last named it; empty on the first publish."""
    try:
        body = s3.get_object(Bucket=target.bucket, Key=target.key(STATE))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return {}
    try:
        return {str(k): float(v) for k, v in json.loads(body)["assets"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{target}{STATE} is not a publish record ({exc})") from None


def write_state(s3: Any, target: Target, state: dict[str, float]) -> None:
    body = json.dumps({"assets": dict(sorted(state.items()))}, indent=2) + "\n"
    s3.put_object(
        Bucket=target.bucket,
        Key=target.key(STATE),
        Body=body.encode(),
        ContentType="application/json",
        CacheControl="no-store",
    )


def upload_assets(s3: Any, target: Target, bundle: Bundle, existing: dict[str, float]) -> Report:
    report = Report()
    for path in sorted(bundle.assets.values()):
        if target.key(path) in existing:
            report.present += 1
            continue
        put(s3, target, path, bundle.files[path])
        report.uploaded += 1
    return report


def switch(s3: Any, target: Target, bundle: Bundle) -> None:
    for path in SWITCH_ORDER:
        if path in bundle.files:
            put(s3, target, path, bundle.files[path])


def invalidate(command: str) -> None:
    """Run the CDN's invalidation (no shell); a failure stops before anything is deleted."""
    result = subprocess.run(shlex.split(command), check=False)
    if result.returncode != 0:
        raise ValueError(f"--invalidate-command exited with {result.returncode}: {command}")


def prune(
    s3: Any, target: Target, bundle: Bundle, existing: dict[str, float], grace: float
) -> Report:
    """Record the assets the index names now; delete the others unnamed for `grace` seconds."""
    now = time.time()
    state = {k: v for k, v in read_state(s3, target).items() if k in existing}
    current = {target.key(path) for path in bundle.assets.values()}
    state.update(dict.fromkeys(current, now))
    write_state(s3, target, state)  # before deleting: a failure below loses no record
    report = Report()
    for key in sorted(set(existing) - current):
        if now - state.get(key, existing[key]) >= grace:
            s3.delete_object(Bucket=target.bucket, Key=key)
            report.deleted += 1
        else:
            report.kept += 1
    return report


def publish(
    bundle: Bundle,
    target: Target,
    s3: Any,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    invalidate_command: str | None = None,
) -> None:
    """The three steps, each with its progress line."""
    existing = list_objects(s3, target, ASSETS_DIR)
    step = upload_assets(s3, target, bundle, existing)
    print(f"1/3 assets: uploaded {step.uploaded}, already there {step.present}", flush=True)
    switch(s3, target, bundle)
    print(f"2/3 switched {INDEX} and {CONFIG} (API base {bundle.api_base})", flush=True)
    if invalidate_command:
        invalidate(invalidate_command)
        print(f"    invalidated: {invalidate_command}", flush=True)
    step = prune(s3, target, bundle, existing, grace_seconds)
    print(
        f"3/3 old assets: deleted {step.deleted}, kept {step.kept} "
        f"(unreferenced for less than {grace_seconds:g} s)",
        flush=True,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to",
        required=True,
        metavar="s3://BUCKET/PREFIX",
        help="the bucket and folder to publish into",
    )
    parser.add_argument(
        "--api-base",
        default=DEFAULT_API_BASE,
        metavar="URL",
        help=f"the API's base URL as the page sees it, written to config.js "
        f"(default: {DEFAULT_API_BASE})",
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="an S3-compatible endpoint (default: AWS_ENDPOINT_URL, else AWS S3)",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=DEFAULT_GRACE_SECONDS,
        metavar="N",
        help="keep assets no index names for this long before deleting them "
        f"(default: {DEFAULT_GRACE_SECONDS}, a week)",
    )
    parser.add_argument(
        "--invalidate-command",
        metavar="CMD",
        help="run after the switch, before deleting (e.g. `aws cloudfront "
        "create-invalidation --distribution-id ID --paths /index.html /config.js`)",
    )


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    target = parse_target(args.to)
    if args.grace_seconds < 0:
        raise ValueError("--grace-seconds: must be 0 or more")
    try:
        bundle = build(args.api_base)
    except ValueError as exc:
        raise ValueError(f"--api-base: {exc}") from None
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"
    print(f"publishing the UI to {target} ({endpoint})", flush=True)
    try:
        publish(
            bundle,
            target,
            s3_client(args.endpoint_url),
            args.grace_seconds,
            args.invalidate_command,
        )
    except (BotoCoreError, ClientError) as exc:
        raise ValueError(f"{target}: {exc}") from None
    return 0
