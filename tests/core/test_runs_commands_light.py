"""`flowyml runs ...` reads the run store without loading the configuration's models or
the plugins when the configuration cannot move the store (flowyml/cli/common.py,
flowyml/project/locate.py), and still finds a store the configuration moved."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from flowyml.storage.database import Database
from flowyml.storage.run_store import RunStore

_PROBE = textwrap.dedent(
    """
    import atexit, sys
    atexit.register(lambda: print("LOADED", sorted(
        m for m in ("pydantic", "flowyml.plugins.manager", "flowyml.project.config")
        if m in sys.modules)))
    from flowyml.cli.main import main
    sys.argv = ["flowyml", *sys.argv[1:]]
    main()
    """
)


def _record_run(home: Path, run_id: str) -> None:
    db = Database(home / "flowyml.db")
    store = RunStore(db)
    store.create_run(run_id, "demo", "local", {})
    db.flush()
    db.close()


def _flowyml(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=project, capture_output=True, text=True
    )


def test_runs_list_and_show_load_neither_pydantic_nor_plugins(project: Path) -> None:
    _record_run(project / ".flowyml", "quick-run")
    for args in (("runs", "list"), ("runs", "show", "quick-run")):
        done = _flowyml(project, *args)
        assert done.returncode == 0, done.stderr
        assert "quick-run" in done.stdout
        assert "LOADED []" in done.stdout, done.stdout


def test_a_home_set_in_the_configuration_is_still_where_runs_are_read(project: Path) -> None:
    (project / "flowyml.yaml").write_text("home: .elsewhere\n")
    _record_run(project / ".elsewhere", "moved-run")
    done = _flowyml(project, "runs", "list")
    assert done.returncode == 0, done.stderr
    assert "moved-run" in done.stdout
    assert "flowyml.project.config" in done.stdout  # the full configuration was read
