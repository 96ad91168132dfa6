"""svta's import graph read from its source with ``ast``: every import counts, the ones inside functions too
(svta imports heavy modules lazily, so that is where a cycle or a layering breach would hide)."""

from __future__ import annotations

import ast
from pathlib import Path

import svta

SRC = Path(svta.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _typing_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes inside ``if TYPE_CHECKING:`` blocks (read by type checkers, never run)."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def imports(path: Path, typing: bool = True) -> list[tuple[str, set[str]]]:
    """``(module, names)`` of every import in the file (``names`` empty for ``import module``); without
    ``typing``, those under ``if TYPE_CHECKING:`` are left out."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if typing else _typing_only(tree)
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, set()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.append((base, {alias.name for alias in node.names}))
    return found


def graph(typing: bool = True) -> dict[str, list[tuple[str, set[str]]]]:
    """Every svta module's imports (see :func:`imports`)."""
    return {module_name(path): imports(path, typing) for path in sorted(SRC.rglob("*.py"))}


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)
