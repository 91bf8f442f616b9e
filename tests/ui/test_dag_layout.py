"""Where the page draws each step: columns by depth, rows near producers, groups boxed."""

from __future__ import annotations

import time
from typing import Any

from flowyml_ui.dag_layout import NODE_HEIGHT, NODE_WIDTH, layout_graph


def _step(name: str, *upstream: str, group: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "group": group,
        "upstream": list(upstream),
        "inputs": {f"{u}_out": u for u in upstream},
        "outputs": [f"{name}_out"],
    }


def _positions(layout: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {n["name"]: (n["x"], n["y"]) for n in layout["nodes"]}


def test_a_step_is_one_column_right_of_its_deepest_producer() -> None:
    steps = [_step("a"), _step("b", "a"), _step("c", "a"), _step("d", "b", "c", "a")]
    at = _positions(layout_graph(steps, []))
    assert at["a"][0] < at["b"][0] == at["c"][0] < at["d"][0]
    assert at["b"][1] != at["c"][1]


def test_edges_join_producers_to_consumers_named_by_their_artifacts() -> None:
    layout = layout_graph([_step("a"), _step("b", "a")], [])
    assert layout["edges"] == [{"source": "a", "target": "b", "artifacts": ["a_out"]}]


def test_a_group_of_several_steps_is_boxed_around_them_and_a_lone_one_is_not() -> None:
    steps = [
        _step("a", group="train"),
        _step("b", "a", group="train"),
        _step("c", "b", group="solo"),
    ]
    layout = layout_graph(steps, [])
    assert [g["name"] for g in layout["groups"]] == ["train"]
    box = layout["groups"][0]
    for name in ("a", "b"):
        x, y = _positions(layout)[name]
        assert box["x"] < x and x + NODE_WIDTH < box["x"] + box["width"]
        assert box["y"] < y and y + NODE_HEIGHT < box["y"] + box["height"]


def test_steps_the_graph_does_not_name_are_drawn_unconnected() -> None:
    layout = layout_graph([], ["x", "y"])
    assert sorted(_positions(layout)) == ["x", "y"]
    assert layout["edges"] == []


def test_a_cycle_in_a_damaged_record_still_lays_out() -> None:
    layout = layout_graph([_step("a", "b"), _step("b", "a")], [])
    assert sorted(_positions(layout)) == ["a", "b"]


def test_ten_thousand_steps_lay_out_in_well_under_a_second() -> None:
    steps = [_step("s0")] + [_step(f"s{i}", f"s{i - 1}", f"s{i // 2}") for i in range(1, 10_000)]
    started = time.perf_counter()
    layout = layout_graph(steps, [])
    assert time.perf_counter() - started < 1.0
    assert len(layout["nodes"]) == 10_000
    assert layout["width"] > 0 and layout["height"] > 0
