"""``flowyml gc``: which runs and artifacts it deletes, and what it never touches."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flowyml import LocalArtifactStore, Pipeline, RunNotFoundError, get_run, step
from flowyml.project.folder import open_project
from flowyml.project.garbage import GarbageReport, collect_garbage
from flowyml.records.status import ExecutionStatus

BIG = 100_000  # bytes: stored as a file under objects/ (the pack takes up to 64 KiB)


@step(outputs=["big", "small"], cache=False)
def produce(seed: int, fail: bool = False) -> tuple[bytes, dict[str, int]]:
    if fail:
        raise RuntimeError("asked to fail")
    return bytes([seed]) * BIG, {"seed": seed}


@step(inputs=["small"], outputs=["summary"])
def summarize(small: dict[str, int]) -> str:
    return f"seed {small['seed']}"


PIPELINE = Pipeline("gc-demo", steps=[produce, summarize])


def fresh_store(project: Path) -> LocalArtifactStore:
    """A store that remembers nothing, so it sees what is really on disk."""
    return LocalArtifactStore(project / ".flowyml" / "artifacts")


def stored_size(store: LocalArtifactStore, uri: str) -> int:
    with store.open(uri) as stream:
        return len(stream.read())


def age_artifacts(project: Path, seconds: float = 3600) -> None:
    """Make every file of the artifact store look written ``seconds`` ago."""
    then = time.time() - seconds
    for path in (project / ".flowyml" / "artifacts").rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def gc(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return flowyml("gc", *args, cwd=project)


def flowyml(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowyml", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keep_last_deletes_older_runs_and_the_artifacts_only_they_reference(project):
    other = Pipeline("other", steps=[produce]).run(context={"seed": 99})
    runs = [PIPELINE.run(context={"seed": seed}) for seed in range(4)]
    store = fresh_store(project)
    old_refs = [r.step_results["produce"].outputs for r in runs[:2]]
    freed = sum(stored_size(store, uri) for refs in old_refs for uri in refs.values())

    report = collect_garbage(open_project(), keep_last=2, grace=0)

    assert (report.runs, report.step_runs) == (2, 4)
    assert (report.artifact_files, report.packed_artifacts) == (2, 2)
    assert report.artifact_bytes == report.bytes_freed == freed
    for run in runs[:2]:
        with pytest.raises(RunNotFoundError):
            get_run(run.run_id)
    store = fresh_store(project)
    assert not any(store.exists(uri) for refs in old_refs for uri in refs.values())
    # The cache still names the summaries of the deleted runs: they stay, and still load.
    for seed, run in enumerate(runs[:2]):
        assert store.load(run.step_results["summarize"].outputs["summary"]) == f"seed {seed}"
    # The kept runs, and the only run of the other pipeline, load whole.
    for seed, run in enumerate(runs[2:], start=2):
        assert get_run(run.run_id).outputs["big"] == bytes([seed]) * BIG
    assert get_run(other.run_id).outputs["small"] == {"seed": 99}
    # Shapes: the deleted runs' rows are gone; the graphs kept runs still draw remain.
    db = open_project().db
    assert db.query("SELECT COUNT(*) FROM run_shapes") == [(3,)]
    assert db.query("SELECT COUNT(*) FROM pipeline_graphs") == [(2,)]
    assert open_project().run_store.get_graph(runs[3].run_id) is not None
    again = PIPELINE.run(context={"seed": 0})
    assert again.step_results["summarize"].cached and again.outputs["summary"] == "seed 0"


def test_without_options_no_run_is_deleted_only_what_nothing_references(project):
    runs = [PIPELINE.run(context={"seed": seed}) for seed in range(2)]
    project_ = open_project()
    project_.cache_store.clear(())  # the summaries are now named by their runs alone
    stray = fresh_store(project).save(b"nobody names me" * 10_000)

    report = collect_garbage(project_, grace=0)

    assert (report.runs, report.artifact_files, report.packed_artifacts) == (0, 1, 0)
    assert report.artifact_bytes == stray.size
    assert not fresh_store(project).exists(stray.uri)
    for seed, run in enumerate(runs):
        loaded = get_run(run.run_id)
        assert loaded.outputs["big"] == bytes([seed]) * BIG
        assert loaded.outputs["summary"] == f"seed {seed}"


def test_failed_and_crashed_runs_count_as_finished(project):
    failed = PIPELINE.run(context={"seed": 1, "fail": True})
    assert failed.status is ExecutionStatus.FAILED
    crash = textwrap.dedent("""
        import os
        from flowyml.project.folder import open_project
        open_project().run_store.create_run("crashed-run", "gc-demo", "local", {})
        os._exit(0)
    """)
    subprocess.run([sys.executable, "-c", crash], cwd=project, check=True, timeout=60)
    kept = PIPELINE.run(context={"seed": 2})

    report = collect_garbage(open_project(), keep_last=1, grace=0)

    assert report.runs == 2 and report.in_progress == 0
    assert [r.run_id for r in open_project().run_store.list_runs()] == [kept.run_id]


def test_with_both_options_a_run_is_kept_when_either_keeps_it(project):
    runs = [PIPELINE.run(context={"seed": seed}) for seed in range(3)]
    project_ = open_project()

    assert collect_garbage(project_, older_than_days=1, grace=0).runs == 0
    assert collect_garbage(project_, keep_last=1, older_than_days=1, grace=0).runs == 0
    assert collect_garbage(project_, keep_last=1, older_than_days=0, grace=0).runs == 2
    assert [r.run_id for r in project_.run_store.list_runs()] == [runs[-1].run_id]


def snapshot(project: Path) -> tuple[object, ...]:
    """Every file of the store with its size and time, and every row of both databases."""
    home = project / ".flowyml"
    files = sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns)
        for p in (home / "artifacts").rglob("*")
        if p.is_file() and not p.name.startswith("objects.db")
    )
    with contextlib.closing(sqlite3.connect(home / "flowyml.db")) as db:
        rows = [
            sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("runs", "step_runs", "logs", "cache")
        ]
    with contextlib.closing(sqlite3.connect(home / "artifacts" / "objects.db")) as pack:
        packed = sorted(pack.execute("SELECT name, data FROM objects").fetchall())
    return files, rows, packed


def test_dry_run_deletes_nothing_and_reports_what_the_real_run_then_deletes(project):
    for seed in range(4):
        PIPELINE.run(context={"seed": seed})
    fresh_store(project).save(b"stray" * 30_000)
    open_project().cache_store.clear(["summarize"])
    before = snapshot(project)

    dry = collect_garbage(open_project(), keep_last=1, dry_run=True, grace=0)

    assert snapshot(project) == before
    assert dry.lines()[0].startswith("would delete 3 runs")
    real = collect_garbage(open_project(), keep_last=1, grace=0)
    assert dataclasses.replace(dry, dry_run=False) == real
    assert (real.runs, real.artifact_files, real.packed_artifacts) == (3, 4, 6)
    assert real.bytes_freed > 4 * BIG
    assert snapshot(project) != before


def test_a_run_in_progress_and_what_it_writes_are_untouched(project):
    old = PIPELINE.run(context={"seed": 1})
    old_refs = old.step_results["produce"].outputs
    age_artifacts(project)
    project_ = open_project()
    # A run in progress, owned by this (live) process, writing outputs it has not recorded.
    project_.run_store.create_run("live-run", "gc-demo", "local", {})
    store = project_.artifact_store()
    unrecorded = [store.save(b"being written" * 10_000), store.save({"small": "unrecorded"})]
    store.flush()

    report = collect_garbage(project_, keep_last=0, older_than_days=0, grace=0)

    assert (report.runs, report.in_progress) == (1, 1)
    assert project_.run_store.get_run("live-run").status is ExecutionStatus.RUNNING
    check = fresh_store(project)
    assert [check.load(ref.uri) for ref in unrecorded] == [
        b"being written" * 10_000,
        {"small": "unrecorded"},
    ]
    # The old run's file is deleted; packed artifacts carry no time and wait for a quiet store.
    assert not check.exists(old_refs["big"]) and check.exists(old_refs["small"])
    assert (report.artifact_files, report.packed_artifacts, report.kept_packed) == (1, 0, 2)
    assert "kept 1 run in progress" in report.lines()

    project_.run_store.finish_run("live-run", ExecutionStatus.SUCCESS)
    after = collect_garbage(project_, grace=0)

    assert (after.artifact_files, after.packed_artifacts, after.in_progress) == (1, 2, 0)
    check = fresh_store(project)
    assert not any(check.exists(uri) for uri in [old_refs["small"], *(r.uri for r in unrecorded)])


def test_the_run_a_run_in_progress_resumes_is_kept(project):
    failed = PIPELINE.run(context={"seed": 1, "fail": True})
    PIPELINE.run(context={"seed": 2})
    project_ = open_project()
    project_.run_store.create_run("resuming", "gc-demo", "local", {}, resumed_from=failed.run_id)
    try:
        report = collect_garbage(project_, keep_last=0, grace=0)
        assert report.runs == 1
        assert project_.run_store.get_run(failed.run_id).status is ExecutionStatus.FAILED
    finally:
        project_.run_store.finish_run("resuming", ExecutionStatus.CANCELLED)


def test_unreferenced_files_younger_than_the_grace_period_are_kept(project):
    PIPELINE.run(context={"seed": 1})
    PIPELINE.run(context={"seed": 2})

    report = collect_garbage(open_project(), keep_last=1)  # the default grace period

    assert (report.runs, report.artifact_files, report.kept_recent) == (1, 0, 1)


SCRIPT = """
import time
from pathlib import Path

from flowyml import Pipeline, step


@step(outputs=["big", "small"], cache=False)
def produce(seed: int):
    return bytes([seed]) * 100_000, {"seed": seed}


@step(inputs=["big"], outputs=["size"], cache=False)
def hold(big, block: bool = False):
    if block:  # stay running until the test says go
        Path("started").write_text("")
        deadline = time.monotonic() + 60
        while not Path("go").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("nobody said go")
            time.sleep(0.01)
    return len(big)


pipeline = Pipeline("gc-cli", steps=[produce, hold])
"""


def run_id_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\nrun ")[1].split()[0]


def numbers(output: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", output)]


def test_command_names_counts_and_bytes_and_dry_run_matches(project):
    (project / "pipe.py").write_text(SCRIPT)
    first = run_id_of(flowyml("run", "pipe.py", "-p", "seed=1", cwd=project))
    run_id_of(flowyml("run", "pipe.py", "-p", "seed=2", cwd=project))
    first_refs = get_run(first).step_results["produce"].outputs
    store = fresh_store(project)
    freed = sum(stored_size(store, uri) for uri in first_refs.values())

    recent = gc(project, "--keep-last", "1", "--dry-run")
    assert "would delete 1 run (2 step runs" in recent.stdout
    assert "kept 1 unreferenced artifact file modified in the last 5 minutes" in recent.stdout

    age_artifacts(project)
    dry = gc(project, "--keep-last", "1", "--dry-run")
    real = gc(project, "--keep-last", "1")

    assert dry.returncode == real.returncode == 0, dry.stderr + real.stderr
    assert re.search(
        rf"would delete 2 artifacts \(1 file, 1 packed\): .* \({freed} bytes\)", dry.stdout
    )
    assert re.search(
        rf"^deleted 2 artifacts \(1 file, 1 packed\): .* \({freed} bytes\)", real.stdout, re.M
    )
    assert re.search(rf"^freed [\d.]+ KiB \({freed} bytes\)", real.stdout, re.M)
    assert numbers(dry.stdout) == numbers(real.stdout)
    assert first not in flowyml("runs", "list", cwd=project).stdout
    nothing = gc(project)
    assert "deleted 0 runs" in nothing.stdout and "freed 0 bytes" in nothing.stdout


def test_command_leaves_a_run_of_another_process_running_and_it_succeeds(project):
    (project / "pipe.py").write_text(SCRIPT)
    old = run_id_of(flowyml("run", "pipe.py", "-p", "seed=1", cwd=project))
    old_big = get_run(old).step_results["produce"].outputs["big"]
    age_artifacts(project)
    live = subprocess.Popen(
        [sys.executable, "-m", "flowyml", "run", "pipe.py", "-p", "seed=2", "-p", "block=true"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for((project / "started").exists, "the second run's blocking step")
        done = gc(project, "--keep-last", "0", "--older-than", "0")
        (project / "go").write_text("")
        out, err = live.communicate(timeout=120)
    finally:
        if live.poll() is None:
            live.kill()
            live.communicate()

    assert done.returncode == 0, done.stderr
    assert "deleted 1 run (2 step runs" in done.stdout and "kept 1 run in progress" in done.stdout
    assert live.returncode == 0, err
    run_id = out.split("\nrun ")[1].split()[0]
    loaded = get_run(run_id)
    assert loaded.outputs["big"] == bytes([2]) * 100_000 and loaded.outputs["size"] == 100_000
    assert not fresh_store(project).exists(old_big)


def test_report_lines_name_counts_and_sizes():
    report = GarbageReport(runs=1, step_runs=2, artifact_files=1, artifact_bytes=2048)
    assert report.lines() == [
        "deleted 1 run (2 step runs, 0 log entries)",
        "deleted 1 artifact (1 file, 0 packed): 2.0 KiB (2048 bytes)",
        "freed 2.0 KiB (2048 bytes)",
    ]


def test_a_file_a_writer_replaced_during_deletion_is_put_back(tmp_path):
    from flowyml.project.gc_sweep import _unlink_unless_rewritten

    artifact = tmp_path / "ab" / "ab12.json"
    artifact.parent.mkdir()
    artifact.write_text("[1]")  # as if a run had just written the same content again

    assert _unlink_unless_rewritten(artifact, cutoff=time.time() - 60) == "rewritten"
    assert artifact.read_text() == "[1]" and os.listdir(artifact.parent) == ["ab12.json"]
    assert _unlink_unless_rewritten(artifact, cutoff=time.time() + 60) == "deleted"
    assert os.listdir(artifact.parent) == []
