"""The import graph, read with ``ast`` from every package's source: no cycle anywhere, and
no layer reached upward.

A cycle means two modules can only be understood (and imported) together; a lower layer
importing a higher one means the data flow runs backwards. Imports inside functions count
(a lazy import hides a cycle, it does not remove it); imports under ``if TYPE_CHECKING:``
do not (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from pathlib import Path

import pytest

from tests.factory import REPO

PACKAGES = ("credential", "keys", "ops", "issuer", "verifier", "registry", "jiaozi")

# What each top-level package may import of ours.
ALLOWED_PACKAGES = {
    "credential": set(),
    "keys": {"credential"},
    # operations shared by the services (health, metrics, logs, request ids): plain ASGI
    "ops": {"credential", "keys"},
    "issuer": {"credential", "keys", "ops"},
    "verifier": {"credential", "keys", "ops"},
    # the national registry: never the issuer's or the verifier's code, nor they its
    "registry": {"credential", "keys", "ops"},
    "jiaozi": {"credential", "keys", "ops", "issuer", "verifier", "registry"},
}

# issuer/'s layers, lowest first. A module may import its own sub-package and anything in a
# lower layer; never a higher one, never a sibling in the same layer.
ISSUER_LAYERS: tuple[tuple[str, ...], ...] = (
    ("settings", "errors"),
    ("pdf", "photos"),
    ("db",),
    ("fields",),
    ("audit",),
    ("accounts",),
    ("issuance",),
    ("lifecycle",),
    ("holder", "batches", "search", "console"),
    ("web",),
    ("cli",),
)
ISSUER_RANK = {name: rank for rank, names in enumerate(ISSUER_LAYERS) for name in names}

# Web and command-line frameworks: only the top of each service may use them.
FRAMEWORK_HOMES = {
    "fastapi": (
        "issuer.web",
        "verifier.app",
        "verifier.web",
        "verifier.problems",
        "registry.app",
        "registry.problems",
    ),
    "starlette": (
        "issuer.web",
        "verifier.app",
        "verifier.web",
        "verifier.problems",
        "registry.app",
        "registry.problems",
    ),
    "click": (
        "issuer.cli",
        "verifier.cli",
        "verifier.commands",
        "keys.cli",
        "registry.cli",
        "jiaozi.cli",
        "jiaozi.backup.cli",
    ),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic loads revisions by path; they import nothing of ours
            found[module_name(path)] = path
    return found


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(path: Path, module: str, modules: Collection[str] | None = None) -> set[str]:
    """Return every dotted name ``path`` imports, relative imports resolved against ``module``.

    ``from a import b`` gives ``a`` and ``a.b``; given the known ``modules``, it gives
    ``a.b`` alone when that is a module (importing a submodule needs the submodule, not
    the names its package's ``__init__`` re-exports) and ``a`` alone otherwise.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if modules is None:
                    names.update((target, full))
                else:
                    names.add(full if full in modules else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def graph() -> dict[str, set[str]]:
    """Return module -> the modules of ours it imports."""
    modules = all_modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(path, name, modules):
            if imported in modules and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return found


def issuer_layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "issuer" or len(parts) < 2:
        return None
    return parts[1]


def upward_imports(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Return (importer, imported) pairs that break the package or issuer layer rules."""
    bad = []
    for source, targets in edges.items():
        top = source.split(".")[0]
        for target in targets:
            target_top = target.split(".")[0]
            if target_top != top and target_top not in ALLOWED_PACKAGES[top]:
                bad.append((source, target))
                continue
            src_layer, dst_layer = issuer_layer(source), issuer_layer(target)
            if src_layer is None or dst_layer is None or src_layer == dst_layer:
                continue
            if ISSUER_RANK[dst_layer] >= ISSUER_RANK[src_layer]:
                bad.append((source, target))
    return sorted(bad)


def test_every_issuer_subpackage_has_a_layer() -> None:
    subpackages = {
        p.stem if p.is_file() else p.name
        for p in (REPO / "issuer").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.name != "__init__.py")
    }
    assert subpackages == set(ISSUER_RANK)


def test_no_import_cycle_anywhere() -> None:
    assert cycles(graph()) == []


def test_no_layer_is_reached_upward() -> None:
    assert upward_imports(graph()) == []


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_HOMES))
def test_frameworks_only_at_the_top(framework: str) -> None:
    homes = FRAMEWORK_HOMES[framework]
    users = sorted(
        name
        for name, path in all_modules().items()
        if any(n == framework or n.startswith(framework + ".") for n in imported_names(path, name))
        and not any(name == h or name.startswith(h + ".") for h in homes)
    )
    assert users == []


# The checker itself, on small graphs: each must be able to fail.


def test_a_two_module_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_a_longer_cycle_is_found_once() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]


def test_an_acyclic_graph_has_no_cycle() -> None:
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_a_lower_layer_importing_a_higher_one_is_refused() -> None:
    edges = {
        "issuer.db.models": {"issuer.web.deps"},
        "issuer.web.deps": {"issuer.db.models"},
        "issuer.holder.service": {"issuer.batches.run"},
        "verifier.sync": {"issuer.db.models"},
        "issuer.db.engine": {"issuer.db.models"},
    }
    assert upward_imports(edges) == [
        ("issuer.db.models", "issuer.web.deps"),
        ("issuer.holder.service", "issuer.batches.run"),
        ("verifier.sync", "issuer.db.models"),
    ]


def test_importing_a_submodule_from_its_package_depends_on_the_submodule(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from issuer.fields import texts, FieldError\n", encoding="utf-8")
    modules = {"issuer.fields", "issuer.fields.texts", "issuer.fields.application"}
    names = imported_names(path, "issuer.fields.application", modules)
    # the submodule itself, and the package for the name its __init__ re-exports
    assert names == {"issuer.fields.texts", "issuer.fields"}


def test_lazy_imports_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from issuer.web import deps\n"
        "def f():\n    from issuer.lifecycle import restrictions\n",
        encoding="utf-8",
    )
    names = imported_names(path, "issuer.lifecycle.status")
    assert "issuer.lifecycle.restrictions" in names
    assert not any(n.startswith("issuer.web") for n in names)


def test_the_verifier_never_imports_the_issuer() -> None:
    # The public verifier holds no private key and no personal data: not even by import.
    imports = {
        name: imported_names(path, name)
        for name, path in all_modules().items()
        if name.split(".")[0] == "verifier"
    }
    assert imports
    assert {
        n for n, names in imports.items() if any(i.split(".")[0] == "issuer" for i in names)
    } == set()
