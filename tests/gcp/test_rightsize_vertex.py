"""``flowyml rightsize`` prices Vertex AI machines from the project's own price file."""

from __future__ import annotations

import json

import pytest
from rightsize_runs import RecordedRuns, usage

from flowyml.project.rightsize_report import rightsize_pipeline

_PRICES = {
    "backend": "vertex_ai",
    "source": "a negotiated price list",
    "as_of": "2026-11-30",
    "region": "europe-west4",
    "currency": "EUR",
    "machines": [
        {"name": "small-2", "vcpus": 2, "memory_gib": 4, "hourly_price": 0.08},
        {"name": "n1-standard-4", "vcpus": 4, "memory_gib": 15, "hourly_price": 0.20},
    ],
}


def test_the_project_price_file_replaces_the_shipped_catalog(project):
    (project / ".flowyml" / "prices").mkdir(parents=True)
    (project / ".flowyml" / "prices" / "vertex_ai.json").write_text(json.dumps(_PRICES))
    runs = RecordedRuns(project)
    runs.add("r1", 1000, {"train": usage(1500, 1.8, wall=1800)})
    report = rightsize_pipeline(runs.project, "training")
    vertex = next(b for b in report.backends if b.name == "vertex_ai")
    assert (vertex.catalog.as_of, vertex.default_machine) == ("2026-11-30", "n1-standard-4")
    fit = next(m for m in report.steps[0].machines if m.backend == "vertex_ai")
    # nothing asked for: the default machine now; 2 cores and 1920 MiB fit small-2
    assert (fit.current.name, fit.suggested.name, fit.currency) == (
        "n1-standard-4",
        "small-2",
        "EUR",
    )
    assert fit.saving_per_run == pytest.approx(0.12 * 0.5)
