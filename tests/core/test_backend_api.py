"""The public backend API: complete, documented, cheap to import, and all plugins use."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import flowyml
import flowyml.backend as backend

ROOT = Path(__file__).resolve().parents[2]

# Source trees of every plugin distribution in this repository, ours and the fixtures.
# Every distribution of the project but the core, and the fixture plugins.
PLUGIN_SOURCES = [
    *sorted(p for p in ROOT.glob("flowyml-*/src") if p.parent.name != "flowyml-core"),
    *sorted((ROOT / "tests" / "fixtures").glob("*/src")),
]

# The core modules a plugin may import: the user API, this API, the conformance suite.
ALLOWED = ("flowyml", "flowyml.backend", "flowyml.testing")


def _defined_here() -> set[str]:
    return {
        name
        for name, value in vars(backend).items()
        if inspect.isfunction(value) and value.__module__ == backend.__name__
    }


@pytest.mark.parametrize("name", backend.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(backend, name) is not None
    assert name in dir(backend)


def test_all_lists_the_lazy_exports_and_the_functions_defined_here():
    public = {n for n in _defined_here() if not n.startswith("_")}
    assert set(backend.__all__) == {*backend._EXPORTS, *public, "BACKEND_API_VERSION"}
    assert len(backend.__all__) == len(set(backend.__all__))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="flowyml.backend.*no_such_name"):
        backend.no_such_name  # noqa: B018


def test_the_api_version_is_one():
    assert backend.BACKEND_API_VERSION == "1"


@pytest.mark.parametrize("name", backend.__all__)
def test_every_exported_name_is_documented(name):
    value = getattr(backend, name)
    assert name in (backend.__doc__ or ""), f"the module docstring does not name {name}"
    if inspect.isclass(value) or inspect.isfunction(value):
        assert (value.__doc__ or "").strip(), f"{name} has no docstring"


def test_names_shared_with_the_user_api_are_the_same_objects():
    for name in set(backend.__all__) & set(flowyml.__all__):
        assert getattr(backend, name) is getattr(flowyml, name), name


def test_importing_the_backend_api_imports_nothing_heavy():
    code = (
        "import sys, flowyml.backend; "
        "print(' '.join(m for m in sys.modules if m.startswith(('flowyml', 'pydantic', "
        "'pluggy'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == ["flowyml", "flowyml.backend"]


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every core module a file imports, at any depth (functions included)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            if node.module == "flowyml":  # `from flowyml import step_runner` is a module too
                for alias in node.names:
                    if importlib.util.find_spec(f"flowyml.{alias.name}") is not None:
                        yield node.lineno, f"flowyml.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def _is_core_module(module: str) -> bool:
    return module == "flowyml" or module.startswith("flowyml.")


def _allowed(module: str) -> bool:
    return module in ALLOWED or module.startswith("flowyml.testing.")


def test_plugins_import_only_the_user_api_the_backend_api_and_the_test_suite():
    scanned = 0
    offenders = []
    for source in PLUGIN_SOURCES:
        for path in sorted(source.rglob("*.py")):
            scanned += 1
            for line, module in _imported_modules(path):
                if _is_core_module(module) and not _allowed(module):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert scanned > 20, "the plugin source trees were not found"
    assert not offenders, "plugins must import core only through flowyml.backend:\n" + "\n".join(
        offenders
    )


def test_the_scan_finds_an_import_of_a_core_module_inside_a_function(tmp_path):
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "from flowyml import Pipeline\n"
        "from flowyml.backend import hookimpl\n"
        "def f():\n"
        "    from flowyml.execution.step_runner import main\n"
        "    import flowyml.storage.database\n"
        "    from flowyml import project\n"
        "    importlib.import_module('flowyml.plugins.manager')\n"
    )
    found = {m for _, m in _imported_modules(plugin) if _is_core_module(m) and not _allowed(m)}
    expected = {
        "flowyml.execution.step_runner",
        "flowyml.storage.database",
        "flowyml.project",
        "flowyml.plugins.manager",
    }
    assert found == expected
