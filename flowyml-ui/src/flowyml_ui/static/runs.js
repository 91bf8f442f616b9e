// The runs page: every run, filtered by pipeline and status, kept live by one event stream.
"use strict";

(() => {
  const { el, clear, time, duration, elapsed, liveIndicator } = flowyml;
  const body = document.querySelector("#runs tbody");
  const empty = document.getElementById("empty");
  const pipelineSelect = document.getElementById("pipeline");
  const statusSelect = document.getElementById("status");
  const pipelines = new Set();
  let runs = [];
  let source = null;

  function filters() {
    const params = new URLSearchParams(window.location.search);
    return { pipeline: params.get("pipeline") || "", status: params.get("status") || "" };
  }

  function fillStatuses(statuses) {
    for (const status of statuses) statusSelect.appendChild(el("option", { value: status }, status));
    statusSelect.value = filters().status;
  }

  function fillPipelines() {
    const chosen = filters().pipeline;
    if (chosen) pipelines.add(chosen);
    const known = new Set(Array.from(pipelineSelect.options).map((o) => o.value));
    for (const name of Array.from(pipelines).sort()) {
      if (!known.has(name)) pipelineSelect.appendChild(el("option", { value: name }, name));
    }
    pipelineSelect.value = chosen;
  }

  function row(run) {
    const href = `/runs/${encodeURIComponent(run.run_id)}`;
    const c = run.counts;
    return el(
      "tr",
      { "data-run-id": run.run_id, class: `run status-${run.status}` },
      el("td", { class: "run-id" }, el("a", { href }, run.run_id)),
      el("td", { class: "pipeline" }, run.pipeline),
      el("td", { class: "backend" }, run.backend),
      el("td", { class: "status" }, el("span", { class: `badge status-${run.status}` }, run.status)),
      el("td", { class: "started" }, time(run.started_at)),
      el("td", { class: "duration" }, duration(elapsed(run))),
      el("td", { class: "done" }, `${c.succeeded}/${c.total}`),
      el("td", { class: "failed" }, String(c.failed)),
      el("td", { class: "cached" }, String(c.cached)),
    );
  }

  function render() {
    clear(body);
    for (const run of runs) body.appendChild(row(run));
    empty.hidden = runs.length > 0;
  }

  function connect() {
    if (source) source.close();
    const { pipeline, status } = filters();
    const query = new URLSearchParams();
    if (pipeline) query.set("pipeline", pipeline);
    if (status) query.set("status", status);
    source = new EventSource(`/api/runs/stream?${query}`);
    source.addEventListener("open", () => liveIndicator("live"));
    source.addEventListener("error", () => liveIndicator("reconnecting"));
    source.addEventListener("runs", (event) => {
      runs = JSON.parse(event.data);
      for (const run of runs) pipelines.add(run.pipeline);
      fillPipelines();
      render();
    });
  }

  function onFilter() {
    const query = new URLSearchParams();
    if (pipelineSelect.value) query.set("pipeline", pipelineSelect.value);
    if (statusSelect.value) query.set("status", statusSelect.value);
    const search = query.toString();
    window.history.replaceState(null, "", search ? `/?${search}` : "/");
    connect();
  }

  document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
  pipelineSelect.addEventListener("change", onFilter);
  statusSelect.addEventListener("change", onFilter);
  // Durations of running runs tick without a message from the server.
  window.setInterval(() => {
    for (const run of runs) {
      if (run.finished_at) continue;
      const cell = body.querySelector(`tr[data-run-id="${CSS.escape(run.run_id)}"] .duration`);
      if (cell) cell.textContent = duration(elapsed(run));
    }
  }, 1000);
  fillStatuses(["running", "success", "failed", "cancelled", "crashed"]);
  fillPipelines();
  connect();
})();
