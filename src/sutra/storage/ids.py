"""Concept ids: 16 bytes, shown as 32 lower-case hex characters.

A concept learned without an id gets blake2b-128 of its normalised content, so the same
statement learned twice (by any service, in any spelling of case and spacing) is one
concept. Normalisation: Unicode NFC, case-folded, runs of whitespace collapsed to one
space, stripped. The stored content keeps the spelling it was first learned with.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

ID_BYTES = 16
_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_SPACES = re.compile(r"\s+")


class InvalidId(ValueError):
    pass


def normalise(content: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", content).casefold()).strip()


def concept_id_for(content: str) -> str:
    """The id a concept with this content gets when it is learned without one."""
    return hashlib.blake2b(normalise(content).encode("utf-8"), digest_size=ID_BYTES).hexdigest()


def parse_id(value: str, what: str = "concept_id") -> bytes:
    """32 hex characters (any case) -> 16 bytes; anything else is InvalidId."""
    if type(value) is str and len(value) == 2 * ID_BYTES:  # the common case, without a regex
        try:
            raw = bytes.fromhex(value)  # 32 characters give 16 bytes only if all are hex digits
        except ValueError:
            raw = b""
        if len(raw) == ID_BYTES:
            return raw
    if not isinstance(value, str) or not _HEX.match(value):
        shown = value if isinstance(value, str) and len(value) <= 64 else f"{str(value)[:64]}..."
        raise InvalidId(f"{what} must be 32 hex characters, got {shown!r}")
    return bytes.fromhex(value)


def format_id(raw: bytes) -> str:
    return raw.hex()
