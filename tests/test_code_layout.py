"""Newcomers find the code where the README's map says: forum is the base layer, rooms stay small."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP_MODULES = sorted(
    p for app in ("forum", "discussions") for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts
)


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", [p for p in APP_MODULES if p.is_relative_to(ROOT / "forum")], ids=str)
def test_forum_imports_nothing_of_discussions(path):
    assert not {name for name in imported_modules(path) if name.split(".")[0] == "discussions"}


@pytest.mark.parametrize("path", APP_MODULES, ids=str)
def test_no_app_module_passes_500_lines(path):
    assert len(path.read_text().splitlines()) <= 500


@pytest.mark.parametrize("path", APP_MODULES, ids=str)
def test_the_apps_import_no_dev_tools(path):
    # The demo-data generator and the benchmarks live in bench/; only seed_demo, a dev command, reaches them.
    if path.name == "seed_demo.py":
        return
    assert not {name for name in imported_modules(path) if name.split(".")[0] in ("bench", "tests")}


def test_services_raise_the_projects_own_errors():
    for path in (ROOT / "discussions" / "services").glob("*.py"):
        names = imported_modules(path)
        assert "django.http" not in names, path
        assert "django.core.exceptions" not in names, path
