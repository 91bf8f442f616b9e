"""Execution groups (flowyml/grouping.py)."""

from __future__ import annotations

import pytest

from flowyml import DAG, PipelineDefinitionError, ResourceConfig, group_steps, step


def test_consecutive_steps_of_a_group_run_together_with_max_resources():
    a = step(name="a", outputs=["x"], execution_group="g", resources={"cpu": 1, "memory": "1Gi"})(
        lambda: 1
    )
    b = step(
        name="b",
        inputs=["x"],
        outputs=["y"],
        execution_group="g",
        resources={"cpu": 4, "memory": "512Mi", "gpu": 1},
    )(lambda x: x)
    c = step(name="c", inputs=["y"], outputs=["z"])(lambda y: y)
    groups = group_steps(DAG([a, b, c]))
    assert [g.step_names for g in groups] == [["a", "b"], ["c"]]
    assert groups[0].resources == ResourceConfig(cpu=4, memory="1Gi", gpu=1)
    assert groups[1].upstream == ["g"]
    assert groups[0].inputs == [] and groups[0].outputs == ["x", "y"]


def test_a_group_interrupted_in_topological_order_splits_in_two():
    a = step(name="a", outputs=["x"], execution_group="g")(lambda: 1)
    b = step(name="b", inputs=["x"], outputs=["y"])(lambda x: x)
    c = step(name="c", inputs=["y"], outputs=["z"], execution_group="g")(lambda y: y)
    groups = group_steps(DAG([a, b, c]))
    assert [g.name for g in groups] == ["g", "b", "g#2"]
    assert groups[2].upstream == ["b"]


def test_conflicting_machine_types_in_a_group_are_refused():
    a = step(
        name="a", outputs=["x"], execution_group="g", resources={"machine_type": "n1-standard-4"}
    )(lambda: 1)
    b = step(
        name="b", inputs=["x"], execution_group="g", resources={"machine_type": "a2-highgpu-1g"}
    )(lambda x: x)
    with pytest.raises(PipelineDefinitionError, match="execution group 'g': step 'b'"):
        group_steps(DAG([a, b]))


def test_grouping_is_linear_for_ten_thousand_steps():
    steps = [step(name="s0", outputs=["a0"])(lambda: 0)]
    steps += [
        step(name=f"s{i}", inputs=[f"a{i - 1}"], outputs=[f"a{i}"], execution_group=f"g{i // 100}")(
            lambda x: x
        )
        for i in range(1, 10_000)
    ]
    groups = group_steps(DAG(steps))
    assert len(groups) == 101


def test_with_defaults_fills_only_unset_fields():
    stack = ResourceConfig(cpu=2, memory="1Gi", gpu=1, machine_type="n1-standard-4")
    step_asks = ResourceConfig(memory="4Gi")
    merged = step_asks.with_defaults(stack)
    assert (merged.cpu, merged.memory, merged.gpu, merged.machine_type) == (
        2,
        "4Gi",
        1,
        "n1-standard-4",
    )
    assert step_asks.with_defaults(None) is step_asks


def test_a_step_named_like_an_execution_group_keeps_group_names_unique():
    g = step(name="g", outputs=["x"])(lambda: 1)
    a = step(name="a", inputs=["x"], outputs=["y"], execution_group="g")(lambda x: x)
    b = step(name="b", inputs=["y"], outputs=["z"])(lambda y: y)
    c = step(name="c", inputs=["z"], execution_group="g")(lambda z: z)
    groups = group_steps(DAG([g, a, b, c]))
    assert [(grp.name, grp.step_names, grp.upstream) for grp in groups] == [
        ("g", ["g"], []),
        ("g#2", ["a"], ["g"]),
        ("b", ["b"], ["g#2"]),
        ("g#3", ["c"], ["b"]),
    ]


def test_a_group_depends_once_on_each_group_its_members_read_from():
    a = step(name="a", outputs=["x"])(lambda: 1)
    b = step(name="b", outputs=["w"])(lambda: 1)
    m1 = step(name="m1", inputs=["x"], outputs=["y"], execution_group="g")(lambda x: x)
    m2 = step(name="m2", inputs=["y", "x", "w"], outputs=["z"], execution_group="g")(
        lambda y, x, w: y
    )
    groups = group_steps(DAG([a, b, m1, m2]))
    assert [grp.name for grp in groups] == ["a", "b", "g"]
    assert groups[2].upstream == ["a", "b"]
