"""Where each step of a run's DAG is drawn: columns by topological depth, rows within one.

The layout is computed once per page load, in time linear in steps and edges, so a
pipeline of thousands of steps lays out in milliseconds; the page only draws it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["NODE_HEIGHT", "NODE_WIDTH", "layout_graph"]

NODE_WIDTH = 170
NODE_HEIGHT = 28
COLUMN_GAP = 70
ROW_GAP = 10
MARGIN = 30
GROUP_PAD = 6


def layout_graph(graph_steps: list[dict[str, Any]], step_names: list[str]) -> dict[str, Any]:
    """Lay out the steps of a run.

    Args:
        graph_steps: the recorded graph's steps (``name``, ``group``, ``upstream``,
            ``inputs``: artifact -> producing step or None, ``outputs``), in execution
            order; empty when the run recorded no graph.
        step_names: the steps the run store holds for the run; any the graph lacks are
            drawn unconnected after the others.

    Returns:
        ``nodes`` (name, group, x, y), ``edges`` (source, target, artifact names),
        ``groups`` (name and the box around its steps), ``width`` and ``height``.
    """
    steps = [dict(s) for s in graph_steps]
    known = {s["name"] for s in steps}
    steps += [
        {"name": n, "group": None, "upstream": [], "inputs": {}, "outputs": []}
        for n in step_names
        if n not in known
    ]
    depth: dict[str, int] = {}
    for s in _topological(steps):
        depth[s["name"]] = 1 + max((depth[u] for u in s["upstream"] if u in depth), default=-1)
    columns: dict[int, list[str]] = defaultdict(list)
    upstream = {s["name"]: [u for u in s["upstream"] if u in depth] for s in steps}
    row: dict[str, float] = {}
    for s in steps:
        columns[depth[s["name"]]].append(s["name"])
    for level in sorted(columns):
        names = columns[level]
        # Each step sits near the mean row of its producers: fewer crossing edges.
        keyed = sorted(
            enumerate(names),
            key=lambda item: (_mean(row, upstream[item[1]], item[0]), item[0]),
        )
        for index, (_, name) in enumerate(keyed):
            row[name] = index
        columns[level] = [name for _, name in keyed]
    nodes = []
    position: dict[str, tuple[int, int]] = {}
    for level, names in columns.items():
        for index, name in enumerate(names):
            x = MARGIN + level * (NODE_WIDTH + COLUMN_GAP)
            y = MARGIN + index * (NODE_HEIGHT + ROW_GAP)
            position[name] = (x, y)
    group_of = {s["name"]: s.get("group") for s in steps}
    for s in steps:
        x, y = position[s["name"]]
        nodes.append({"name": s["name"], "group": s.get("group"), "x": x, "y": y})
    edges = _edges(steps, depth)
    groups = _group_boxes(group_of, position)
    tallest = max((len(names) for names in columns.values()), default=0)
    return {
        "nodes": nodes,
        "edges": edges,
        "groups": groups,
        "node_width": NODE_WIDTH,
        "node_height": NODE_HEIGHT,
        "width": 2 * MARGIN + len(columns) * (NODE_WIDTH + COLUMN_GAP),
        "height": 2 * MARGIN + tallest * (NODE_HEIGHT + ROW_GAP),
    }


def _mean(row: dict[str, float], producers: list[str], fallback: int) -> float:
    placed = [row[p] for p in producers if p in row]
    return sum(placed) / len(placed) if placed else float(fallback)


def _topological(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps, producers first (Kahn's algorithm; a cycle's steps come last)."""
    by_name = {s["name"]: s for s in steps}
    waiting = {s["name"]: sum(1 for u in s["upstream"] if u in by_name) for s in steps}
    consumers: dict[str, list[str]] = defaultdict(list)
    for s in steps:
        for u in s["upstream"]:
            if u in by_name:
                consumers[u].append(s["name"])
    ready = [s["name"] for s in steps if waiting[s["name"]] == 0]
    ordered: list[dict[str, Any]] = []
    while ready:
        name = ready.pop()
        ordered.append(by_name[name])
        for c in consumers[name]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    seen = {s["name"] for s in ordered}
    return ordered + [s for s in steps if s["name"] not in seen]


def _edges(steps: list[dict[str, Any]], depth: dict[str, int]) -> list[dict[str, Any]]:
    """One edge per producer and consumer, named by the artifacts that flow along it."""
    artifacts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in steps:
        for artifact, producer in (s.get("inputs") or {}).items():
            if producer in depth:
                artifacts[(producer, s["name"])].append(artifact)
        for u in s["upstream"]:
            if u in depth:
                artifacts.setdefault((u, s["name"]), [])
    return [
        {"source": source, "target": target, "artifacts": sorted(set(names))}
        for (source, target), names in artifacts.items()
    ]


def _group_boxes(
    group_of: dict[str, str | None], position: dict[str, tuple[int, int]]
) -> list[dict[str, Any]]:
    boxes: dict[str, list[int]] = {}
    members: dict[str, int] = defaultdict(int)
    for name, group in group_of.items():
        if not group:
            continue
        members[group] += 1
        x, y = position[name]
        box = boxes.setdefault(group, [x, y, x + NODE_WIDTH, y + NODE_HEIGHT])
        box[0], box[1] = min(box[0], x), min(box[1], y)
        box[2], box[3] = max(box[2], x + NODE_WIDTH), max(box[3], y + NODE_HEIGHT)
    return [
        {
            "name": name,
            "x": x0 - GROUP_PAD,
            "y": y0 - GROUP_PAD,
            "width": x1 - x0 + 2 * GROUP_PAD,
            "height": y1 - y0 + 2 * GROUP_PAD,
        }
        for name, (x0, y0, x1, y1) in boxes.items()
        if members[name] > 1  # a step alone in its group needs no outline
    ]
