"""The house's layout: which part of `app` may import which.

The dashboard (`app/web`) and the admin API (`app/api`) are two doors onto the same services;
neither imports the other. The command line needs neither: only `app.main` puts the doors on.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function ("from app import api"
    counts as app.api)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def importers_of(package: str, files: list[Path]) -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for path in files
        if any(name == package or name.startswith(package + ".") for name in imports_of(path))
    )


def test_the_dashboard_does_not_import_the_api():
    assert importers_of("app.api", sorted((APP / "web").rglob("*.py"))) == []


def test_only_the_app_itself_imports_the_dashboard():
    outside = [p for p in APP.rglob("*.py") if APP / "web" not in p.parents]
    assert importers_of("app.web", outside) == ["app/main.py"]


def test_the_command_line_loads_neither_the_dashboard_nor_the_api():
    script = (
        "import sys, app.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['app', 'web'], "
        "['app', 'api'])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
