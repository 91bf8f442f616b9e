"""Benchmark of the ``docker`` backend (needs the engine and base image of ``.ci/services``).

Measures, in one fresh project folder:

- per-group overhead: from the moment a group's container is asked for to the moment its
  step's body starts, for a chain of trivial one-step groups; against the floor, a bare
  ``docker run`` of the same image printing the time from Python in the same run — the
  ratio is what the step runner (imports, task, manifest) adds to a container start.
  The chain and the floor alternate over ``--rounds`` rounds, so an engine whose speed
  drifts during the run weighs on both alike; each round's ratio is reported too;
- where each goes: for the floor, the engine's create call, its start call, and the
  interpreter from the container's start to printing; for a group, the engine (container
  requested → container started) and the step runner (container started → step body);
- the second submission of an unchanged pipeline: nothing is built; the time to submit
  and the time from the submission call to its first container's start.

    python bench/bench_docker.py [--groups 6] [--rounds 3]

Prints one JSON object (also written to ``$FLOWYML_BENCH_OUT/bench_docker.json`` when
that variable is set). Figures are medians with min and max.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

BASE_IMAGE = os.environ.get("FLOWYML_CI_IMAGE", "flowyml-test/python:bookworm")

PIPELINE = textwrap.dedent(
    """
    import time
    from flowyml import Pipeline, step

    N = {n}

    def make(i):
        def body(prev=None):
            return time.time()  # when the step's body started (wall clock)
        return step(name=f"s{{i}}", inputs=[f"a{{i-1}}"] if i else [], outputs=[f"a{{i}}"])(body)

    steps = [make(i) for i in range(N)]
    for _s in steps:
        globals()[_s.name] = _s
    pipeline = Pipeline("bench-docker", steps=steps)
    """
)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "n": len(values),
    }


def _ts(iso: str) -> float:
    # The engine reports nanoseconds; Python parses up to microseconds.
    head, _, rest = iso.rstrip("Z").partition(".")
    fraction = (rest.split("+")[0] + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{fraction}+00:00").timestamp()


def _floor(client: Any, image: str, count: int, split: dict[str, list[float]]) -> list[float]:
    """``count`` bare runs of the image (what ``containers.run`` does, call by call)."""
    samples = []
    for _ in range(count):
        started = time.time()
        container = client.containers.create(
            image,
            ["/opt/flowyml/bin/python", "-c", "import time; print(time.time())"],
            network_mode="none",
        )
        created = time.time()
        container.start()
        start_returned = time.time()
        container.wait()
        printed = float(container.logs().decode().strip())
        state = client.api.inspect_container(container.id)["State"]
        container.remove()
        samples.append(printed - started)
        split["create_call"].append(created - started)
        split["start_call"].append(start_returned - created)
        split["python_to_print"].append(printed - _ts(state["StartedAt"]))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=6, help="groups in the chain")
    parser.add_argument("--rounds", type=int, default=3, help="chain runs, each with its floor")
    args = parser.parse_args()

    from flowyml.definition.references import load_reference
    from flowyml.project.config import StackConfig
    from flowyml.project.folder import forget_projects
    from flowyml_docker import DockerOrchestrator

    root = Path(tempfile.mkdtemp(prefix="flowyml-bench-docker-"))
    (root / "flowyml.yaml").write_text("")
    (root / "bench_pipeline.py").write_text(PIPELINE.format(n=args.groups))
    os.chdir(root)
    forget_projects()
    pipeline = load_reference(f"{root / 'bench_pipeline.py'}:pipeline")
    no_cache = StackConfig(backend="docker", cache=False)

    def submit(run_id: str) -> tuple[Any, Any, float]:
        orchestrator = DockerOrchestrator(base_image=BASE_IMAGE, max_parallel=1)
        started = time.time()
        submission = orchestrator.run_pipeline(pipeline, run_id, stack=no_cache)
        status = submission.wait(timeout=600)
        if not status.is_successful:
            sys.exit(f"run {run_id} ended {status.value}")
        return orchestrator, submission, started

    def group_overheads(orchestrator: Any, run_id: str) -> list[float]:
        details = orchestrator.get_run_details(run_id)
        results = orchestrator.step_results(run_id)
        found = []
        for i in range(args.groups):
            group = details["groups"][f"s{i}"]
            body_started = results[f"s{i}"].load_output(f"a{i}")
            found.append(body_started - _ts(group["submitted_at"]))
            group_split["engine"].append(_ts(group["started_at"]) - _ts(group["submitted_at"]))
            group_split["step_runner"].append(body_started - _ts(group["started_at"]))
        return found

    group_split: dict[str, list[float]] = {"engine": [], "step_runner": []}
    floor_split: dict[str, list[float]] = {
        "create_call": [],
        "start_call": [],
        "python_to_print": [],
    }
    orchestrator, first, _ = submit("bench-first")  # builds the image
    overhead: list[float] = []
    floor: list[float] = []
    round_ratios = []
    for number in range(args.rounds):
        run_id = f"bench-round-{number}"
        orchestrator, _, _ = submit(run_id)
        mine = group_overheads(orchestrator, run_id)
        bare = _floor(orchestrator.client(), first.metadata["image"], args.groups, floor_split)
        overhead += mine
        floor += bare
        round_ratios.append(round(statistics.median(mine) / statistics.median(bare), 2))

    orchestrator, second, submitted = submit("bench-second")
    groups = orchestrator.get_run_details("bench-second")["groups"]
    first_start = min(_ts(g["started_at"]) for g in groups.values())
    figures = {
        "groups": args.groups,
        "image": first.metadata["image"],
        "first_submission": {
            "image_reused": first.metadata["image_reused"],
            "build_seconds": first.metadata["build_seconds"],
        },
        "group_overhead_seconds": _summary(overhead),
        "docker_run_floor_seconds": _summary(floor),
        "overhead_to_floor_ratio": round(statistics.median(overhead) / statistics.median(floor), 2),
        "round_ratios": round_ratios,
        "group_split_seconds": {k: _summary(v) for k, v in group_split.items()},
        "floor_split_seconds": {k: _summary(v) for k, v in floor_split.items()},
        "second_submission": {
            "image_reused": second.metadata["image_reused"],
            "submit_seconds": second.metadata["submit_seconds"],
            "to_first_container_start_seconds": round(first_start - submitted, 4),
        },
    }
    text = json.dumps(figures, indent=2)
    print(text)
    out_dir = os.environ.get("FLOWYML_BENCH_OUT")
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "bench_docker.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
