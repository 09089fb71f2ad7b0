"""The demo knowledge set that `sutra up` loads into an empty store."""

from __future__ import annotations

from importlib import resources

BATCH_SIZE = 25  # the API's /learn/batch accepts up to 100 items


def demo_facts() -> list[str]:
    text = resources.files("sutra.stack").joinpath("demo_knowledge.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def batches(facts: list[str], size: int = BATCH_SIZE) -> list[list[str]]:
    return [facts[i : i + size] for i in range(0, len(facts), size)]
