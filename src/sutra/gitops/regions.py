"""The regions of the tier table (`regions:` in policies/data/tiers.yaml), read and checked once.

A region runs some tiers, each in a cluster of its own deployed from `regions/<region>/<tier>`.
The store has a single writer, so every tier that some region runs has exactly one region whose
entry says `storage: primary`; its other regions say `storage: remote` and reach the primary's
`storage_host` over the primary's `network`. The Rego rules read the same rows as
`data.tiers.regions`; Python reads them here, so a row that cannot be deployed stops the
generators and the gate with one line instead of rendering something half-right.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sutra.gitops.tiers import TABLE, TierTableError
from sutra.gitops.tiers import regions as raw_regions

PRIMARY = "primary"
REMOTE = "remote"
_NAME = re.compile(r"[a-z][a-z0-9-]{0,20}")
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")


@dataclass(frozen=True)
class Placement:
    """One tier in one region: its cluster, its public host, and where its store's writer is."""

    region: str
    tier: str
    host: str
    primary: bool
    storage_host: str  # the primary's storage endpoint (its own when primary)
    storage_network: str  # the primary region's network

    @property
    def name(self) -> str:
        """`<region>/<tier>`: how the gate and `sutra render` name it."""
        return f"{self.region}/{self.tier}"

    @property
    def cluster(self) -> str:
        """The Argo CD cluster (and Application) name: `sutra-<region>-<tier>`."""
        return f"sutra-{self.region}-{self.tier}"

    @property
    def path(self) -> str:
        return f"regions/{self.region}/{self.tier}"


@dataclass(frozen=True)
class Snapshots:
    """The region's S3 location of the store's snapshots (`snapshots:` of its row)."""

    bucket: str
    prefix: str = ""
    region: str = ""  # the bucket's AWS region
    endpoint: str = ""  # a non-AWS S3 endpoint, https://host[:port]

    def url(self, tier: str) -> str:
        """`s3://<bucket>/<prefix>/<tier>`: one tier's snapshots."""
        return "/".join(["s3:/", self.bucket, *([self.prefix] if self.prefix else []), tier])

    @property
    def port(self) -> int:
        """The port the endpoint answers on (443 for AWS)."""
        parts = urlsplit(self.endpoint)
        return parts.port or (80 if parts.scheme == "http" else 443)


@dataclass(frozen=True)
class Region:
    name: str
    zones: tuple[str, ...]
    storage_class: str
    network: str
    snapshots: Snapshots | None = None


def _fail(where: str, problem: str) -> TierTableError:
    return TierTableError(f"{TABLE}: regions.{where}: {problem}")


def _region(name: str, row: Any) -> Region:
    if not _NAME.fullmatch(str(name)):
        raise _fail(str(name), "a region name is lowercase letters, digits and '-'")
    if not isinstance(row, dict):
        raise _fail(name, "must be a mapping")
    zones = row.get("zones")
    if not isinstance(zones, list) or not zones or not all(isinstance(z, str) for z in zones):
        raise _fail(f"{name}.zones", "must list the region's zones")
    storage_class = row.get("storage_class")
    if not isinstance(storage_class, str) or not _HOST.fullmatch(storage_class):
        raise _fail(f"{name}.storage_class", "must name a StorageClass")
    try:
        network = str(ipaddress.ip_network(str(row.get("network"))))
    except ValueError:
        raise _fail(f"{name}.network", "must be a CIDR such as 10.10.0.0/16") from None
    return Region(name, tuple(zones), storage_class, network, _snapshots(name, row))


def _snapshots(name: str, row: dict[str, Any]) -> Snapshots | None:
    found = row.get("snapshots")
    if found is None:
        return None
    where = f"{name}.snapshots"
    if not isinstance(found, dict) or not _BUCKET.fullmatch(str(found.get("bucket", ""))):
        raise _fail(f"{where}.bucket", "must name the region's S3 bucket of snapshots")
    prefix = str(found.get("prefix") or "").strip("/")
    if prefix and not _PREFIX.fullmatch(prefix):
        raise _fail(f"{where}.prefix", "must be a key prefix such as storage or a/b")
    endpoint = str(found.get("endpoint") or "")
    if endpoint and (urlsplit(endpoint).scheme not in ("http", "https") or "://" not in endpoint):
        raise _fail(f"{where}.endpoint", "must be an http(s):// URL (omit it for AWS)")
    region = str(found.get("region") or "")
    unknown = set(found) - {"bucket", "prefix", "region", "endpoint"}
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)} (bucket, prefix, region, endpoint)")
    return Snapshots(str(found["bucket"]), prefix, region, endpoint)


def _entries(name: str, row: dict[str, Any], tiers: dict[str, Any]) -> dict[str, dict]:
    entries = row.get("tiers")
    if not isinstance(entries, dict) or not entries:
        raise _fail(f"{name}.tiers", "must map the tiers the region runs to their entries")
    for tier, entry in entries.items():
        where = f"{name}.tiers.{tier}"
        if tier not in tiers:
            raise _fail(where, f"unknown tier (the table has {', '.join(tiers)})")
        if not isinstance(entry, dict) or entry.get("storage") not in (PRIMARY, REMOTE):
            raise _fail(where, f"storage must be {PRIMARY} or {REMOTE}")
        if not _HOST.fullmatch(str(entry.get("host", ""))):
            raise _fail(f"{where}.host", "must be the tier's public host name")
        if entry["storage"] == PRIMARY and not _HOST.fullmatch(str(entry.get("storage_host"))):
            raise _fail(f"{where}.storage_host", "the primary must name its storage endpoint")
    return entries


def load(table: dict[str, Any]) -> tuple[dict[str, Region], list[Placement]]:
    """The regions and every (region, tier) placement, in the table's order. Raises
    TierTableError (one line) for a row that cannot be deployed, or a tier that some region
    runs without exactly one storage primary."""
    found: dict[str, Region] = {}
    rows: dict[str, dict[str, dict]] = {}
    for name, row in raw_regions(table).items():
        found[name] = _region(name, row)
        rows[name] = _entries(name, row, table["tiers"])
    primaries: dict[str, list[str]] = {}
    for name, entries in rows.items():
        for tier, entry in entries.items():
            primaries.setdefault(tier, [])
            if entry["storage"] == PRIMARY:
                primaries[tier].append(name)
    for tier, names in primaries.items():
        if len(names) != 1:
            having = ", ".join(names) or "none"
            raise _fail("*", f"tier {tier} needs exactly one storage primary region ({having})")
    placements = []
    for name, entries in rows.items():
        for tier, entry in entries.items():
            primary = primaries[tier][0]
            placements.append(
                Placement(
                    region=name,
                    tier=tier,
                    host=entry["host"],
                    primary=primary == name,
                    storage_host=rows[primary][tier]["storage_host"],
                    storage_network=found[primary].network,
                )
            )
    return found, placements


def placements(table: dict[str, Any], tiers: list[str] | None = None) -> list[Placement]:
    """Every (region, tier) of the table; only those of TIERS when given."""
    found = load(table)[1]
    return [p for p in found if tiers is None or p.tier in tiers]
