"""Where each generated table lives, by the name in its markers (`<!-- NAME:start -->` ...
`<!-- NAME:end -->`): the README and the docs pages. The tools write the tables here, and the
tests read them back from here: the one list of those places."""

from __future__ import annotations

from pathlib import Path

from .reports import update_readme

README = Path("README.md")
DOCS = Path("docs")
FAMILIES = DOCS / "families"
PAGES: dict[str, tuple[Path, ...]] = {
    "presets": (README, DOCS / "presets.md"),
    "cards": (DOCS / "presets.md",),
    "tasks": (DOCS / "results.md",),
    "results": (DOCS / "results.md",),
    "backtest": (DOCS / "results.md",),
    "overrides": (DOCS / "getting-started.md",),
    "families": (FAMILIES / "index.md",),
    "speed": (DOCS / "speed.md",),
    "latency": (DOCS / "speed.md",),
    "speed-jax": (DOCS / "backends.md",),
    "serving": (DOCS / "export.md",),
    "digit-photos": (FAMILIES / "mnist.md",),
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def family_page(family: str) -> Path:
    """A task family's docs page, which holds its `family` table."""
    return FAMILIES / f"{family}.md"


def pages_of(name: str, page: Path | None = None) -> tuple[Path, ...]:
    return (page,) if page is not None else PAGES[name]


def write_table(name: str, table: str, *, root: Path = Path("."), page: Path | None = None) -> None:
    """`table` between the `name` markers of each of its pages (or of `page`)."""
    start, end = markers(name)
    for path in pages_of(name, page):
        update_readme(root / path, table, start=start, end=end)


def read_table(name: str, *, root: Path = Path("."), page: Path | None = None) -> str:
    """What lies between the `name` markers of its first page (or of `page`), stripped."""
    start, end = markers(name)
    text = (root / pages_of(name, page)[0]).read_text(encoding="utf-8")
    if start not in text:
        return ""
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def stale(tables: dict[str, str], *, root: Path = Path(".")) -> list[str]:
    """The names (of `tables`, name -> generated table) whose pages hold another text."""
    out = []
    for name, table in tables.items():
        for path in PAGES[name]:
            if read_table(name, root=root, page=path) != table.strip():
                out.append(f"{path} ({name})")
    return out
