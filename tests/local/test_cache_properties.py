"""Properties of the step cache on generated pipelines.

Each example is a random DAG of 2 to 8 steps; step ``s{i}`` produces ``a{i}`` as a small
arithmetic function of some earlier outputs, of external inputs ``x{j}`` and of one context
parameter. The steps are built from source text, so editing a step's code is editing text.
After a first run, one edit is applied — a step's code, a step's override, a global context
value, or an external input — and the pipeline runs again: exactly the edited steps and
their dependants must execute, every other step must be a cache hit, and every output must
equal the value computed here in plain Python. A counter the step bodies bump tells what
really executed, independently of ``ExecutionResult.cached``. Finally the original pipeline
runs once more and must be served entirely from the cache.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from flowyml import Context, Pipeline, step

# Deterministic for CI; about 40 examples of up to three runs each per property.
_SETTINGS = settings(max_examples=40, deadline=None, database=None, derandomize=True)


@dataclass(frozen=True)
class StepSpec:
    """One generated step: ``a{index} = constant + Σ coefficient · input + parameter``."""

    index: int
    constant: int
    terms: tuple[tuple[str, int], ...]  # (input artifact name, coefficient)
    param: str  # the context parameter it reads

    @property
    def name(self) -> str:
        return f"s{self.index}"

    @property
    def output(self) -> str:
        return f"a{self.index}"

    def source(self) -> str:
        """The step's definition as Python source; ``CALLS`` counts its executions."""
        inputs = [name for name, _ in self.terms]
        total = " + ".join(
            [str(self.constant), *(f"({c}) * {name}" for name, c in self.terms), self.param]
        )
        return (
            f"@step(name={self.name!r}, inputs={inputs!r}, outputs=[{self.output!r}])\n"
            f"def {self.name}({', '.join([*inputs, self.param])}):\n"
            f"    CALLS[{self.name!r}] = CALLS.get({self.name!r}, 0) + 1\n"
            f"    return {total}\n"
        )


@dataclass(frozen=True)
class Scenario:
    """A generated pipeline with the context and external inputs of one run."""

    steps: tuple[StepSpec, ...]
    params: Mapping[str, int]  # global context values
    overrides: Mapping[str, int] = field(default_factory=dict)  # step -> its parameter's value
    inputs: Mapping[str, int] = field(default_factory=dict)  # external input values

    @property
    def names(self) -> set[str]:
        return {spec.name for spec in self.steps}

    def param_of(self, spec: StepSpec) -> int:
        """The value of its parameter that ``spec`` sees (its override, else the global)."""
        return self.overrides.get(spec.name, self.params[spec.param])

    def pipeline(self, calls: dict[str, int]) -> Pipeline:
        """The steps exec'd from their source into a fresh namespace that counts in ``calls``."""
        namespace: dict[str, Any] = {"step": step, "CALLS": calls}
        exec("\n".join(spec.source() for spec in self.steps), namespace)
        return Pipeline("generated", steps=[namespace[spec.name] for spec in self.steps])

    def context(self) -> Context:
        context = Context(**self.params)
        for spec in self.steps:
            if spec.name in self.overrides:
                context.override(spec.name, **{spec.param: self.overrides[spec.name]})
        return context

    def expected_outputs(self) -> dict[str, int]:
        """Every output, computed in plain Python without flowyml."""
        values: dict[str, int] = dict(self.inputs)
        for spec in self.steps:
            values[spec.output] = (
                spec.constant
                + sum(c * values[name] for name, c in spec.terms)
                + self.param_of(spec)
            )
        return {spec.output: values[spec.output] for spec in self.steps}

    def with_dependants(self, names: set[str]) -> set[str]:
        """``names`` and every step that consumes, directly or not, an output of theirs."""
        affected = set(names)
        for spec in self.steps:  # topological order: producers come first
            producers = {f"s{name[1:]}" for name, _ in spec.terms if name.startswith("a")}
            if producers & affected:
                affected.add(spec.name)
        return affected


@dataclass(frozen=True)
class Edit:
    """A scenario, the same scenario after one edit, and the steps the edit touched."""

    before: Scenario
    after: Scenario
    touched: set[str]


_values = st.integers(0, 9)


@st.composite
def _scenarios(draw: st.DrawFn, with_inputs: bool = False) -> Scenario:
    """A random DAG of 2 to 8 steps, with overrides for some steps; ``with_inputs``: at
    least one step reads an external input."""
    count = draw(st.integers(2, 8))
    externals = [f"x{j}" for j in range(draw(st.integers(1 if with_inputs else 0, 2)))]
    forced = draw(st.integers(0, count - 1)) if with_inputs else None
    steps: list[StepSpec] = []
    for i in range(count):
        sources = [f"a{j}" for j in range(i)] + externals
        chosen = (
            draw(st.lists(st.sampled_from(sources), unique=True, max_size=4)) if sources else []
        )
        if i == forced and externals[0] not in chosen:
            chosen.append(externals[0])  # at least one step reads an external input
        coefficients = draw(
            st.lists(st.integers(-3, 3), min_size=len(chosen), max_size=len(chosen))
        )
        param = draw(st.sampled_from(["k", f"k{i}"]))  # shared by several steps, or its own
        steps.append(
            StepSpec(i, draw(_values), tuple(zip(chosen, coefficients, strict=True)), param)
        )
    used = {name for spec in steps for name, _ in spec.terms}
    params = {name: draw(_values) for name in sorted({spec.param for spec in steps})}
    overrides = {
        spec.name: value for spec in steps if (value := draw(st.none() | _values)) is not None
    }
    inputs = {name: draw(_values) for name in externals if name in used}
    return Scenario(tuple(steps), params, overrides, inputs)


def _other_than(value: int) -> st.SearchStrategy[int]:
    return _values.filter(lambda v: v != value)


@st.composite
def _code_edits(draw: st.DrawFn) -> Edit:
    before = draw(_scenarios())
    spec = draw(st.sampled_from(before.steps))
    edited = replace(spec, constant=draw(_other_than(spec.constant)))
    steps = tuple(edited if s is spec else s for s in before.steps)
    return Edit(before, replace(before, steps=steps), {spec.name})


@st.composite
def _override_edits(draw: st.DrawFn) -> Edit:
    before = draw(_scenarios())
    spec = draw(st.sampled_from(before.steps))
    overrides = {**before.overrides, spec.name: draw(_other_than(before.param_of(spec)))}
    return Edit(before, replace(before, overrides=overrides), {spec.name})


@st.composite
def _global_param_edits(draw: st.DrawFn) -> Edit:
    before = draw(_scenarios())
    name = draw(st.sampled_from(sorted(before.params)))
    params = {**before.params, name: draw(_other_than(before.params[name]))}
    readers = {s.name for s in before.steps if s.param == name and s.name not in before.overrides}
    return Edit(before, replace(before, params=params), readers)


@st.composite
def _input_edits(draw: st.DrawFn) -> Edit:
    before = draw(_scenarios(with_inputs=True))
    name = draw(st.sampled_from(sorted(before.inputs)))
    inputs = {**before.inputs, name: draw(_other_than(before.inputs[name]))}
    consumers = {s.name for s in before.steps if name in dict(s.terms)}
    return Edit(before, replace(before, inputs=inputs), consumers)


@contextmanager
def _fresh_project() -> Iterator[Path]:
    """What the ``project`` fixture gives a test, for one Hypothesis example."""
    from flowyml.plugins.manager import reset_plugin_manager
    from flowyml.project.folder import forget_projects

    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ):
        for name in ("FLOWYML_BACKEND", "FLOWYML_CONFIG", "FLOWYML_STEP_RUNNER"):
            os.environ.pop(name, None)
        root = Path(tmp) / "project"
        root.mkdir()
        (root / "flowyml.yaml").write_text("")
        os.chdir(root)
        forget_projects()
        reset_plugin_manager()
        try:
            yield root
        finally:
            os.chdir(previous)
            forget_projects()
            reset_plugin_manager()


@dataclass(frozen=True)
class Observed:
    """What one run did: the steps that executed, those served from the cache, the outputs."""

    executed: set[str]
    cached: set[str]
    outputs: dict[str, int]


def _run(scenario: Scenario, calls: dict[str, int]) -> Observed:
    before = dict(calls)
    run = scenario.pipeline(calls).run(
        "local", context=scenario.context(), inputs=dict(scenario.inputs), echo_logs=False
    )
    assert run.success, run.error
    assert set(run.step_results) == scenario.names
    executions = {name: calls.get(name, 0) - before.get(name, 0) for name in scenario.names}
    assert set(executions.values()) <= {0, 1}, executions  # never twice in one run
    return Observed(
        executed={name for name, times in executions.items() if times},
        cached={name for name, result in run.step_results.items() if result.cached},
        outputs={spec.output: run.outputs[spec.output] for spec in scenario.steps},
    )


def _check_one_edit(edit: Edit) -> None:
    """Run before, after, then before again, each time checking what executed and the outputs."""
    before, after = edit.before, edit.after
    rerun = before.with_dependants(edit.touched)
    calls: dict[str, int] = {}
    with _fresh_project():
        first = _run(before, calls)
        assert first.executed == before.names and not first.cached
        assert first.outputs == before.expected_outputs()

        second = _run(after, calls)
        assert second.executed == rerun
        assert second.cached == before.names - rerun
        assert second.outputs == after.expected_outputs()

        # The entries of the first run are still there: undoing the edit runs nothing.
        third = _run(before, calls)
        assert not third.executed and third.cached == before.names
        assert third.outputs == before.expected_outputs()


@_SETTINGS
@given(_code_edits())
def test_editing_a_steps_code_reruns_it_and_its_dependants_only(edit: Edit) -> None:
    _check_one_edit(edit)


@_SETTINGS
@given(_override_edits())
def test_overriding_a_steps_parameter_reruns_it_and_its_dependants_only(edit: Edit) -> None:
    _check_one_edit(edit)


@_SETTINGS
@given(_global_param_edits())
def test_changing_a_context_value_reruns_its_readers_and_their_dependants_only(
    edit: Edit,
) -> None:
    _check_one_edit(edit)


@_SETTINGS
@given(_input_edits())
def test_changing_an_external_input_reruns_its_consumers_and_their_dependants_only(
    edit: Edit,
) -> None:
    _check_one_edit(edit)
