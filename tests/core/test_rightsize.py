"""Right-sizing recorded runs (flowyml/project/rightsize.py and rightsize_report.py)."""

from __future__ import annotations

import pytest
from rightsize_runs import MIB, RecordedRuns, usage

from flowyml import ExecutionStatus, FlowyMLError, ResourceConfig
from flowyml.project.rightsize import suggested_cpu, suggested_memory
from flowyml.project.rightsize_report import rightsize_pipeline


@pytest.fixture
def runs(project):
    return RecordedRuns(project)


def _sizing(report, step):
    return next(s for s in report.steps if s.step == step)


def _three_good_runs(runs: RecordedRuns) -> None:
    runs.add("r1", 1000, {"load": usage(100, 0.2), "train": usage(1000, 1.5, wall=300)})
    runs.add("r2", 2000, {"load": usage(90, 0.3), "train": usage(1200, 1.8, wall=500)})
    runs.add("r3", 3000, {"load": usage(80, 0.1), "train": usage(1100, 1.6, wall=400)})


def test_medians_and_maxima_of_the_recorded_runs(runs):
    _three_good_runs(runs)
    report = rightsize_pipeline(runs.project, "training", backends=[])
    figures = _sizing(report, "train").measured.figures()
    assert report.runs == ["r3", "r2", "r1"]
    assert (figures["peak_memory_median"], figures["peak_memory_max"]) == (1100 * MIB, 1200 * MIB)
    assert figures["cpu_seconds_median"] == pytest.approx(640)  # 1.6 cores x 400 s
    assert figures["cpu_seconds_max"] == pytest.approx(900)  # 1.8 cores x 500 s
    assert (figures["wall_seconds_median"], figures["wall_seconds_max"]) == (400, 500)
    assert figures["utilisation_max"] == pytest.approx(1.8)


def test_memory_is_the_highest_peak_with_headroom_rounded_up_to_128_mib(runs):
    _three_good_runs(runs)
    report = rightsize_pipeline(runs.project, "training", backends=[])
    # train: 1200 MiB x 1.25 = 1500 MiB -> 1536 MiB; load: 100 MiB x 1.25 -> 128 MiB
    assert _sizing(report, "train").suggested == ResourceConfig(cpu=2, memory="1536Mi")
    assert _sizing(report, "load").suggested == ResourceConfig(cpu=0.5, memory="128Mi")


def test_the_headroom_is_configurable(runs):
    _three_good_runs(runs)
    report = rightsize_pipeline(runs.project, "training", headroom=2, backends=[])
    assert _sizing(report, "train").suggested.memory == "2432Mi"  # 2400 MiB -> 19 x 128 MiB


@pytest.mark.parametrize(
    ("cores", "expected"),
    [(0.01, 0.25), (0.25, 0.25), (0.26, 0.5), (0.9, 1), (1.0, 1), (1.04, 1), (1.2, 2), (3.5, 4)],
)
def test_cpu_rounds_up_to_quarter_cores_then_whole_cores(cores, expected):
    assert suggested_cpu(cores) == expected


def test_memory_rounding_is_a_multiple_of_128_mib_never_below_the_peak():
    for peak in (1, 127 * MIB, 128 * MIB, 129 * MIB, 5000 * MIB + 3):
        size = suggested_memory(peak, 1.0)
        assert size % (128 * MIB) == 0 and peak <= size < peak + 128 * MIB


def test_only_the_last_n_successful_runs_count_and_failed_ones_are_ignored(runs):
    _three_good_runs(runs)
    runs.add("r4", 4000, {"load": usage(50, 0.2), "train": usage(700, 0.9)})
    runs.add(
        "bad", 5000, {"load": usage(9000, 8), "train": usage(9000, 8)},
        status=ExecutionStatus.FAILED, failed_steps=("train",),
    )  # fmt: skip
    report = rightsize_pipeline(runs.project, "training", runs=2, backends=[])
    assert report.runs == ["r4", "r3"]
    train = _sizing(report, "train")
    assert len(train.measured.usages) == 2
    assert train.measured.figures()["peak_memory_max"] == 1100 * MIB
    assert train.suggested == ResourceConfig(cpu=2, memory="1408Mi")  # 1375 MiB -> 1408


def test_runs_of_other_pipelines_and_cached_steps_are_not_measurements(runs):
    _three_good_runs(runs)
    runs.add("other", 4000, {"train": usage(8000, 4)}, pipeline="other")
    runs.add("cached", 5000, {"train": usage(9000, 6)}, cached_steps=("train",))
    report = rightsize_pipeline(runs.project, "training", runs=10, backends=[])
    assert report.runs == ["cached", "r3", "r2", "r1"]
    assert _sizing(report, "train").measured.figures()["peak_memory_max"] == 1200 * MIB


def test_an_oom_killed_step_gets_twice_the_limit_it_died_at(runs):
    _three_good_runs(runs)
    runs.add(
        "oom", 4000, {"load": usage(100, 0.2), "train": usage(2048, 1.0, oom_at_mib=2048)},
        status=ExecutionStatus.FAILED, failed_steps=("train",),
    )  # fmt: skip
    train = _sizing(rightsize_pipeline(runs.project, "training", backends=[]), "train")
    assert train.suggested.memory_bytes > 2048 * MIB
    assert train.suggested.memory == "4Gi"
    assert any("OOM-killed in run oom at 2Gi" in note for note in train.notes)
    assert train.to_dict()["oom_kills"] == [{"run_id": "oom", "limit_bytes": 2048 * MIB}]


def test_an_oom_kill_followed_by_a_success_still_lifts_memory_above_that_limit(runs):
    runs.add(
        "oom", 1000, {"train": usage(512, 1.0, oom_at_mib=512)},
        status=ExecutionStatus.FAILED, failed_steps=("train",),
    )  # fmt: skip
    runs.add("ok", 2000, {"train": usage(300, 1.0)})  # 300 MiB x 1.25 alone would be 384 MiB
    train = _sizing(rightsize_pipeline(runs.project, "training", backends=[]), "train")
    assert train.suggested.memory == "640Mi"  # the 512 MiB limit plus 128 MiB
    assert any("above that limit" in note for note in train.notes)


def test_a_step_without_measurements_gets_no_suggestion(runs):
    runs.add("r1", 1000, {"load": usage(100, 0.2), "report": None})
    report = rightsize_pipeline(runs.project, "training", backends=[])
    sizing = _sizing(report, "report")
    assert sizing.suggested is None and sizing.measured.usages == []
    assert sizing.notes == ["no measurements: no successful run of the window recorded its usage"]
    assert sizing.to_dict()["suggested"] is None
    assert sizing.to_dict()["peak_memory_max"] is None
    assert "report" not in report.suggestions()


def test_approximate_figures_are_marked(runs):
    runs.add("r1", 1000, {"load": usage(100, 0.2, exact=False)})
    load = _sizing(rightsize_pipeline(runs.project, "training", backends=[]), "load")
    assert load.to_dict()["exact"] is False
    assert any(note.startswith("approximate") and "thread" in note for note in load.notes)


def test_the_current_setting_is_the_configured_step_over_the_stack_default(project):
    (project / "flowyml.yaml").write_text(
        "stack: cloud\nstacks:\n  cloud: {backend: local, resources: {cpu: 8, memory: 16Gi}}\n"
        "pipelines:\n  training:\n    steps:\n      train: {resources: {memory: 3Gi}}\n"
    )
    runs = RecordedRuns(project)
    _three_good_runs(runs)
    report = rightsize_pipeline(runs.project, "training", backends=[])
    assert _sizing(report, "train").current == ResourceConfig(cpu=8, memory="3Gi")
    assert _sizing(report, "load").current == ResourceConfig(cpu=8, memory="16Gi")
    assert report.suggestions()["load"] == ResourceConfig(cpu=0.5, memory="128Mi")


def test_an_unknown_pipeline_names_the_recorded_ones(runs):
    _three_good_runs(runs)
    runs.add("o1", 4000, {"x": usage(1, 1)}, pipeline="etl")
    with pytest.raises(FlowyMLError, match="no run of pipeline 'trainig'.*etl, training"):
        rightsize_pipeline(runs.project, "trainig", backends=[])


@pytest.mark.parametrize("n", [0, -3])
def test_fewer_than_one_run_is_refused(runs, n):
    _three_good_runs(runs)
    with pytest.raises(FlowyMLError, match=f"--runs must be at least 1, got {n}"):
        rightsize_pipeline(runs.project, "training", runs=n, backends=[])


def test_a_headroom_below_one_is_refused(runs):
    _three_good_runs(runs)
    with pytest.raises(FlowyMLError, match="--headroom must be at least 1"):
        rightsize_pipeline(runs.project, "training", headroom=0.8, backends=[])
