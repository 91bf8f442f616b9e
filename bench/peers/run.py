"""Peer benchmark driver: every tool x workload, N fresh processes each, one Markdown table.

Usage (host ``python3``, standard library only)::

    python3 bench/peers/run.py [--repeat 5] [--tools KEY ...] [--workloads W1 ...]
                               [--variants off|on|only] [--timeout 300]

Sets up the tools' venvs (`setup_envs`), then runs ``VENV/bin/python tool_<key>.py W?`` once
per measurement, in a fresh scratch directory (W3 runs its fill / rerun / change phases as
three processes sharing one directory, so the cache is on disk as in real use).  Repeats
are interleaved across tools so drift hits all columns alike.  Results go to
``bench/results/peers-<timestamp>.{json,md}``; the table is also printed.  Exit status is 1
if any measurement failed (it is still reported in the table).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import report
import setup_envs
from tools import REPO_ROOT, ToolSpec, select

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6")
W3_PHASES = ("fill", "rerun", "change")
DEFAULT_OUT_DIR = REPO_ROOT / "bench" / "results"
ISOLATED_PREFIXES = (
    "PREFECT_",
    "FLOWYML_",
    "DAGSTER_",
    "ZENML_",
    "DASK_",
    "PYTHONPATH",
    "VIRTUAL_ENV",
)


def child_env() -> dict[str, str]:
    """The caller's environment minus anything that would configure a tool from outside."""
    return {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}


def run_process(
    python: Path, spec: ToolSpec, args: list[str], home: Path, timeout: float, tag: str
) -> tuple[dict[str, Any] | None, float, str]:
    """Run one adapter process; return (its JSON result or None, wall seconds, problem)."""
    out_path, err_path = home / f"stdout-{tag}.txt", home / f"stderr-{tag}.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(python), str(spec.script), *args, "--home", str(home)],
            stdout=out,
            stderr=err,
            cwd=home,
            env=child_env(),
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
            problem = ""
        except subprocess.TimeoutExpired:
            problem = f"timeout > {timeout:g} s"
        finally:
            wall = time.perf_counter() - start
            # The adapter may have started helpers (Prefect's API server) in its session.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines = [ln for ln in out_path.read_text(errors="replace").splitlines() if ln.startswith("{")]
    if problem:
        return None, wall, problem
    if not lines:
        tail = err_path.read_text(errors="replace")[-1500:]
        return None, wall, f"no result (exit {proc.returncode}); stderr: {tail}"
    return json.loads(lines[-1]), wall, ""


def measure(
    python: Path, spec: ToolSpec, workload: str, variant: str, repeat: int, timeout: float
) -> report.Sample:
    """One sample of `workload` for `spec` (W3: its three phases)."""
    sample = report.Sample(spec.key, workload, variant, repeat)
    home = Path(tempfile.mkdtemp(prefix=f"peer-{spec.key}-{workload}-"))
    try:
        for phase in W3_PHASES if workload == "W3" else ("",):
            args = [workload, "--variant", variant] + (["--phase", phase] if phase else [])
            result, wall, problem = run_process(python, spec, args, home, timeout, phase or "run")
            prefix, where = (f"{phase}.", f"{phase}: ") if phase else ("", "")
            sample.metrics[f"{prefix}process_s"] = wall
            if result is None:
                sample.status = "timeout" if problem.startswith("timeout") else "error"
                sample.detail = where + problem
                return sample
            sample.versions.update(result.get("versions", {}))
            sample.metrics.update({prefix + k: v for k, v in result.get("metrics", {}).items()})
            if "unsupported" in result:
                sample.status, sample.detail = "unsupported", where + result["unsupported"]
                return sample
            if "error" in result:
                sample.status, sample.detail = "error", where + result["error"]
                sample.debug = result.get("traceback", "") + result.get("log_tail", "")
                return sample
        return sample
    finally:
        shutil.rmtree(home, ignore_errors=True)


def adapter_notes(spec: ToolSpec) -> str:
    """The adapter's module docstring (how the tool is driven), read without importing it."""
    doc = ast.get_docstring(ast.parse(spec.script.read_text())) or "(no notes)"
    return f"### {spec.label}\n\n{doc}\n"


def render(samples: list[report.Sample], specs: list[ToolSpec], meta: dict[str, Any]) -> str:
    """The Markdown result document."""
    versions = {
        key: ", ".join(f"{k} {v}" for k, v in sorted(found.items()))
        for key, found in report.versions(samples).items()
    }
    lines = [
        "# Peer orchestration benchmark",
        "",
        f"{meta['started']} · {meta['cpus']} CPUs · host Python {meta['python']} · "
        f"{meta['repeat']} repeats · timeout {meta['timeout']:g} s per process",
        "",
        "Each cell: median (min-max) over the repeats; every repeat is a fresh process "
        "with fresh tool state (W3: three processes sharing one cache directory).",
        "",
        report.table(samples, [(s.key, s.label) for s in specs]),
        "",
        "Versions: " + "; ".join(f"{s.label}: {versions.get(s.key, '?')}" for s in specs),
        "",
        "## How each tool was driven",
        "",
    ]
    lines += [adapter_notes(s) for s in specs]
    return "\n".join(lines)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tools", nargs="*", help="tool keys (default: all registered)")
    parser.add_argument("--workloads", nargs="*", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument(
        "--variants",
        choices=("off", "on", "only"),
        default="off",
        help="registered extra variants: skip them, add them, or run only them",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per process")
    parser.add_argument("--cache-dir", type=Path, default=setup_envs.DEFAULT_CACHE_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parse(argv)
    specs = select(args.tools)
    pythons = {s.key: setup_envs.ensure_env(s, args.cache_dir.resolve()) for s in specs}
    plan = [
        (spec, w, v)
        for spec in specs
        for w in args.workloads
        for v in (() if args.variants == "only" else ("default",))
        + (spec.variants.get(w, ()) if args.variants != "off" else ())
    ]
    meta = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "repeat": args.repeat,
        "timeout": args.timeout,
        "workloads": args.workloads,
        "variants": args.variants,
    }
    samples: list[report.Sample] = []
    total = args.repeat * len(plan)
    for rep in range(args.repeat):
        for spec, workload, variant in plan:
            sample = measure(pythons[spec.key], spec, workload, variant, rep, args.timeout)
            samples.append(sample)
            shown = {
                k: round(v, 3)
                for k, v in sample.metrics.items()
                if k.split(".")[-1] in ("run_s", "executed", "import_s")
            }
            print(
                f"[{len(samples)}/{total}] {spec.key} {workload} {variant} #{rep + 1}: "
                f"{sample.status} {sample.detail[:120]} {shown}",
                file=sys.stderr,
                flush=True,
            )
    meta["finished"] = datetime.now().isoformat(timespec="seconds")
    markdown = render(samples, specs, meta)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"peers-{datetime.now():%Y%m%d-%H%M%S}"
    payload = {"meta": meta, "samples": [s.to_json() for s in samples]}
    stem.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    stem.with_suffix(".md").write_text(markdown)
    print(markdown)
    print(f"\nwritten: {stem}.md, {stem}.json", file=sys.stderr)
    # A peer that fails a workload is a result, shown in the table; our own failing is not.
    return 1 if any(s.status == "error" and s.tool == "ours" for s in samples) else 0


if __name__ == "__main__":
    raise SystemExit(main())
