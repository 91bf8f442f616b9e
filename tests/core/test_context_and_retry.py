"""Context parameters (flowyml/context.py) and retry policies (flowyml/retry.py)."""

from __future__ import annotations

import random

import pytest

from flowyml import Context, PipelineDefinitionError, RetryPolicy


def test_unserialisable_parameter_is_named():
    with pytest.raises(PipelineDefinitionError, match="parameter 'model' = .* not JSON"):
        Context(model=object())


def test_per_step_override_applies_to_that_step_only():
    ctx = Context(lr=0.1).override("train", lr=0.5)
    assert ctx.for_step("train")["lr"] == 0.5 and ctx.for_step("eval")["lr"] == 0.1


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(max_retries=5, backoff=1.0, multiplier=3.0, max_delay=5.0, jitter=0)
    assert [policy.delay(n) for n in (1, 2, 3)] == [1.0, 3.0, 5.0]


def test_jitter_stays_within_its_fraction():
    policy = RetryPolicy(max_retries=1, backoff=10.0, jitter=0.2, max_delay=100)
    rng = random.Random(0)
    delays = [policy.delay(1, rng) for _ in range(200)]
    assert min(delays) >= 8.0 and max(delays) <= 12.0 and len(set(delays)) > 100


def test_only_configured_exceptions_are_retried():
    policy = RetryPolicy(max_retries=2, retry_on=(KeyError,))
    assert policy.should_retry(KeyError("x"), 0)
    assert not policy.should_retry(ValueError("x"), 0)
    assert not policy.should_retry(KeyError("x"), 2)


def test_invalid_policy_is_refused():
    with pytest.raises(ValueError, match="retry_on must hold exception types"):
        RetryPolicy(retry_on=("ValueError",))  # type: ignore[arg-type]


def test_coerce_keeps_a_context_that_holds_only_overrides():
    overrides_only = Context().override("train", lr=0.5)
    assert Context.coerce(overrides_only, Context(lr=0.1)) is overrides_only
    assert Context.coerce(None, Context(lr=0.1))["lr"] == 0.1
    assert Context.coerce({"lr": 0.3}, Context(lr=0.1, n=2)).for_step("x") == {"lr": 0.3, "n": 2}
