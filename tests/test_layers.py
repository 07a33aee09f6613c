"""The packages are layered: core/ at the bottom; tools/ and memory/ use only core/; agent/
uses all three; app/ and eval/ compose. A lower package never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "core": set(),
    "tools": {"core"},
    "memory": {"core"},
    "agent": {"core", "tools", "memory"},
}
PROJECT = {"core", "tools", "memory", "agent", "app", "eval"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & PROJECT


def test_no_package_imports_a_higher_one() -> None:
    wrong = []
    for package, allowed in ALLOWED.items():
        files = sorted((ROOT / package).rglob("*.py"))
        assert files, package
        for path in files:
            for imported in _imports(path) - allowed - {package}:
                wrong.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert wrong == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from agent.state import Plan\nimport tools.base\n", encoding="utf-8")
    assert _imports(module) == {"agent", "tools"}
