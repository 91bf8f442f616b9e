"""Turn peer-benchmark samples into a Markdown table (host side, standard library only).

Rows are (workload, metric) pairs, columns are tools, and a cell is the median with the
min-max range over the repeats; failed, timed-out and unsupported runs are shown, never
dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024


@dataclass
class Sample:
    """One measurement: a fresh process (or, for W3, the fill/rerun/change processes)."""

    tool: str
    workload: str
    variant: str
    repeat: int
    status: str = "ok"
    """``ok``, ``error``, ``timeout`` or ``unsupported``."""
    detail: str = ""
    """Why the sample is not ``ok`` (one line)."""
    debug: str = ""
    """Traceback / output tail of a failed sample."""
    metrics: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain-dict form for the JSON result file."""
        return dict(self.__dict__)


def _seconds(v: float) -> str:
    return f"{v:.2f}" if v >= 0.1 else f"{v:.3f}"


def _fixed(digits: int) -> Callable[[float], str]:
    return lambda v: f"{v:.{digits}f}"


def _mib(v: float) -> str:
    return f"{v / MIB:.0f}"


@dataclass(frozen=True)
class Row:
    """One table row: `metric` of `workload`'s samples, rendered with `fmt`."""

    workload: str
    metric: str
    label: str
    fmt: Callable[[float], str] = _seconds
    variants: bool = True
    """Whether the row is repeated for non-default variants of the workload."""


ROWS: tuple[Row, ...] = (
    Row("W1", "run_s", "W1 1000-step chain: run (s)"),
    Row("W1", "per_step_ms", "W1 per step (ms)", _fixed(2)),
    Row("W1", "body_s", "W1 ... of which inside the flow function (s)"),
    Row("W2", "run_s", "W2 64 x sleep 0.1 s + join: run (s)"),
    Row("W2", "parallelism", "W2 effective parallelism (6.4 s / run)", _fixed(1)),
    Row("W2", "body_s", "W2 ... of which inside the flow function (s)"),
    Row("W3", "fill.run_s", "W3 first run, fills cache (s)"),
    Row("W3", "fill.body_s", "W3 first run ... of which inside the flow function (s)"),
    Row("W3", "fill.executed", "W3 first run: steps executed (expect 1000)", _fixed(0)),
    Row("W3", "rerun.run_s", "W3 unchanged re-run (s)"),
    Row("W3", "rerun.body_s", "W3 unchanged re-run ... of which inside the flow function (s)"),
    Row("W3", "rerun.executed", "W3 unchanged re-run: steps executed (ideal 0)", _fixed(0)),
    Row("W3", "change.run_s", "W3 re-run after changing step 500's parameter (s)"),
    Row("W3", "change.body_s", "W3 after change ... of which inside the flow function (s)"),
    Row("W3", "change.executed", "W3 after change: steps executed (ideal 501)", _fixed(0)),
    Row("W4", "run_s", "W4 200 MiB array, producer → consumer: run (s)"),
    Row("W4", "body_s", "W4 ... of which inside the flow function (s)"),
    Row("W4", "peak_rss_bytes", "W4 peak RSS of the process (MiB)", _mib),
    Row("W4", "rss_ratio", "W4 peak RSS / array size", _fixed(2)),
    Row("W4", "extra_rss_ratio", "W4 (peak RSS - RSS before the run) / array size", _fixed(2)),
    Row("W6", "run_s", "W6 1000 x trivial step + join: run (s)"),
    Row("W6", "per_step_ms", "W6 per step (ms)", _fixed(2)),
    Row("W6", "body_s", "W6 ... of which inside the flow function (s)"),
    Row("W5", "import_s", "W5 `python -c 'import <pkg>'` (s)"),
    Row("W5", "interpreter_s", "W5 reference: `python -c pass` (s)", variants=False),
    Row("W1", "startup_s", "Start-up: first one-step run in a fresh state (s)", variants=False),
    Row("W1", "server_start_s", "... of which API server start (s)", variants=False),
    Row("W3", "rerun.startup_s", "Start-up with existing state (W3 re-run) (s)", variants=False),
    Row("W1", "one_step_run_s", "Warm one-step run: fixed cost per run (s)", variants=False),
    Row("W1", "process_s", "W1 whole process, as seen from the shell (s)", variants=False),
)


def _clean(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(samples: Sequence[Sample], row: Row) -> str:
    """Median (min-max) of `row.metric`, with any failures spelled out."""
    if not samples:
        return "not run"
    bad = [s for s in samples if s.status != "ok"]
    ok = [s for s in samples if s.status == "ok"]
    values = [s.metrics[row.metric] for s in ok if row.metric in s.metrics]
    if not values:
        if not bad:
            return "—"
        first = bad[0]
        prefix = {"error": "FAILED: ", "unsupported": "n/a: ", "timeout": "n/a: "}[first.status]
        return _clean(prefix + first.detail) + f" ({len(bad)}/{len(samples)} runs)"
    text = row.fmt(statistics.median(values))
    if len(values) > 1:
        text += f" ({row.fmt(min(values))}-{row.fmt(max(values))})"
    if bad:
        text += f" ⚠ {len(bad)}/{len(samples)} failed: {_clean(bad[0].detail, 60)}"
    return text


def table(samples: Sequence[Sample], tools: Sequence[tuple[str, str]]) -> str:
    """Markdown table; `tools` is ``(key, column label)`` in column order."""
    by_key: dict[tuple[str, str, str], list[Sample]] = {}
    for s in samples:
        by_key.setdefault((s.tool, s.workload, s.variant), []).append(s)
    extra = sorted({(s.workload, s.variant) for s in samples if s.variant != "default"})
    workloads = {s.workload for s in samples if s.variant == "default"}
    lines = [
        "| Metric | " + " | ".join(label for _, label in tools) + " |",
        "|---|" + "---|" * len(tools),
    ]
    rows = [(r, "default") for r in ROWS if r.workload in workloads]
    rows += [(r, v) for w, v in extra for r in ROWS if r.workload == w and r.variants]
    for row, variant in rows:
        label = row.label if variant == "default" else f"{row.label} — variant `{variant}`"
        cells = []
        for key, _ in tools:
            found = by_key.get((key, row.workload, variant), [])
            cells.append(cell(found, row) if found or variant == "default" else "—")
        if all(c == "—" for c in cells):
            continue
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions(samples: Sequence[Sample]) -> dict[str, dict[str, str]]:
    """Package versions reported by each tool's processes."""
    found: dict[str, dict[str, str]] = {}
    for s in samples:
        found.setdefault(s.tool, {}).update(s.versions)
    return found
