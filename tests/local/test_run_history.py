"""A recorded run read back by a process that did not run it, as a user reads it."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_another_process_reads_a_runs_outputs_and_step_results(tmp_path):
    (tmp_path / "flowyml.yaml").write_text("")
    (tmp_path / "pipe.py").write_text(
        textwrap.dedent(
            """
            from flowyml import Pipeline, step

            @step(outputs=["answer"])
            def answer():
                return {"value": 41}

            pipeline = Pipeline("history", steps=[answer])

            if __name__ == "__main__":
                print(pipeline.run(echo_logs=False).run_id)
            """
        )
    )

    def python(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    run_id = python("pipe.py")
    # A fresh interpreter that only imports flowyml: nothing has set up an artifact store.
    read = python(
        "-c",
        f"import flowyml; run = flowyml.get_run({run_id!r}); "
        "print(run.outputs['answer']['value'], "
        "run.step_results['answer'].load_output()['value'])",
    )
    assert read == "41 41"
