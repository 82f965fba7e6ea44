"""Imports point down only (docs/architecture.md): a lower layer never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tallyproof"
LAYER = {
    "domain": 1,
    "forensics": 1,
    "claims": 1,
    "ledger": 2,
    "store": 3,
    "service": 4,
    "api": 5,
    "audit": 5,
    "cli": 5,
    "client": 5,
    "errors": 5,
    "console": 5,
    "export": 5,
    "formats": 5,
    "importers": 5,
    "sample": 5,
    "web": 5,
    "__main__": 6,
}


def modules(path: Path) -> set[str]:
    """Every module a file imports, by full name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def imported(path: Path) -> set[str]:
    """The tallyproof packages a file imports."""
    return {n.split(".")[1] for n in modules(path) if n.startswith("tallyproof.")}


def test_every_module_imports_only_its_own_layer_or_below():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if part == "__init__":
            continue
        own = LAYER[part]
        for target in imported(path):
            if LAYER[target] > own:
                wrong.append(f"{path.relative_to(PACKAGE)} imports tallyproof.{target}")
    assert wrong == []


def test_pure_layers_do_no_io():
    io = {"sqlalchemy", "sqlite3", "httpx", "socket", "pathlib", "typer", "rich"}
    for part in ("domain", "forensics", "claims"):
        for path in (PACKAGE / part).rglob("*.py"):
            assert not {m.split(".")[0] for m in modules(path)} & io, path


def schema_imports(path: Path) -> bool:
    """Whether a file imports the store's table definitions, by either spelling."""
    if "tallyproof.store.schema" in modules(path):
        return True
    return any(
        isinstance(node, ast.ImportFrom)
        and node.module == "tallyproof.store"
        and any(alias.name == "schema" for alias in node.names)
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
    )


def test_only_the_store_knows_its_tables():
    """Above the store, rows are records (store/records.py): no module imports the table
    definitions, so a column's name or its JSON encoding can change in one place."""
    wrong = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] != "store" and schema_imports(path)
    ]
    assert wrong == []
