"""Files derived from the rules and the tier table, committed so reviewers see them.

Every generator is a `FileSet`: what it makes now (`render`, path -> text) and which files on
disk it owns (`owned`, so a file it no longer makes is reported and removed). The comparison,
the writing and the gate's finding are the same for all of them and live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sutra.gitops.policy import Violation

Render = Callable[[Path], dict[str, str]]


@dataclass(frozen=True)
class FileSet:
    """One generator: `command` is its `sutra COMMAND generate`, `source` what it reads."""

    command: str
    source: str
    render: Render
    owned: Callable[[Path], Iterable[str]] = lambda root: ()
    # Refuses (raises) before anything is written when the files could not be used.
    before_write: Callable[[Path], None] = lambda root: None

    def stale(self, root: Path, only: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(file, problem) for each file that differs from what `render` makes; only the
        paths in `only` when given."""
        wanted = self.render(root)
        paths = sorted(set(wanted) | set(self.owned(root)))
        if only is not None:
            keep = set(only)
            paths = [p for p in paths if p in keep]
        problems = []
        for path in paths:
            target = root / path
            if path not in wanted:
                problems.append((path, f"is not generated from {self.source}"))
            elif not target.is_file():
                problems.append((path, "is missing"))
            elif target.read_text(encoding="utf-8") != wanted[path]:
                problems.append((path, f"is out of date with {self.source}"))
        return problems

    def write(self, root: Path) -> list[str]:
        """Bring every file up to date: "wrote PATH" or "removed PATH" for each change. The
        texts are all made before anything is written, so a failing generator writes nothing."""
        self.before_write(root)
        wanted = self.render(root)
        changed = []
        for path in sorted(set(self.owned(root)) - set(wanted)):
            (root / path).unlink()
            changed.append(f"removed {path}")
        for path, text in sorted(wanted.items()):
            target = root / path
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                changed.append(f"wrote {path}")
        return changed

    def violations(
        self, root: Path, target: str, only: Iterable[str] | None = None
    ) -> list[Violation]:
        """The gate's findings: one per stale file, telling the command that fixes it."""
        return [
            Violation(
                target, "File", path, f"{problem}: run `sutra {self.command} generate`", "generated"
            )
            for path, problem in self.stale(root, only)
        ]


def replace_block(text: str, name: str, body: str, where: str) -> str:
    """TEXT with the lines between the line opening `<!-- BEGIN name` and the line
    `<!-- END name -->` set to BODY (generated blocks inside hand-written documents)."""
    begin, end = f"<!-- BEGIN {name} ", f"<!-- END {name} -->"
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise ValueError(f"{where}: no {begin}...--> ... {end} block")
    head = text[: text.index("\n", start) + 1]
    return f"{head}{body.rstrip()}\n{text[stop:]}"
