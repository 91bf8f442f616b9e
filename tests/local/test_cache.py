"""Caching across runs: what is reused and what re-runs."""

from __future__ import annotations

from flowyml import Context, Pipeline, step


def _counting_chain(counts: dict[str, int], length: int = 5):
    def make(i):
        def body(prev=None, scale: int = 1):
            counts[f"s{i}"] = counts.get(f"s{i}", 0) + 1
            return (prev or 0) + i * scale

        inputs = [f"a{i - 1}"] if i else []
        return step(name=f"s{i}", inputs=inputs, outputs=[f"a{i}"])(body)

    return [make(i) for i in range(length)]


def test_second_run_is_fully_cached_and_executes_nothing(project):
    counts: dict[str, int] = {}
    pipeline = Pipeline("c", steps=_counting_chain(counts))
    first = pipeline.run()
    second = pipeline.run()
    assert first.outputs["a4"] == second.outputs["a4"] == 10
    assert all(r.cached for r in second.step_results.values())
    assert set(counts.values()) == {1}


def test_changing_one_steps_parameter_reruns_it_and_its_dependants_only(project):
    counts: dict[str, int] = {}
    pipeline = Pipeline("c", steps=_counting_chain(counts), context=Context(scale=1))
    pipeline.run()
    ctx = Context(scale=1).override("s2", scale=10)
    run = pipeline.run(context=ctx)
    assert run.outputs["a4"] == 1 + 20 + 3 + 4
    assert counts == {"s0": 1, "s1": 1, "s2": 2, "s3": 2, "s4": 2}
    assert [r.cached for r in run.step_results.values()] == [True, True, False, False, False]


def test_editing_one_steps_body_reruns_it_and_its_dependants_only(project):
    source = (
        "@step(outputs=['x'])\ndef first():\n    return 1\n"
        "@step(inputs=['x'], outputs=['y'])\ndef middle(x):\n    return x + {delta}\n"
        "@step(inputs=['y'], outputs=['z'])\ndef last(y):\n    return y * 2\n"
    )

    def build(delta):
        namespace = {"step": step}
        exec(source.format(delta=delta), namespace)
        return Pipeline("edit", steps=[namespace["first"], namespace["middle"], namespace["last"]])

    build(1).run()
    run = build(5).run()
    assert run.outputs["z"] == 12
    assert [r.cached for r in run.step_results.values()] == [True, False, False]


def test_uncacheable_step_always_runs_and_its_consumers_see_its_content(project):
    counts: dict[str, int] = {}

    @step(outputs=["now"], cache=False)
    def volatile():
        counts["volatile"] = counts.get("volatile", 0) + 1
        return "same-value"

    @step(inputs=["now"], outputs=["out"])
    def consumer(now):
        counts["consumer"] = counts.get("consumer", 0) + 1
        return now.upper()

    pipeline = Pipeline("vol", steps=[volatile, consumer])
    pipeline.run()
    run = pipeline.run()
    assert counts == {"volatile": 2, "consumer": 1}  # same content: consumer is a cache hit
    assert run.step_results["consumer"].cached


def test_deleted_artifact_is_a_cache_miss_not_an_error(project):
    counts: dict[str, int] = {}
    pipeline = Pipeline("c", steps=_counting_chain(counts, 2))
    first = pipeline.run()
    from flowyml.project.folder import open_project

    open_project().artifact_store().delete(first.outputs.uri("a1"))
    second = pipeline.run()
    assert second.success and counts["s1"] == 2 and second.outputs["a1"] == 1


def test_a_rebound_module_constant_is_never_served_from_the_cache(project):
    namespace: dict[str, object] = {"step": step}
    exec(
        "THRESH = 0.5\n@step(outputs=['flag'])\ndef judge():\n    return THRESH * 2\n",
        namespace,
    )
    pipeline = Pipeline("rebind", steps=[namespace["judge"]])
    for i in range(30):
        namespace["THRESH"] = i + 0.5  # each value a fresh float; the previous one is freed
        run = pipeline.run()
        assert run.outputs["flag"] == 2 * i + 1


def _adder(output: str):
    """Steps of identical code, closure and parameters that differ only in their names."""

    @step(inputs=["seed"], outputs=[output], name=f"make_{output}")
    def add_one(seed: int) -> int:
        return seed + 1

    return add_one


def test_steps_of_the_same_code_naming_outputs_apart_never_share_a_cache_entry(project):
    @step(outputs=["seed"])
    def seed() -> int:
        return 41

    @step(inputs=["left", "right"], outputs=["both"])
    def both(left: int, right: int) -> list[int]:
        return [left, right]

    pipeline = Pipeline("twins", steps=[seed, _adder("left"), _adder("right"), both])
    first = pipeline.run("local")
    assert first.success, first.error
    assert first.outputs["both"] == [42, 42]
    again = pipeline.run("local")
    assert again.success, again.error
    assert again.outputs["both"] == [42, 42]
    assert all(r.cached for r in again.step_results.values())
