"""Who may call a route is said once: the role aliases of ``issuer.web.deps``. No other
module of the web package builds its own from ``require(...)`` or ``client(...)``, where
the same name could come to mean two things."""

from __future__ import annotations

import ast

from issuer.web import deps
from tests.factory import REPO


def _calls(path_text: str, names: set[str]) -> list[int]:
    tree = ast.parse(path_text)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
    ]


def test_role_dependencies_are_built_only_in_deps() -> None:
    web = REPO / "issuer" / "web"
    found = {
        str(path.relative_to(REPO)): lines
        for path in sorted(web.rglob("*.py"))
        if path.name != "deps.py"
        and (lines := _calls(path.read_text(encoding="utf-8"), {"require", "client"}))
    }
    assert found == {}


def test_every_role_alias_is_exported() -> None:
    aliases = {"Clerk", "Supervisor", "Admin", "AnyOfficeAdmin", "VerifierClient", "MisClient"}
    assert aliases <= set(deps.__all__)
    assert all(hasattr(deps, name) for name in aliases)
