"""`flowyml run --backend docker`: live progress like local, and Ctrl-C stops the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from docker_harness import PROJECT
from polling import wait_for

pytestmark = pytest.mark.docker


def _flowyml(*args: str, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "flowyml", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def test_flowyml_run_on_docker_shows_live_progress(docker_project):
    process = _flowyml("run", f"{PROJECT / 'pipelines.py'}:demo", "--backend", "docker")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "pipeline 'docker-demo' on 'docker', 4 steps" in err
    for name in ("numbers", "squares", "mean", "summary"):
        assert f"… {name} started" in err
        assert f"✓ {name} success" in err
    assert "success" in out


def test_ctrl_c_stops_the_runs_containers(docker_project, docker_client):
    from flowyml_docker.engine import managed_containers

    process = _flowyml("run", f"{PROJECT / 'pipelines.py'}:sleepy", "--backend", "docker")
    try:
        container = wait_for(lambda: managed_containers(docker_client), what="the container")[0]
        run_id = container.labels["flowyml.run_id"]
        wait_for(lambda: b"napping" in container.logs(), what="the nap")
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert not managed_containers(docker_client, run_id)
    record = json.loads((docker_project / ".flowyml/docker/runs" / f"{run_id}.json").read_text())
    assert record["status"] == "cancelled"


def test_flowyml_run_on_docker_with_logs_shows_what_steps_print_live(docker_project):
    process = _flowyml("run", f"{PROJECT / 'pipelines.py'}:demo", "--backend", "docker", "--logs")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    printed = err.index("[numbers] making 10 numbers")
    assert err.index("… numbers started") < printed < err.index("✓ numbers success")
