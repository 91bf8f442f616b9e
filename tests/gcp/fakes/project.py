"""Where the GCP tests pretend to be: project, location, and the registries of job images."""

from __future__ import annotations

__all__ = ["ARTIFACT_REGISTRY", "LOCAL_REGISTRY", "LOCATION", "PARENT", "PROJECT"]

PROJECT = "fake-project"
LOCATION = "europe-west1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
# Jobs may name their image the way the backend pushes it; the fake pulls it from here.
ARTIFACT_REGISTRY = f"{LOCATION}-docker.pkg.dev/{PROJECT}/flowyml"
LOCAL_REGISTRY = "localhost:5000"
