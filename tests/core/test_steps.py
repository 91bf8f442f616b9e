"""The step decorator, parameter binding and code fingerprints (flowyml/steps.py)."""

from __future__ import annotations

import pytest

from flowyml import PipelineDefinitionError, RetryPolicy, Step, step


def test_bare_decorator_makes_a_step_named_after_the_function():
    @step
    def load():
        return 1

    assert isinstance(load, Step) and load.name == "load" and load() == 1


def test_inputs_bind_by_name_then_position_and_the_rest_is_context():
    @step(inputs=["data/processed", "model"], outputs=["score"])
    def evaluate(model, processed, threshold, verbose=False):
        return 0

    assert evaluate.input_params == {"data/processed": "processed", "model": "model"}
    assert evaluate.context_params == ["threshold", "verbose"]
    assert evaluate.required_context == ["threshold"]


def test_an_input_with_no_parameter_is_refused():
    with pytest.raises(PipelineDefinitionError, match="input 'b' has no parameter"):
        step(name="s", inputs=["a", "b"])(lambda a: a)


def test_retry_count_becomes_a_policy():
    s = step(name="s", retry=3)(lambda: 1)
    assert s.retry == RetryPolicy(max_retries=3)


@pytest.mark.parametrize("bad", [0, -1, True])
def test_bad_timeout_is_refused(bad):
    with pytest.raises(PipelineDefinitionError, match="timeout must be a positive"):
        step(name="s", timeout=bad)(lambda: 1)


def test_bad_name_is_refused():
    with pytest.raises(PipelineDefinitionError, match="step name 'a b'"):
        step(name="a b")(lambda: 1)


def _make(source: str) -> Step:
    namespace: dict = {"step": step}
    exec(source, namespace)
    return namespace["work"]


def test_fingerprint_changes_with_the_body_only():
    one = _make("@step\ndef work(x):\n    return x + 1\n")
    same = _make("@step\ndef work(x):\n    return x + 1\n")
    other = _make("@step\ndef work(x):\n    return x + 2\n")
    assert one.fingerprint == same.fingerprint
    assert one.fingerprint != other.fingerprint


def test_fingerprint_follows_helpers_and_constants_it_reads():
    base = (
        "SCALE = {scale}\ndef helper(x):\n    return x * SCALE\n"
        "@step\ndef work(x):\n    return helper(x)\n"
    )
    assert _make(base.format(scale=2)).fingerprint != _make(base.format(scale=3)).fingerprint
