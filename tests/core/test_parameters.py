"""Run parameters checked against the steps that read them (flowyml/parameters.py)."""

from __future__ import annotations

import pytest

from flowyml import Context, PipelineDefinitionError, step
from flowyml.definition.parameters import check_overrides, check_parameter_names, coerce_parameters


@step(outputs=["model"])
def fit(epochs: int, lr: float = 0.1) -> float:
    return epochs * lr


@step(inputs=["model"], outputs=["score"], condition=lambda threshold: threshold > 0)
def evaluate(model: float, label: str = "x") -> float:
    return model


STEPS = [fit, evaluate]


def test_an_unknown_parameter_is_named_with_the_closest_known_one():
    with pytest.raises(PipelineDefinitionError, match="'epochz'.*did you mean 'epochs'"):
        check_parameter_names(["epochz"], STEPS, "demo")
    check_parameter_names(["epochs", "lr", "threshold", "label"], STEPS, "demo")


def test_an_override_of_no_step_or_no_parameter_is_named():
    with pytest.raises(PipelineDefinitionError, match="no such step; did you mean 'fit'"):
        check_overrides(Context(epochs=1).override("fitt", lr=0.5), STEPS)
    with pytest.raises(PipelineDefinitionError, match="no parameter 'lrr'; did you mean 'lr'"):
        check_overrides(Context(epochs=1).override("fit", lrr=0.5), STEPS)
    check_overrides(Context(epochs=1).override("evaluate", threshold=2), STEPS)


def test_a_value_of_the_wrong_type_names_step_parameter_value_and_type():
    with pytest.raises(
        PipelineDefinitionError, match=r"step 'fit': parameter 'epochs' = 'abc' is not a valid int"
    ):
        coerce_parameters(Context(epochs="abc"), STEPS)


def test_values_are_coerced_to_the_annotation_per_step_and_equal_ones_left_alone():
    context = coerce_parameters(Context(epochs="5", lr=1), STEPS)
    assert context.for_step("fit") == {"epochs": 5, "lr": 1}
    assert type(context.for_step("fit")["lr"]) is int  # 1 == 1.0: the cache key stays
    unchanged = Context(epochs=5)
    assert coerce_parameters(unchanged, STEPS) is unchanged
