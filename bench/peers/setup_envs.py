"""Create (or reuse) one virtual environment per benchmarked tool.

Usage: ``python3 bench/peers/setup_envs.py [--cache-dir DIR] [--tools KEY ...] [--force]``

Each tool gets ``DIR/<key>/`` (default ``bench/.venvs/``), made with the standard ``venv``
module (as ``python3 -m venv`` does), into which its pinned requirements are installed.  A
marker file records what was installed; a venv whose marker matches is reused without pip.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import venv
from pathlib import Path

from tools import REPO_ROOT, ToolSpec, select

DEFAULT_CACHE_DIR = REPO_ROOT / "bench" / ".venvs"
MARKER = ".bench-requirements.json"


def venv_python(cache_dir: Path, spec: ToolSpec) -> Path:
    """Interpreter of `spec`'s environment."""
    return cache_dir / spec.key / "bin" / "python"


def ensure_env(spec: ToolSpec, cache_dir: Path, *, force: bool = False) -> Path:
    """Make sure `spec`'s venv exists with its requirements; return its interpreter."""
    env_dir = cache_dir / spec.key
    python = venv_python(cache_dir, spec)
    marker = env_dir / MARKER
    wanted = json.dumps(list(spec.requirements))
    if not force and python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if force or not python.exists():
        print(f"[setup] creating venv {env_dir}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    print(f"[setup] installing {' '.join(spec.requirements)} into {env_dir}", file=sys.stderr)
    log = env_dir / "pip-install.log"
    pip_args = list(spec.requirements)
    with log.open("w") as out:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *pip_args],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"pip install for {spec.key} failed (see {log}):\n{log.read_text()[-3000:]}"
        )
    marker.write_text(wanted)
    return python


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--tools", nargs="*", help="tool keys (default: all)")
    parser.add_argument("--force", action="store_true", help="recreate the venvs")
    args = parser.parse_args(argv)
    for spec in select(args.tools):
        print(f"{spec.key}: {ensure_env(spec, args.cache_dir.resolve(), force=args.force)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
