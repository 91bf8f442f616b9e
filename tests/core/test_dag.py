"""DAG construction and validation (flowyml/dag.py)."""

from __future__ import annotations

import pytest

from flowyml import DAG, PipelineDefinitionError, step


def _chain(n: int):
    steps = [step(name="s0", outputs=["a0"])(lambda: 0)]
    for i in range(1, n):
        steps.append(step(name=f"s{i}", inputs=[f"a{i - 1}"], outputs=[f"a{i}"])(lambda x: x))
    return steps


def test_topological_order_follows_artifacts_not_insertion():
    late = step(name="late", inputs=["x"], outputs=["y"])(lambda x: x)
    early = step(name="early", outputs=["x"])(lambda: 1)
    assert DAG([late, early]).order == ["early", "late"]


def test_cycle_is_reported_with_the_steps_on_it():
    a = step(name="a", inputs=["c_out"], outputs=["a_out"])(lambda v: v)
    b = step(name="b", inputs=["a_out"], outputs=["b_out"])(lambda v: v)
    c = step(name="c", inputs=["b_out"], outputs=["c_out"])(lambda v: v)
    with pytest.raises(PipelineDefinitionError, match=r"cycle between steps: .*a.*b.*c"):
        DAG([a, b, c])


def test_self_loop_is_a_cycle():
    a = step(name="a", inputs=["x"], outputs=["x"])(lambda v: v)
    with pytest.raises(PipelineDefinitionError, match="cycle: step 'a' consumes its own"):
        DAG([a])


def test_input_nobody_produces_names_step_and_input():
    consumer = step(name="train", inputs=["data/processed"], outputs=["m"])(lambda d: d)
    with pytest.raises(PipelineDefinitionError, match="step 'train' needs input 'data/processed'"):
        DAG([consumer])


def test_external_input_is_accepted_when_supplied():
    consumer = step(name="train", inputs=["data"], outputs=["m"])(lambda d: d)
    assert DAG([consumer], external_inputs=["data"]).external_inputs == ["data"]


def test_two_producers_of_one_output_are_named():
    a = step(name="a", outputs=["x"])(lambda: 1)
    b = step(name="b", outputs=["x"])(lambda: 2)
    with pytest.raises(PipelineDefinitionError, match="'x' is produced by two steps: 'a' and 'b'"):
        DAG([a, b])


def test_duplicate_step_names_are_refused():
    with pytest.raises(PipelineDefinitionError, match="two steps are named 'a'"):
        DAG([step(name="a")(lambda: 1), step(name="a")(lambda: 2)])


def test_descendants_include_the_step_and_everything_downstream():
    dag = DAG(_chain(5))
    assert dag.descendants(["s2"]) == {"s2", "s3", "s4"}


def test_ten_thousand_step_chain_validates():
    dag = DAG(_chain(10_000))
    assert dag.order[0] == "s0" and dag.order[-1] == "s9999"


def test_a_condition_reading_an_output_orders_its_step_after_the_producer():
    gated = step(name="gated", outputs=["y"], condition=lambda ok: ok)(lambda: 1)
    judge = step(name="judge", outputs=["ok"])(lambda: True)
    dag = DAG([gated, judge])
    assert dag.order == ["judge", "gated"]
    assert dag.upstream["gated"] == ["judge"] and dag.condition_inputs["gated"] == ["ok"]


def test_a_condition_reading_its_own_output_is_a_cycle():
    odd = step(name="odd", outputs=["y"], condition=lambda y: y)(lambda: 1)
    with pytest.raises(PipelineDefinitionError, match="condition of step 'odd' reads its own"):
        DAG([odd])


def test_a_step_listed_with_several_upstream_steps_waits_for_all_of_them():
    a = step(name="a", outputs=["x"])(lambda: 1)
    join = step(name="join", inputs=["x", "y"], outputs=["z"])(lambda x, y: x)
    b = step(name="b", outputs=["y"])(lambda: 2)
    dag = DAG([a, join, b])
    assert dag.order == ["a", "b", "join"]
    assert dag.upstream["join"] == ["a", "b"] and dag.downstream["a"] == ["join"]


def test_the_first_duplicate_name_is_reported_before_any_duplicate_output():
    a = step(name="a", outputs=["x"])(lambda: 1)
    b = step(name="b", outputs=["x"])(lambda: 2)
    with pytest.raises(PipelineDefinitionError, match="two steps are named 'b'"):
        DAG([a, b, step(name="b")(lambda: 3)])


def test_param_readers_are_the_steps_taking_parameters_or_with_a_condition():
    plain = step(name="plain", outputs=["x"])(lambda: 1)
    tuned = step(name="tuned", inputs=["x"], outputs=["y"])(lambda x, lr=0.1: x)
    gated = step(name="gated", inputs=["y"], condition=lambda y: y)(lambda y: y)
    assert [s.name for s in DAG([plain, tuned, gated]).param_readers] == ["tuned", "gated"]
