"""The ``flowyml`` command line, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest


def flowyml(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowyml", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def script(project):
    path = project / "pipe.py"
    path.write_text(
        textwrap.dedent("""
        from flowyml import Context, Pipeline, step

        @step(outputs=["data"])
        def load(n: int):
            print("loading", n)
            return list(range(n))

        @step(inputs=["data"], outputs=["total"])
        def total(data, fail: bool = False):
            if fail:
                raise RuntimeError("asked to fail")
            return sum(data)

        pipeline = Pipeline("cli-demo", steps=[load, total], context=Context(n=4))
    """)
    )
    return path


def test_run_prints_summary_and_final_outputs(script, project):
    done = flowyml("run", "pipe.py", "--param", "n=5", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "load" in done.stdout and "success" in done.stdout and "total:\n10" in done.stdout
    assert "✓ total success" in done.stderr  # progress goes to stderr


def test_failed_run_exits_non_zero_and_runs_show_has_the_traceback(script, project):
    done = flowyml("run", "pipe.py", "-p", "fail=true", cwd=project)
    assert done.returncode == 1
    run_id = done.stdout.split("\nrun ")[1].split()[0]
    shown = flowyml("runs", "show", run_id, cwd=project)
    assert "total failed: RuntimeError: asked to fail" in shown.stdout
    assert 'raise RuntimeError("asked to fail")' in shown.stdout
    listed = flowyml("runs", "list", cwd=project)
    assert run_id in listed.stdout and "failed" in listed.stdout
    logs = flowyml("runs", "logs", run_id, "--step", "load", cwd=project)
    assert "[load] loading 4" in logs.stdout


def test_resume_of_unknown_run_is_a_clear_error(script, project):
    done = flowyml("run", "pipe.py", "--resume", "nope", cwd=project)
    assert done.returncode == 2 and "run 'nope' does not exist" in done.stderr


def test_unknown_backend_lists_installed_backends(script, project):
    done = flowyml("run", "pipe.py", "--backend", "nope", cwd=project)
    assert done.returncode == 2 and "installed backends:" in done.stderr and "local" in done.stderr


def test_backends_lists_name_distribution_version_and_settings(project):
    done = flowyml("backends", cwd=project)
    assert done.returncode == 0
    line = next(row for row in done.stdout.splitlines() if row.startswith("local "))
    assert "flowyml-local" in line and "0.1.0" in line and "max_workers" in line


def test_run_of_missing_file_is_a_clear_error(project):
    done = flowyml("run", "nowhere.py", cwd=project)
    assert done.returncode == 2 and "no such file: nowhere.py" in done.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = 1\ndef broken(:\n    pass\n", "error: pipe.py:2: invalid syntax\n    def broken(:"),
        (
            "import numpyy_missing\n",
            "error: importing pipe.py failed: ModuleNotFoundError: No module named "
            "'numpyy_missing'",
        ),
    ],
)
def test_a_pipeline_file_that_cannot_be_imported_is_one_short_error(project, source, expected):
    (project / "pipe.py").write_text(source)
    done = flowyml("run", "pipe.py", cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith(expected), done.stderr
    assert "click" not in done.stderr and "importlib" not in done.stderr
    assert len(done.stderr.splitlines()) <= 4


def test_logs_of_a_step_the_run_does_not_have_is_an_error(script, project):
    done = flowyml("run", "pipe.py", cwd=project)
    run_id = done.stdout.split("\nrun ")[1].split()[0]
    logs = flowyml("runs", "logs", run_id, "--step", "nosuch", cwd=project)
    assert logs.returncode == 2
    assert f"run '{run_id}' has no step 'nosuch'; its steps: load, total" in logs.stderr
    quiet = flowyml("runs", "logs", run_id, "--step", "total", cwd=project)
    assert quiet.returncode == 0 and "step 'total' printed nothing" in quiet.stderr


def test_a_misspelled_parameter_is_an_error_before_anything_runs(script, project):
    done = flowyml("run", "pipe.py", "-p", "nn=3", cwd=project)
    assert done.returncode == 2
    assert "parameter 'nn': no step of pipeline 'cli-demo' takes it; did you mean 'n'?" in (
        done.stderr
    )
    assert not (project / ".flowyml").exists() or "run " not in done.stdout


def test_a_parameter_of_the_wrong_type_is_an_error_and_a_string_number_is_coerced(project):
    (project / "typed.py").write_text(
        textwrap.dedent("""
        from flowyml import Context, Pipeline, step

        @step(outputs=["kind"])
        def train(epochs: int):
            return type(epochs).__name__

        pipeline = Pipeline("typed", steps=[train], context=Context(epochs=1))
    """)
    )
    bad = flowyml("run", "typed.py", "-p", "epochs=abc", cwd=project)
    assert bad.returncode == 2
    assert "step 'train': parameter 'epochs' = 'abc' is not a valid int" in bad.stderr
    good = flowyml("run", "typed.py", "-p", 'epochs="5"', cwd=project)
    assert good.returncode == 0, good.stderr
    assert "kind:\nint" in good.stdout


def test_an_undefined_stack_names_the_defined_stacks_and_the_installed_backends(script, project):
    (project / "flowyml.yaml").write_text("stack: prod\nstacks:\n  dev:\n    backend: local\n")
    done = flowyml("run", "pipe.py", cwd=project)
    assert done.returncode == 2
    assert "error: unknown stack or backend 'prod' (the default stack of " in done.stderr
    assert "neither a stack defined in" in done.stderr
    assert "\n  defined stacks: dev\n  installed backends: " in done.stderr
    assert "local, subprocess" in done.stderr
    typo = flowyml("run", "pipe.py", "--backend", "subproces", cwd=project)
    assert "did you mean 'subprocess'?" in typo.stderr


def test_the_project_is_found_from_the_pipeline_file_not_the_working_directory(
    script, project, tmp_path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = flowyml("run", str(script), cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert (project / ".flowyml").is_dir() and not (elsewhere / ".flowyml").exists()
    listed = flowyml("runs", "list", cwd=elsewhere)
    assert listed.returncode == 2 and not (elsewhere / ".flowyml").exists()
    assert "no FlowyML project here: looked for flowyml.yaml, pyproject.toml, .git, " in (
        listed.stderr
    )
    assert str(elsewhere) in listed.stderr
    assert "cli-demo" in flowyml("runs", "list", cwd=project).stdout


def test_no_cache_reruns_every_step_and_cache_clear_forgets_entries(script, project):
    assert flowyml("run", "pipe.py", cwd=project).returncode == 0
    cached = flowyml("run", "pipe.py", cwd=project)
    assert re.search(r"^load\s+cached", cached.stdout, re.M)
    forced = flowyml("run", "pipe.py", "--no-cache", cwd=project)
    assert re.search(r"^load\s+success", forced.stdout, re.M), forced.stdout
    cleared = flowyml("cache", "clear", "--step", "load", cwd=project)
    assert cleared.returncode == 0 and "removed 1 cache entry of step(s) load" in cleared.stdout
    after = flowyml("run", "pipe.py", cwd=project)
    assert re.search(r"^load\s+success", after.stdout, re.M)
    assert re.search(r"^total\s+cached", after.stdout, re.M)
    assert "removed 2 cache entries" in flowyml("cache", "clear", cwd=project).stdout


def test_get_run_reads_a_past_run_with_its_outputs_and_parameters(script, project):
    import flowyml as api

    done = flowyml("run", "pipe.py", "-p", "n=6", cwd=project)
    run_id = done.stdout.split("\nrun ")[1].split()[0]
    run = api.get_run(run_id[:6], project=project)
    assert run.success and run.pipeline_name == "cli-demo"
    assert run.outputs["total"] == 15 and run.outputs["data"] == list(range(6))
    assert run.params["params"]["n"] == 6
    assert run.step_results["total"].status.value == "success"


def test_the_summary_shows_the_whole_first_line_of_an_error(project):
    (project / "dicty.py").write_text(
        textwrap.dedent("""
        from flowyml import Pipeline, step

        @step(outputs=["f", "h"])
        def split():
            return {"f": 1, "g": 2}

        pipeline = Pipeline("dicty", steps=[split])
    """)
    )
    done = flowyml("run", "dicty.py", cwd=project)
    assert done.returncode == 1
    expected = (
        "step 'split' declares outputs ['f', 'h'] but returned a dict without ['h'] and with "
        "unexpected keys ['g']; return a dict keyed by exactly those names, or a tuple in "
        "that order"
    )
    assert expected in done.stdout  # the first line of the error, not cut at 80 characters
    assert "details: flowyml runs show" in done.stderr


def test_runs_show_lists_each_steps_parameters_and_which_value_won(project):
    (project / "over.py").write_text(
        textwrap.dedent("""
        from flowyml import Context, Pipeline, step

        @step(outputs=["a"])
        def warm(lr: float, epochs: int = 3):
            return lr * epochs

        @step(inputs=["a"], outputs=["b"])
        def fit(a, lr: float):
            return a + lr

        pipeline = Pipeline("over", steps=[warm, fit],
                            context=Context(lr=0.1).override("fit", lr=0.5))
    """)
    )
    done = flowyml("run", "over.py", "-p", "lr=0.2", cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split("\nrun ")[1].split()[0]
    shown = flowyml("runs", "show", run_id, cwd=project).stdout
    assert re.search(r"^warm\s+lr\s+0\.2\s+run$", shown, re.M), shown
    assert re.search(r"^warm\s+epochs\s+3\s+default$", shown, re.M)
    assert re.search(r"^fit\s+lr\s+0\.5\s+override \(run value 0\.2 not used\)$", shown, re.M)


def test_repr_of_a_context_shows_its_overrides():
    from flowyml import Context

    context = Context(lr=0.1).override("fit", lr=0.5)
    assert repr(context) == "Context({'lr': 0.1}, overrides={'fit': {'lr': 0.5}})"


def test_plan_on_local_shows_the_groups_and_runs_nothing(tmp_path):
    from cli_process import FlowymlCli
    from one_step_project import write_one_step_project

    write_one_step_project(tmp_path, module="pipe", pipeline="p")
    done = FlowymlCli(tmp_path).run("run", "pipe.py", "--plan")
    assert done.returncode == 0, done.stderr
    assert "pipeline 'p' on local" in done.stdout and "jobs: 1 of 1 group(s)" in done.stdout
    assert not (tmp_path / ".flowyml" / "artifacts" / "objects.db").exists()  # nothing ran
