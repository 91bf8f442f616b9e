"""Per-step overhead of pipelines written as users write them (run with `nox -s bench`).

A user's pipeline is a module of distinct, module-level step functions, run with the run
store and the artifact store on. This benchmark writes such modules (a 1,000-step chain;
1,000 independent steps and a join; 64 steps sleeping 0.1 s and a join) and runs each in a
fresh Python process in a fresh project folder:

- ``chain``: the first run of the process (imports, DAG, plugins: what ``flowyml run``
  pays), then warm runs with caching off, then warm fully cached runs;
- ``fanout``: warm runs of 1,000 independent steps + a join, caching off;
- ``naps``: warm runs of 64 steps sleeping 0.1 s + a join, caching off (the ideal is 0.1 s);
- ``floor``: a bare loop that calls each step function and writes its record to SQLite;
- ``dag``: validating and grouping a 100,000-step chain;
- ``store``: ``flowyml runs list`` and ``runs show`` (whole commands) on a run store of
  10,000 runs of 100 steps, and the run store's bytes per recorded step;
- ``rss``: the growth of a process's resident memory over 1,000 runs of a 10-step chain.

Figures are medians with min-max over the repetitions (one process each)::

    python bench/bench_overhead.py [--repeat 5] [--steps 1000] [--only chain,fanout,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

WARM_RUNS = 5


def chain_module(n: int) -> str:
    """A module of ``n`` distinct step functions, each taking the previous one's output."""
    lines = ["from flowyml import Pipeline, step", ""]
    for i in range(n):
        inputs = f'inputs=["a{i - 1}"], ' if i else ""
        lines += [
            f'@step({inputs}outputs=["a{i}"])',
            f"def s{i}({'prev' if i else ''}):",
            f"    return {'prev + 1' if i else '1'}",
            "",
        ]
    names = ", ".join(f"s{i}" for i in range(n))
    lines.append(f'pipeline = Pipeline("chain", steps=[{names}])')
    return "\n".join(lines) + "\n"


def fanout_module(n: int, body: str = "return {i}", imports: str = "") -> str:
    """``n`` independent distinct step functions and one join of all their outputs."""
    lines = [imports, "from flowyml import Pipeline, step", ""]
    for i in range(n):
        lines += [
            f'@step(outputs=["o{i}"], cache=False)',
            f"def f{i}():",
            "    " + body.format(i=i),
            "",
        ]
    inputs = ", ".join(f'"o{i}"' for i in range(n))
    lines += [
        f"@step(inputs=[{inputs}], outputs=['total'], cache=False)",
        "def join(*parts):",
        "    return len(parts)",
        "",
        f'pipeline = Pipeline("fanout", steps=[{", ".join(f"f{i}" for i in range(n))}, join])',
    ]
    return "\n".join(lines) + "\n"


CHAIN_DRIVER = textwrap.dedent(
    """
    import json, time
    t0 = time.perf_counter()
    from workload import pipeline
    run = pipeline.run("local", echo_logs=False, cache=False)
    first = time.perf_counter() - t0
    assert run.success, run.error
    warm, cached = [], []
    for _ in range({warm_runs}):
        t = time.perf_counter(); run = pipeline.run("local", echo_logs=False, cache=False)
        warm.append(time.perf_counter() - t); assert run.success
    pipeline.run("local", echo_logs=False)  # fills the cache
    for _ in range({warm_runs}):
        t = time.perf_counter(); run = pipeline.run("local", echo_logs=False)
        cached.append(time.perf_counter() - t)
        assert all(r.cached for r in run.step_results.values())
    print(json.dumps({{"first": first, "warm": min(warm), "cached": min(cached)}}))
    """
)

WARM_DRIVER = textwrap.dedent(
    """
    import json, time
    from workload import pipeline
    pipeline.run("local", echo_logs=False)
    warm = []
    for _ in range({warm_runs}):
        t = time.perf_counter(); run = pipeline.run("local", echo_logs=False)
        warm.append(time.perf_counter() - t); assert run.success, run.error
    print(json.dumps({{"warm": min(warm)}}))
    """
)

FLOOR_DRIVER = textwrap.dedent(
    """
    import json, sqlite3, tempfile, time
    import workload
    steps = [getattr(workload, f"s{{i}}") for i in range({n})]
    db = sqlite3.connect(tempfile.mktemp(), isolation_level=None)
    db.execute("CREATE TABLE r (run TEXT, step TEXT, value TEXT, started REAL, ended REAL)")
    t0 = time.perf_counter(); rows = []; value = None
    for i, member in enumerate(steps):
        started = time.time()
        value = member.func(value) if i else member.func()
        rows.append(("run", member.name, repr(value), started, time.time()))
        if len(rows) == 500:
            db.execute("BEGIN"); db.executemany("INSERT INTO r VALUES (?,?,?,?,?)", rows)
            db.execute("COMMIT"); rows = []
    db.execute("BEGIN"); db.executemany("INSERT INTO r VALUES (?,?,?,?,?)", rows)
    db.execute("COMMIT")
    print(json.dumps({{"floor": time.perf_counter() - t0}}))
    """
)


def _run(module: str, driver: str) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="flowyml-overhead-"))
    (folder / "flowyml.yaml").write_text("")
    (folder / "workload.py").write_text(module)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", driver],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def bench_chain(repeat: int, n: int) -> dict[str, object]:
    runs = [_run(chain_module(n), CHAIN_DRIVER.format(warm_runs=WARM_RUNS)) for _ in range(repeat)]
    floors = [_run(chain_module(n), FLOOR_DRIVER.format(n=n)) for _ in range(repeat)]
    per_step = {key: _stats([r[key] / n * 1e6 for r in runs]) for key in runs[0]}
    per_step["floor"] = _stats([f["floor"] / n * 1e6 for f in floors])
    return {"unit": "µs per step", "steps": n, **per_step}


def bench_fanout(repeat: int, n: int) -> dict[str, object]:
    module = fanout_module(n)
    runs = [_run(module, WARM_DRIVER.format(warm_runs=WARM_RUNS)) for _ in range(repeat)]
    return {
        "unit": "µs per step",
        "steps": n + 1,
        **_stats([r["warm"] / (n + 1) * 1e6 for r in runs]),
    }


def bench_naps(repeat: int, n: int) -> dict[str, object]:
    module = fanout_module(64, body="time.sleep(0.1); return {i}", imports="import time")
    runs = [_run(module, WARM_DRIVER.format(warm_runs=WARM_RUNS)) for _ in range(repeat)]
    return {"unit": "s wall", "steps": 65, **_stats([r["warm"] for r in runs])}


DAG_DRIVER = textwrap.dedent(
    """
    import json, time
    from flowyml import Pipeline, step, group_steps
    def make(i):
        def body(prev=None):
            return 1
        return step(name=f"s{{i}}", inputs=[f"a{{i-1}}"] if i else [], outputs=[f"a{{i}}"])(body)
    pipeline = Pipeline("big", steps=[make(i) for i in range({n})])
    t = time.perf_counter(); group_steps(pipeline.validate()); took = time.perf_counter() - t
    print(json.dumps({{"seconds": took}}))
    """
)

STORE_DRIVER = textwrap.dedent(
    """
    import json, os, sqlite3, subprocess, sys, time
    from flowyml.backend import open_project
    project = open_project(); store = project.run_store; store.db.flush()
    conn = sqlite3.connect(store.db.path); now = time.time(); steps = []
    runs = [(f"r{{r:05d}}", f"p{{r % 10}}", "local", "success", now + r, now + r + 1)
            for r in range({runs})]
    for run in runs:
        steps += [(run[0], f"s{{s}}", "success", now, now, 0.01, '{{"out": {{"uri": "file:///x"}}}}')
                  for s in range({steps})]
    conn.executemany("INSERT INTO runs (run_id, pipeline, backend, status, started_at,"
                     " finished_at) VALUES (?,?,?,?,?,?)", runs)
    conn.executemany("INSERT INTO step_runs (run_id, step, status, started_at, finished_at,"
                     " duration, outputs) VALUES (?,?,?,?,?,?,?)", steps)
    conn.commit(); conn.execute("VACUUM"); conn.close()
    size = os.path.getsize(store.db.path)
    def timed(*args):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "flowyml", *args], check=True,
                       capture_output=True)
        return time.perf_counter() - t
    print(json.dumps({{"list": min(timed("runs", "list") for _ in range(3)),
                      "show": min(timed("runs", "show", "r05000") for _ in range(3)),
                      "bytes_per_step": size / ({runs} * {steps})}}))
    """
)

RSS_DRIVER = textwrap.dedent(
    """
    import json, resource
    from workload import pipeline
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    for _ in range(20):
        pipeline.run("local", echo_logs=False, cache=False)
    start = rss()
    for _ in range({runs}):
        pipeline.run("local", echo_logs=False, cache=False)
    print(json.dumps({{"growth_MB": (rss() - start) / 1e6, "start_MB": start / 1e6}}))
    """
)


def bench_dag(repeat: int, n: int) -> dict[str, object]:
    runs = [_run("", DAG_DRIVER.format(n=100_000)) for _ in range(repeat)]
    return {
        "unit": "s to validate and group",
        "steps": 100_000,
        **_stats([r["seconds"] for r in runs]),
    }


def bench_store(repeat: int, n: int) -> dict[str, object]:
    result = _run("", STORE_DRIVER.format(runs=10_000, steps=100))
    return {"runs": 10_000, "steps_per_run": 100, **{k: round(v, 3) for k, v in result.items()}}


def bench_rss(repeat: int, n: int) -> dict[str, object]:
    result = _run(chain_module(10), RSS_DRIVER.format(runs=1000))
    return {"runs": 1000, "steps_per_run": 10, **{k: round(v, 2) for k, v in result.items()}}


BENCHES = {
    "chain": bench_chain,
    "fanout": bench_fanout,
    "naps": bench_naps,
    "dag": bench_dag,
    "store": bench_store,
    "rss": bench_rss,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args()
    results = {}
    for name in args.only.split(","):
        results[name] = BENCHES[name](args.repeat, args.steps)
        print(name, json.dumps(results[name]), flush=True)
    out = Path(os.environ.get("FLOWYML_BENCH_OUT", "bench/results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
