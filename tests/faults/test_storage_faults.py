"""The artifact store fails under a run: a full disk, a corrupted artifact, a lost record."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_process import only_run
from conftest import assert_artifacts_load


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the full-disk test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def tiny_store(project: Path):
    """A 2 MiB tmpfs holding the artifact store of a `tiny` stack (needs root)."""
    if os.geteuid() != 0:
        _unavailable("mounting a tmpfs needs root")
    mount = project / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        _unavailable(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_while_writing_an_artifact_fails_the_step_and_leaves_no_partial_file(
    backend, cli, project, tiny_store
):
    (project / "flowyml.yaml").write_text(
        f"stacks:\n  tiny:\n    backend: {backend}\n    artifact_store: {tiny_store.as_uri()}\n"
    )
    from conftest import PIPELINES

    done = cli.run("run", f"{PIPELINES}:storage", "--backend", "tiny", "--quiet")
    assert done.returncode == 1, done.stderr
    record = only_run(project)
    statuses = {s.step: s.status.value for s in record.steps}
    assert record.status.value == "failed"
    assert statuses == {"small_output": "success", "big_output": "failed"}
    failed = next(s for s in record.steps if s.step == "big_output")
    assert "No space left on device" in (failed.error or ""), failed.error
    leftovers = [p for p in tiny_store.rglob("*") if p.is_file() and p.suffix == ".part"]
    assert leftovers == []
    assert_artifacts_load(record)
    # With room again (a smaller output), the same project runs to the end.
    again = cli.run(
        "run", f"{PIPELINES}:storage", "--backend", "tiny", "--quiet", "-p", "megabytes=1"
    )
    assert again.returncode == 0, again.stderr
    assert "size:\n1048576" in again.stdout


def test_a_corrupted_cached_artifact_is_recomputed_by_its_step_instead_of_failing_the_run(
    backend, cli, project
):
    from conftest import PIPELINES

    args = ("run", f"{PIPELINES}:storage", "--backend", backend, "--quiet", "-p", "megabytes=1")
    first = cli.run(*args)
    assert first.returncode == 0, first.stderr
    record = only_run(project)
    big = next(s for s in record.steps if s.step == "big_output").outputs["big"]["uri"]
    path = Path(big.removeprefix("file://"))
    path.write_bytes(b"\x80\x05not a pickle at all")  # corrupted in place on disk

    second = cli.run(*args, "-p", "unit=2")  # `measure` must run and read the artifact
    assert second.returncode == 0, second.stderr
    assert "size:\n524288" in second.stdout
    from flowyml.project.folder import forget_projects, open_project

    forget_projects()
    newest = open_project().run_store.list_runs(limit=1)[0]
    steps = {s.step: s for s in open_project().run_store.get_run(newest.run_id).steps}
    assert steps["small_output"].cached
    assert not steps["big_output"].cached and steps["big_output"].status.value == "success"
    assert steps["measure"].status.value == "success"
    assert_artifacts_load(open_project().run_store.get_run(newest.run_id))
