"""Image pins of an overlay: the `images:` list of its kustomization.yaml.

A promotion must change nothing but these pins, and keep the file's comments and layout so the
pull request is a one-line diff per image. So pins are edited in place, line by line, and every
edit is verified by parsing the result: the document outside `images:` must be unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KUSTOMIZATION = "kustomization.yaml"
# What kustomize writes after `@`, and what the image_pinned policy requires of every image.
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
DIGEST_FORM = "sha256: and 64 lowercase hex digits"
_ITEM_START = re.compile(r"^(?P<indent>\s*)-\s+(?P<rest>.*)$")
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[A-Za-z]+):\s*(?P<value>.*?)\s*$")


class PinError(ValueError):
    """An overlay's image pins cannot be read or written as asked."""


@dataclass(frozen=True, order=True)
class Pin:
    """Where one image of the base points to in an overlay: a tag, a digest, or both."""

    name: str
    new_name: str | None = None
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """`repo:tag@digest` as it will be pulled."""
        ref = self.new_name or self.name
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref

    @property
    def version(self) -> str:
        """The pinned part alone, for messages: `0.2.0`, `sha256:...` or `0.2.0@sha256:...`."""
        return "@".join(p for p in (self.tag, self.digest) if p) or "(unpinned)"


def kustomization_path(overlay: Path) -> Path:
    return overlay / KUSTOMIZATION


def check_digest(digest: str, where: str) -> str:
    """`digest` if it is a full sha256 digest; a prefix or another form is refused."""
    if not DIGEST.match(digest):
        raise PinError(f"{where}: {digest!r} is not an image digest ({DIGEST_FORM})")
    return digest


def parse_pins(document: dict[str, Any], source: str = KUSTOMIZATION) -> dict[str, Pin]:
    pins: dict[str, Pin] = {}
    for entry in document.get("images") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            raise PinError(f"{source}: every entry of images: needs a name")
        digest = entry.get("digest")
        pins[entry["name"]] = Pin(
            name=entry["name"],
            new_name=entry.get("newName"),
            tag=None if entry.get("newTag") is None else str(entry["newTag"]),
            digest=None if digest is None else check_digest(str(digest), source),
        )
    return pins


def read_pins(overlay: Path) -> dict[str, Pin]:
    path = kustomization_path(overlay)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PinError(f"{path}: {exc}".replace("\n", " ")) from exc
    return parse_pins(document, str(path))


def _images_block(lines: list[str]) -> tuple[int, int]:
    """Line range [start, end) of the items below the top-level `images:` key."""
    for number, line in enumerate(lines):
        if re.match(r"^images:\s*(#.*)?$", line):
            end = number + 1
            while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t-#"):
                end += 1
            return number + 1, end
    raise PinError(f"{KUSTOMIZATION} has no top-level images: list")


def _items(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    starts = [n for n in range(start, end) if _ITEM_START.match(lines[n])]
    return [(s, starts[i + 1] if i + 1 < len(starts) else end) for i, s in enumerate(starts)]


def _item_name(item: list[str]) -> str | None:
    for line in item:
        match = _KEY_LINE.match(line)
        if match and match["key"] == "name":
            return str(yaml.safe_load(match["value"]))
    return None


def _format_value(value: str) -> str:
    # Quote tags so that `1.10` or `0.1` stay strings.
    return yaml.safe_dump(value, default_style='"').strip()


def _rewrite_item(lines: list[str], start: int, end: int, pin: Pin) -> list[str]:
    item = lines[start:end]
    keys: dict[str, int] = {}
    key_indent = None
    for offset, line in enumerate(item):
        match = _KEY_LINE.match(line)
        if match:
            keys[match["key"]] = offset
            if offset > 0 and key_indent is None:
                key_indent = match["indent"]
    if key_indent is None:  # single-line item so far: align under the text after "- "
        first = _ITEM_START.match(item[0])
        assert first is not None
        key_indent = first["indent"] + "  "
    wanted = {"newTag": pin.tag, "digest": pin.digest}
    out = list(item)
    removals = []
    for key, value in wanted.items():
        if key in keys:
            offset = keys[key]
            if value is None:
                removals.append(offset)
            else:
                prefix = out[offset][: out[offset].index(key)]
                out[offset] = f"{prefix}{key}: {_format_value(value)}"
        elif value is not None:
            anchor = max(keys.get("name", 0), keys.get("newName", 0), keys.get("newTag", 0))
            out.insert(anchor + 1, f"{key_indent}{key}: {_format_value(value)}")
            keys = {k: (v + 1 if v > anchor else v) for k, v in keys.items()}
            keys[key] = anchor + 1
    for offset in sorted(removals, reverse=True):
        del out[offset]
    return out


def rewrite_pins(text: str, pins: dict[str, Pin]) -> str:
    """Return `text` with the tag/digest of each named image set as in `pins`.

    Images of `pins` that the file does not list yet are appended to its `images:` list.
    """
    lines = text.splitlines()
    start, end = _images_block(lines)
    before = yaml.safe_load(text) or {}
    existing = parse_pins(before)
    items = _items(lines, start, end)
    result = lines[: items[0][0] if items else end]
    item_indent = "  "
    for item_start, item_end in items:
        item_indent = _ITEM_START.match(lines[item_start])["indent"]  # type: ignore[index]
        name = _item_name(lines[item_start:item_end])
        if name in pins:
            result.extend(_rewrite_item(lines, item_start, item_end, pins[name]))
        else:
            result.extend(lines[item_start:item_end])
    for name in sorted(set(pins) - set(existing)):
        pin = pins[name]
        result.append(f"{item_indent}- name: {name}")
        for key, value in (("newName", pin.new_name), ("newTag", pin.tag), ("digest", pin.digest)):
            if value is not None:
                result.append(f"{item_indent}  {key}: {_format_value(value)}")
    result.extend(lines[end:])
    new_text = "\n".join(result) + ("\n" if text.endswith("\n") else "")
    _verify(before, new_text, pins)
    return new_text


def _verify(before: dict[str, Any], new_text: str, pins: dict[str, Pin]) -> None:
    after = yaml.safe_load(new_text) or {}
    outside_before = {k: v for k, v in before.items() if k != "images"}
    outside_after = {k: v for k, v in after.items() if k != "images"}
    if outside_before != outside_after:
        raise PinError("editing the image pins would change more than images:; nothing written")
    new_pins = parse_pins(after)
    for name, pin in pins.items():
        got = new_pins.get(name)
        if got is None or (got.tag, got.digest) != (pin.tag, pin.digest):
            raise PinError(f"could not set the pin of {name} in {KUSTOMIZATION}; nothing written")
