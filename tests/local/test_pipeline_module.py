"""A pipeline file's classes travel: one module name whether it runs as a script, through
``flowyml run`` or in a step runner's process, so artifacts pickled in one load in all."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowyml import LocalArtifactStore
from flowyml.errors import ArtifactLoadError
from flowyml.records.artifact_ref import ArtifactRef
from flowyml.storage.artifact import Artifact

PIPE = textwrap.dedent("""
    import sys
    from dataclasses import dataclass

    from flowyml import Pipeline, step

    SIZE = 3


    @dataclass
    class Model:
        weights: list[float]


    @step(outputs=["model"])
    def train() -> Model:
        return Model([float(i) for i in range(SIZE)])


    @step(inputs=["model"], outputs=["score"], cache=False)
    def evaluate(model: Model) -> float:
        return sum(model.weights)


    pipeline = Pipeline("travelling-model", steps=[train, evaluate])

    if __name__ == "__main__":
        run = pipeline.run(sys.argv[1] if len(sys.argv) > 1 else None)
        assert run.success, run.error
        model = run.outputs["model"]
        print("model", type(model).__module__, isinstance(model, Model), model.weights[:3])
        print("train cached", run.step_results["train"].cached)
""")


def python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def flowyml(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return python("-m", "flowyml", *args, cwd=cwd)


def succeeded(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def pipe(project: Path) -> Path:
    path = project / "pipe.py"
    path.write_text(PIPE)
    return path


@pytest.fixture(params=["fork-server", "spawn"])
def isolated(request: pytest.FixtureRequest, project: Path) -> str:
    """The subprocess backend with each start method, as a stack name."""
    (project / "flowyml.yaml").write_text(
        f"stacks:\n  isolated:\n    backend: subprocess\n"
        f"    settings: {{start_method: {request.param}}}\n"
    )
    return "isolated"


def test_script_artifacts_load_under_the_cli_from_the_cache(pipe, project):
    assert "model __main__ True [0.0, 1.0, 2.0]" in succeeded(python("pipe.py", cwd=project))
    out = succeeded(flowyml("run", "pipe.py", cwd=project))
    assert re.search(r"^train\s+cached", out, re.M) and "score:\n3.0" in out


def test_cli_artifacts_load_in_the_script_from_the_cache(pipe, project):
    succeeded(flowyml("run", "pipe.py", cwd=project))
    out = succeeded(python("pipe.py", cwd=project))
    assert "model __main__ True [0.0, 1.0, 2.0]" in out and "train cached True" in out


def test_subprocess_outputs_load_in_the_script_as_its_own_classes(pipe, project, isolated):
    out = succeeded(python("pipe.py", isolated, cwd=project))
    assert "model __main__ True [0.0, 1.0, 2.0]" in out and "train cached False" in out


def test_a_module_run_with_dash_m_shares_artifacts_with_the_script(pipe, project, isolated):
    assert "model __main__ True" in succeeded(python("-m", "pipe", isolated, cwd=project))
    out = succeeded(python("pipe.py", cwd=project))
    assert "model __main__ True" in out and "train cached True" in out


def test_corrupt_artifact_is_a_load_error_naming_artifact_and_step(pipe, project):
    pipe.write_text(PIPE.replace("SIZE = 3", "SIZE = 20_000"))  # big enough to be a file
    succeeded(python("pipe.py", cwd=project))
    (stored,) = (project / ".flowyml").rglob("objects/*/*.pkl")
    stored.write_bytes(stored.read_bytes()[:1000])
    with pytest.raises(ArtifactLoadError) as raised:
        ArtifactRef(stored.as_uri(), "", 0).load()
    message = str(raised.value)
    assert message.startswith(
        f"cannot load output 'model' of step 'train' ({stored.as_uri()}): unpickling it failed"
    )
    assert "bump its cache_version" in message


def test_missing_class_is_a_load_error_naming_artifact_step_and_remedy(tmp_path, monkeypatch):
    from flowyml.definition.references import load_module_from_path

    source = tmp_path / "models_gone.py"
    source.write_text("from dataclasses import dataclass\n\n@dataclass\nclass Model:\n    w: int\n")
    monkeypatch.setattr(sys, "path", list(sys.path))  # loading by path prepends its folder
    monkeypatch.delitem(sys.modules, "flowyml_file_models_gone", raising=False)
    module = load_module_from_path(str(source))
    store = LocalArtifactStore(tmp_path / "artifacts")
    ref = store.save(module.Model(1), what="output 'model' of step 'train'")
    assert store.load(ref.uri) == module.Model(1)
    monkeypatch.delattr(module, "Model")
    with pytest.raises(ArtifactLoadError) as raised:
        store.load(ref.uri)
    message = str(raised.value)
    assert message.startswith(f"cannot load output 'model' of step 'train' ({ref.uri}): ")
    assert "has no attribute 'Model'" in message and "bump its cache_version" in message


def test_unreadable_artifact_without_a_header_is_named_by_its_artifact(tmp_path):
    store = LocalArtifactStore(tmp_path / "artifacts")
    ref = store.write_object([b"not a pickle"], ".pkl")
    artifact = Artifact("model", "", ref=ArtifactRef(ref.uri, ref.digest, ref.size, store))
    with pytest.raises(ArtifactLoadError, match=r"^cannot load artifact 'model' \(file://"):
        _ = artifact.value


def test_artifacts_pickled_before_headers_still_load(tmp_path):
    store = LocalArtifactStore(tmp_path / "artifacts")
    ref = store.write_object([pickle.dumps({"weights": (1, 2)}, protocol=5)], ".pkl")
    assert store.load(ref.uri) == {"weights": (1, 2)}
