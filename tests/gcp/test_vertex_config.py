"""The VertexAIOrchestrator's constructor contract, settings and validate()."""

from __future__ import annotations

import inspect
import logging

import pytest

from flowyml.errors import ConfigError
from flowyml_gcp import VertexAIOrchestrator

GOOD = {
    "project_id": "my-project-123",
    "region": "europe-west1",
    "staging_bucket": "gs://my-bucket/staging",
    "service_account": "runner@my-project-123.iam.gserviceaccount.com",
    "network": "projects/123456/global/networks/default",
    "encryption_key": "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k",
    "credentials_file": None,
    "insecure": True,
    "vertex_endpoint": "127.0.0.1:1",
}


def test_constructor_matches_the_api_reference():
    params = list(inspect.signature(VertexAIOrchestrator.__init__).parameters.values())[1:]
    first = [(p.name, p.default) for p in params[:7]]
    assert first == [
        ("name", "vertex_ai"),
        ("project_id", None),
        ("region", "europe-west1"),
        ("service_account", None),
        ("network", None),
        ("encryption_key", None),
        ("staging_bucket", None),
    ]
    assert all(p.kind is inspect.Parameter.VAR_KEYWORD for p in params[7:])


def test_methods_match_the_api_reference():
    def sig(name):
        return str(inspect.signature(getattr(VertexAIOrchestrator, name)))

    assert sig("get_run_logs") == "(self, job_id: 'str', max_entries: 'int' = 200) -> 'str'"
    assert sig("stream_logs").startswith("(self, job_id: 'str', poll_interval: 'float' = 5.0)")
    assert sig("stop_run") == "(self, job_id: 'str', graceful: 'bool' = True) -> 'None'"
    assert "resources: 'ResourceConfig | None' = None" in sig("run_pipeline")
    assert sig("validate") == "(self) -> 'bool'"


def test_positional_arguments_follow_the_reference_order():
    orch = VertexAIOrchestrator("vx", "proj-abcdef", "us-central1", None, None, None, "gs://b")
    assert (orch.name, orch.project_id, orch.region, orch.staging_bucket) == (
        "vx",
        "proj-abcdef",
        "us-central1",
        "gs://b",
    )


def test_unknown_setting_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="unknown key 'projectid'"):
        VertexAIOrchestrator(projectid="x")


def test_from_config_builds_from_settings():
    orch = VertexAIOrchestrator.from_config({"project_id": "proj-abcdef", "max_parallel": 3})
    assert orch.config.max_parallel == 3 and orch.project_id == "proj-abcdef"


def test_valid_configuration_validates():
    orch = VertexAIOrchestrator(**GOOD)
    assert orch.validate(), orch.validation_errors
    assert orch.validation_errors == []


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("project_id", None, "project_id is not set"),
        ("project_id", "My_Project", "is not a project id"),
        ("region", "europe west", "is not a region"),
        ("staging_bucket", None, "staging_bucket is not set"),
        ("staging_bucket", "gs://B", "is not a bucket URI"),
        ("service_account", "someone@gmail.com", "is not a service account email"),
        ("network", "default", "is not 'projects/PROJECT_NUMBER/global/networks/NAME'"),
        ("encryption_key", "my-key", "is not 'projects/P/locations/L/keyRings/R/cryptoKeys/K'"),
        ("image_registry", "bad registry!", "image registry"),
    ],
)
def test_invalid_setting_fails_validation_with_its_reason(key, value, reason, caplog):
    orch = VertexAIOrchestrator(**{**GOOD, key: value})
    with caplog.at_level(logging.WARNING, logger="flowyml_gcp"):
        assert orch.validate() is False
    assert any(reason in problem for problem in orch.validation_errors), orch.validation_errors
    assert reason in caplog.text


def test_missing_credentials_fail_validation(tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    settings = {**GOOD, "insecure": False, "credentials_file": str(tmp_path / "nope.json")}
    orch = VertexAIOrchestrator(**settings)
    assert orch.validate() is False
    assert any("no Google Cloud credentials" in p for p in orch.validation_errors)


def test_default_registry_is_artifact_registry_of_the_project():
    from flowyml_gcp.config import image_repository

    orch = VertexAIOrchestrator(**GOOD)
    assert image_repository(orch.config) == "europe-west1-docker.pkg.dev/my-project-123/flowyml"


def test_to_dict_masks_secret_env():
    orch = VertexAIOrchestrator(**GOOD, docker={"secret_env": {"TOKEN": "s3cr3t"}})
    data = orch.to_dict()
    assert data["project_id"] == "my-project-123" and data["name"] == "vertex_ai"
    assert "s3cr3t" not in repr(data)
