"""Test sessions: one per distribution, each installed from its folder as a user would.

nox                 # lint, typecheck and every distribution's tests
nox -s local        # one session
nox -s bench        # benchmarks (not part of the default run)
"""

from __future__ import annotations

import os
import time

import nox
from nox.command import CommandFailed

nox.options.sessions = [
    "lint",
    "typecheck",
    "core",
    "local",
    "e2e",
    "faults",
    "docker",
    "gcp",
    "dask",
    "k8s",
    "aws",
    "ui",
]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"
TEST_DEPS = ["pytest>=8", "numpy", "hypothesis"]
AUDIT_PLUGIN = "./tests/fixtures/flowyml-audit"  # records run events in FLOWYML_AUDIT_FILE
FIXTURE_PLUGINS = ["./tests/fixtures/flowyml-fake", "./tests/fixtures/flowyml-broken", AUDIT_PLUGIN]


def _install(session: nox.Session, *requirements: str) -> None:
    """pip install, with our own distributions built by the venv's setuptools.

    Every third-party dependency comes as a wheel; only the folders here are built. Building
    them without isolation takes no setuptools download per folder, so a PyPI file that
    arrives truncated (seen on a new setuptools release) cannot fail a session. A download
    that fails is tried again twice, a few seconds apart, before the session fails.
    """
    for attempt in range(3):
        try:
            session.install("setuptools>=68")  # virtualenv seeds it on Python 3.11
            session.install("--no-build-isolation", *requirements)
            return
        except CommandFailed:
            if attempt == 2:
                raise
            session.warn(f"pip install failed; trying again ({attempt + 2} of 3)")
            time.sleep(10 * (attempt + 1))


def _pytest(session: nox.Session, *paths: str) -> None:
    session.run("pytest", *paths, *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    _install(session, "ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy: strict on flowyml-core, plain on the plugins."""
    _install(
        session,
        "mypy>=1.10",
        "types-PyYAML",
        "pytest>=8",  # flowyml.testing is a pytest suite: its fixtures need pytest's types
        "./flowyml-core",
        "./flowyml-local",
        "./flowyml-docker",
        "./flowyml-gcp",
        "./flowyml-dask",
        "./flowyml-k8s",
        "./flowyml-aws",
        "./flowyml-ui",
    )
    session.run(
        "mypy",
        "flowyml-core/src/flowyml",
        "flowyml-local/src/flowyml_local",
        "flowyml-docker/src/flowyml_docker",
        "flowyml-gcp/src/flowyml_gcp",
        "flowyml-dask/src/flowyml_dask",
        "flowyml-k8s/src/flowyml_k8s",
        "flowyml-aws/src/flowyml_aws",
        "flowyml-ui/src/flowyml_ui",
    )


@nox.session(python=PYTHON)
def core(session: nox.Session) -> None:
    """flowyml-core alone: no backend plugin installed."""
    _install(session, *TEST_DEPS, "./flowyml-core")
    _pytest(session, "tests/core")


@nox.session(python=PYTHON)
def local(session: nox.Session) -> None:
    """flowyml-local, with third-party plugins (one broken, one recording run events)
    installed beside it."""
    _install(session, *TEST_DEPS, "./flowyml-core", "./flowyml-local", *FIXTURE_PLUGINS)
    _pytest(session, "tests/local")


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """The example pipelines on every installed backend give identical outputs."""
    _install(session, *TEST_DEPS, "./flowyml-core", "./flowyml-local")
    _pytest(session, "tests/e2e")


@nox.session(python=PYTHON)
def faults(session: nox.Session) -> None:
    """The fault suite: steps and owning processes that fail, exit, hang or are killed; what
    is recorded and that nothing is left running."""
    _install(session, *TEST_DEPS, "./flowyml-core", "./flowyml-local")
    _pytest(session, "tests/faults")


@nox.session(python=PYTHON)
def docker(session: nox.Session) -> None:
    """flowyml-docker on the real engine (`.ci/services` first); CI=true turns skips into
    failures, so CI really runs them."""
    _install(
        session, *TEST_DEPS, "./flowyml-core", "./flowyml-local", "./flowyml-docker", AUDIT_PLUGIN
    )
    _pytest(session, "tests/docker")


@nox.session(python=PYTHON)
def gcp(session: nox.Session) -> None:
    """flowyml-gcp against loopback Vertex AI, Cloud Logging and GCS servers whose jobs
    really run on the Docker engine; CI=true turns skips into failures."""
    _install(
        session,
        *TEST_DEPS,
        "gcp-storage-emulator",
        "./flowyml-core",
        "./flowyml-local",
        "./flowyml-docker",
        "./flowyml-gcp",
    )
    _pytest(session, "tests/gcp")


@nox.session(python=PYTHON)
def dask(session: nox.Session) -> None:
    """flowyml-dask against a real scheduler and two workers started as processes on
    127.0.0.1, and the default LocalCluster; CI=true turns skips into failures."""
    _install(session, *TEST_DEPS, "./flowyml-core", "./flowyml-local", "./flowyml-dask")
    _pytest(session, "tests/dask")


@nox.session(python=PYTHON)
def k8s(session: nox.Session) -> None:
    """flowyml-k8s against a loopback Kubernetes API server whose pods run on the Docker
    engine, through the official client and Debian's kubectl (`.ci/services` first);
    CI=true turns skips into failures."""
    _install(
        session,
        *TEST_DEPS,
        "kubernetes==37.0.1",
        "python-dateutil<3",
        "docker>=7",
        "./flowyml-core",
        "./flowyml-local",
        "./flowyml-docker",
        "./flowyml-k8s",
    )
    _pytest(session, "tests/k8s")


@nox.session(python=PYTHON)
def aws(session: nox.Session) -> None:
    """flowyml-aws against moto (S3, CloudWatch Logs, ECR, STS, Secrets Manager) and a
    loopback SageMaker whose training jobs run on the Docker engine; CI=true turns skips
    into failures."""
    _install(
        session,
        *TEST_DEPS,
        "boto3==1.44.8",
        "botocore==1.44.8",
        "moto[server]==5.2.5",
        "docker>=7",
        "./flowyml-core",
        "./flowyml-local",
        "./flowyml-docker",
        "./flowyml-aws",
    )
    _pytest(session, "tests/aws")


@nox.session(python=PYTHON)
def ui(session: nox.Session) -> None:
    """flowyml-ui: `flowyml ui` started as a process and driven from Debian's headless
    Chromium (`.ci/services` installs it) through Playwright, which downloads no browser;
    runs on local, subprocess and docker (the engine of `.ci/services`); CI=true turns
    skips into failures."""
    _install(
        session,
        *TEST_DEPS,
        "playwright==1.65.*",
        "httpx",
        "pandas",  # data frames are previewed as tables (stored as parquet)
        "pyarrow",
        "./flowyml-core",
        "./flowyml-local",
        "./flowyml-docker",
        "./flowyml-ui",
    )
    _pytest(session, "tests/ui")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks; figures go to BENCHMARKS.md by hand, with the command that made them."""
    _install(session, "numpy", "./flowyml-core", "./flowyml-local", "./flowyml-docker")
    env = {"FLOWYML_BENCH_OUT": os.path.join("bench", "results")}
    session.run("python", "bench/bench_local.py", *session.posargs, env=env)
    session.run("python", "bench/bench_overhead.py", env=env)
    session.run("python", "bench/bench_docker.py", env=env)


@nox.session(name="bench-peers", python=PYTHON)
def bench_peers(session: nox.Session) -> None:
    """The same workloads on FlowyML Orchestrators, flowyml 2.2.1, Prefect 3, Dagster, ZenML
    and Dask's threaded scheduler (the floor), each in a virtual environment of its own
    under bench/.venvs (about 40 minutes with --repeat 3, over 20 of them ZenML's)."""
    session.run("python", "bench/peers/run.py", *session.posargs)
