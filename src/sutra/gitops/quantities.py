"""Kubernetes resource quantities ("250m", "1Gi", "2") as numbers, for capacity totals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}  # fmt: skip


def parse_quantity(value: str | int | float) -> Decimal:
    """The quantity in base units (cores for CPU, bytes for memory)."""
    text = str(value).strip()
    try:
        for suffix, factor in _BINARY.items():
            if text.endswith(suffix):
                return Decimal(text[: -len(suffix)]) * factor
        if text and text[-1] in _DECIMAL and not text[-1].isdigit():
            return Decimal(text[:-1]) * _DECIMAL[text[-1]]
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a Kubernetes quantity: {value!r}") from exc


def format_cpu(cores: Decimal) -> str:
    return f"{cores.normalize():f} CPU" if cores == cores.to_integral() else f"{cores:.2f} CPU"


def format_memory(size: Decimal) -> str:
    gib = size / _BINARY["Gi"]
    return f"{gib:.2f}".rstrip("0").rstrip(".") + " GiB"
