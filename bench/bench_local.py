"""Benchmarks of the local backends (run with `nox -s bench`, or directly).

Every measurement runs in a fresh Python process in a fresh project folder, so nothing
is shared between repetitions; the figures are medians with their min-max spread.

    python bench/bench_local.py [--repeat 5] [--only chain,fanout,...,preload]
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
import time
from pathlib import Path

CHAIN = textwrap.dedent(
    """
    import json, sys, time
    from flowyml import Pipeline, step
    N = {n}
    def make(i):
        def body(prev=None):
            return (prev or 0) + 1
        return step(name=f"s{{i}}", inputs=[f"a{{i-1}}"] if i else [], outputs=[f"a{{i}}"])(body)
    pipeline = Pipeline("chain", steps=[make(i) for i in range(N)])
    t0 = time.perf_counter(); first = pipeline.run(echo_logs=False); t1 = time.perf_counter()
    assert first.outputs[f"a{{N-1}}"] == N
    second = pipeline.run(echo_logs=False); t2 = time.perf_counter()
    assert all(r.cached for r in second.step_results.values())
    third = pipeline.run(echo_logs=False); t3 = time.perf_counter()
    def make_uncached(i):
        def body(prev=None):
            return (prev or 0) + 1
        return step(name=f"u{{i}}", inputs=[f"b{{i-1}}"] if i else [], outputs=[f"b{{i}}"],
                    cache=False)(body)
    uncached = Pipeline("uncached", steps=[make_uncached(i) for i in range(N)])
    t4 = time.perf_counter(); fourth = uncached.run(echo_logs=False); t5 = time.perf_counter()
    assert fourth.outputs[f"b{{N-1}}"] == N
    assert not any(r.cached for r in fourth.step_results.values())
    print(json.dumps({{"first": t1 - t0, "cached": t2 - t1, "cached_warm": t3 - t2,
                      "uncached_warm": t5 - t4}}))
    """
)

FLOOR = textwrap.dedent(
    """
    import json, sqlite3, sys, tempfile, time
    from pydantic import BaseModel
    class Record(BaseModel):
        step: str
        value: int
        duration: float
    N = {n}
    db = sqlite3.connect(tempfile.mktemp(), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE r (step TEXT, value INT, duration REAL)")
    def step(x):
        return x + 1
    t0 = time.perf_counter()
    value, rows = 0, []
    for i in range(N):
        s = time.perf_counter()
        value = step(value)
        record = Record(step=f"s{{i}}", value=value, duration=time.perf_counter() - s)
        rows.append((record.step, record.value, record.duration))
        if len(rows) >= 500:
            db.execute("BEGIN"); db.executemany("INSERT INTO r VALUES (?,?,?)", rows)
            db.execute("COMMIT"); rows = []
    db.execute("BEGIN"); db.executemany("INSERT INTO r VALUES (?,?,?)", rows); db.execute("COMMIT")
    print(json.dumps({{"floor": time.perf_counter() - t0}}))
    """
)

FANOUT = textwrap.dedent(
    """
    import json, time
    from flowyml import Pipeline, step
    def branch(i):
        def work():
            time.sleep(0.1)
            return i
        return step(name=f"b{{i}}", outputs=[f"o{{i}}"], cache=False)(work)
    @step(inputs=[f"o{{i}}" for i in range(64)], outputs=["total"], cache=False)
    def join(*parts):
        return sum(parts)
    pipeline = Pipeline("fanout", steps=[*[branch(i) for i in range(64)], join])
    pipeline.run(echo_logs=False)  # warm-up: imports and the database
    t0 = time.perf_counter(); run = pipeline.run(echo_logs=False); t1 = time.perf_counter()
    assert run.outputs["total"] == sum(range(64))
    print(json.dumps({{"wall": t1 - t0}}))
    """
)

BIGARRAY = textwrap.dedent(
    """
    import json, resource, time
    import numpy as np
    from flowyml import Pipeline, step
    from flowyml.project.folder import open_project
    SIZE = 200 * 1024 * 1024
    @step(outputs=["array"], cache=False)
    def produce():
        return np.ones(SIZE // 8)
    @step(inputs=["array"], outputs=["total"], cache=False)
    def consume(array):
        return float(array.sum())
    pipeline = Pipeline("big", steps=[produce, consume])
    t0 = time.perf_counter(); run = pipeline.run(echo_logs=False); wall = time.perf_counter() - t0
    assert run.outputs["total"] == SIZE // 8
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    store = open_project().artifact_store()
    array = np.arange(SIZE // 8, dtype=np.float64)
    t0 = time.perf_counter(); store.save(array); write = time.perf_counter() - t0
    # The floor of any write of new data into the page cache here: touching memory the
    # process never used (a fresh VM hands out new pages at a few hundred MB/s).
    t0 = time.perf_counter(); fresh = np.ones(SIZE // 8); touch = time.perf_counter() - t0
    print(json.dumps({{"wall": wall, "peak_rss": peak, "write_seconds": write, "size": SIZE,
                      "touch_seconds": touch}}))
    """
)

DAG10K = textwrap.dedent(
    """
    import json, time
    from flowyml import Pipeline, group_steps, step
    def make(i):
        def body(prev=None):
            return prev
        return step(name=f"s{{i}}", inputs=[f"a{{i-1}}"] if i else [], outputs=[f"a{{i}}"],
                    execution_group=f"g{{i // 10}}")(body)
    steps = [make(i) for i in range(10_000)]
    pipeline = Pipeline("big", steps=steps)
    t0 = time.perf_counter()
    dag = pipeline.validate()
    groups = group_steps(dag)
    elapsed = time.perf_counter() - t0
    assert len(groups) == 1000
    print(json.dumps({{"seconds": elapsed}}))
    """
)

SUBPROCESS = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, ".")
    import subchain
    t0 = time.perf_counter(); run = subchain.pipeline.run("subprocess", echo_logs=False)
    t1 = time.perf_counter(); again = subchain.pipeline.run("subprocess", echo_logs=False)
    t2 = time.perf_counter()
    assert run.success and again.success, run.error or again.error
    print(json.dumps({{"first": t1 - t0, "warm": t2 - t1, "steps": len(run.step_results)}}))
    """
)

SUBCHAIN_MODULE = textwrap.dedent(
    """
    from flowyml import Pipeline, step
    @step(outputs=["a0"], cache=False)
    def s0():
        return 0
    @step(inputs=["a0"], outputs=["a1"], cache=False)
    def s1(a0):
        return a0 + 1
    @step(inputs=["a1"], outputs=["a2"], cache=False)
    def s2(a1):
        return a1 + 1
    @step(inputs=["a2"], outputs=["a3"], cache=False)
    def s3(a2):
        return a2 + 1
    @step(inputs=["a3"], outputs=["a4"], cache=False)
    def s4(a3):
        return a3 + 1
    pipeline = Pipeline("subchain", steps=[s0, s1, s2, s3, s4])
    """
)

# A 20-step chain on `subprocess` whose module does (or does not) import numpy: the fork
# server imports the module once, so the import should cost the run once, not per step.
PRELOAD_MODULE = textwrap.dedent(
    """
    {imports}
    from flowyml import Pipeline, step
    def make(i):
        def body(prev=None):
            return (prev or 0) + 1
        return step(name=f"s{{i}}", inputs=[f"a{{i-1}}"] if i else [], outputs=[f"a{{i}}"],
                    cache=False)(body)
    for i in range(20):
        globals()[f"s{{i}}"] = make(i)
    pipeline = Pipeline("chain", steps=[globals()[f"s{{i}}"] for i in range(20)])
    """
)

PRELOAD = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, ".")
    import chain
    t0 = time.perf_counter(); run = chain.pipeline.run("subprocess", echo_logs=False)
    t1 = time.perf_counter(); again = chain.pipeline.run("subprocess", echo_logs=False)
    t2 = time.perf_counter()
    assert run.outputs["a19"] == again.outputs["a19"] == 20, run.error or again.error
    print(json.dumps({{"first": t1 - t0, "warm": t2 - t1}}))
    """
)


def _run(code: str, cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code.format()], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _fresh() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="flowyml-bench-"))
    (folder / "flowyml.yaml").write_text("")
    return folder


def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def bench_chain(repeat: int, n: int = 1000) -> dict:
    runs = [_run(CHAIN.replace("{n}", str(n)), _fresh()) for _ in range(repeat)]
    floors = [_run(FLOOR.replace("{n}", str(n)), _fresh())["floor"] for _ in range(repeat)]
    per_step = {k: _stats([r[k] / n * 1e6 for r in runs]) for k in runs[0]}
    per_step["floor"] = _stats([f / n * 1e6 for f in floors])
    return {"unit": "µs per step", "steps": n, **per_step}


def bench_fanout(repeat: int) -> dict:
    return {"unit": "s wall", **_stats([_run(FANOUT, _fresh())["wall"] for _ in range(repeat)])}


def bench_bigarray(repeat: int) -> dict:
    runs = [_run(BIGARRAY, _fresh()) for _ in range(repeat)]
    size = runs[0]["size"]
    return {
        "wall_s": _stats([r["wall"] for r in runs]),
        "peak_rss_ratio": _stats([r["peak_rss"] / size for r in runs]),
        "write_MB_per_s": _stats([size / 1e6 / r["write_seconds"] for r in runs]),
        "fresh_memory_touch_MB_per_s": _stats([size / 1e6 / r["touch_seconds"] for r in runs]),
    }


def bench_import(repeat: int) -> dict:
    cwd = _fresh()
    flowyml = [_timed([sys.executable, "-c", "import flowyml"], cwd) for _ in range(repeat)]
    api = [
        _timed([sys.executable, "-c", "from flowyml import Pipeline, step, Context"], cwd)
        for _ in range(repeat)
    ]
    bare = [_timed([sys.executable, "-c", "pass"], cwd) for _ in range(repeat)]
    return {
        "unit": "ms",
        "import_flowyml": _stats([t * 1e3 for t in flowyml]),
        "import_api": _stats([t * 1e3 for t in api]),
        "python_startup": _stats([t * 1e3 for t in bare]),
    }


def bench_dag(repeat: int) -> dict:
    return {"unit": "s", **_stats([_run(DAG10K, _fresh())["seconds"] for _ in range(repeat)])}


def bench_subprocess(repeat: int) -> dict:
    first, warm, floor = [], [], []
    for _ in range(repeat):
        folder = _fresh()
        (folder / "subchain.py").write_text(SUBCHAIN_MODULE)
        result = _run(SUBPROCESS, folder)
        first.append(result["first"] / result["steps"])
        warm.append(result["warm"] / result["steps"])
        floor.append(_timed([sys.executable, "-c", "pass"], folder))
    return {
        "unit": "ms per step",
        "first_run_per_step": _stats([p * 1e3 for p in first]),
        "warm_per_step": _stats([p * 1e3 for p in warm]),
        "python_start_floor": _stats([f * 1e3 for f in floor]),
        "warm_ratio_to_floor": _stats([w / f for w, f in zip(warm, floor, strict=True)]),
    }


def bench_preload(repeat: int) -> dict:
    runs: dict[str, list[dict]] = {"plain": [], "numpy": []}
    for _ in range(repeat):
        for name, imports in (("plain", ""), ("numpy", "import numpy")):
            folder = _fresh()
            (folder / "chain.py").write_text(PRELOAD_MODULE.format(imports=imports))
            runs[name].append(_run(PRELOAD, folder))
    result: dict = {"unit": "s per 20-step run", "steps": 20}
    for name, measured in runs.items():
        result[f"{name}_first"] = _stats([r["first"] for r in measured])
        result[f"{name}_warm"] = _stats([r["warm"] for r in measured])
    for kind in ("first", "warm"):
        result[f"ratio_{kind}"] = _stats(
            [n[kind] / p[kind] for n, p in zip(runs["numpy"], runs["plain"], strict=True)]
        )
    return result


BENCHES = {
    "chain": bench_chain,
    "fanout": bench_fanout,
    "bigarray": bench_bigarray,
    "import": bench_import,
    "dag": bench_dag,
    "subprocess": bench_subprocess,
    "preload": bench_preload,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default=",".join(BENCHES))
    args = parser.parse_args()
    results = {}
    for name in args.only.split(","):
        results[name] = BENCHES[name](args.repeat)
        print(name, json.dumps(results[name], indent=1), flush=True)
    out = Path(os.environ.get("FLOWYML_BENCH_OUT", "bench/results"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "local.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
