// The run page: the DAG, the selected step, the logs, all kept live by one event stream.
"use strict";

(() => {
  const { el, clear, time, duration, elapsed, getJSON, post, meta, FINISHED, liveIndicator } = flowyml;
  const runId = decodeURIComponent(window.location.pathname.split("/").pop());
  const apiBase = `/api/runs/${encodeURIComponent(runId)}`;
  const MAX_LINES = 5000; // the logs pane keeps the newest lines of a very chatty run
  const state = {
    run: null,
    steps: new Map(),
    rows: [], // log rows from the stream, oldest first
    finalLogs: new Map(), // step -> stored rows, once the step finished
    selected: null,
    dag: null,
    source: null,
    allowStop: meta("flowyml-allow-stop") === "true",
  };
  let logsDirty = false;

  function renderRun() {
    const run = state.run;
    document.title = `${run.pipeline} ${run.run_id} · FlowyML`;
    document.getElementById("run-title").textContent = `${run.pipeline} · ${run.run_id}`;
    const badge = document.getElementById("run-status");
    badge.textContent = run.status;
    badge.setAttribute("class", `badge status-${run.status}`);
    const c = run.counts;
    const summary = clear(document.getElementById("summary"));
    const fact = (key, value, cls) => el("span", { class: `fact ${cls || ""}` }, el("b", {}, key), " ", value);
    summary.append(
      fact("backend", run.backend, "backend"),
      fact("started", time(run.started_at)),
      fact("duration", duration(elapsed(run)), "duration"),
      fact("steps", `${c.succeeded} done · ${c.failed} failed · ${c.cached} cached · ${c.skipped} skipped · ` +
        `${c.running} running · ${Math.max(c.total, state.steps.size)} in all`, "counts"),
    );
    const error = document.getElementById("run-error");
    error.hidden = !run.error;
    error.textContent = run.error || "";
    document.getElementById("stop").hidden = !(state.allowStop && !FINISHED.has(run.status));
  }

  function groupOf(name) {
    const step = state.steps.get(name);
    return step && step.group ? step.group : null;
  }

  // Which rows the logs pane shows: for a finished step its stored logs; for a running
  // step the lines it (or its group's process) printed so far; with no step selected,
  // every step's, the live lines only until the step's stored ones replace them.
  function visibleLines() {
    const name = state.selected;
    if (name !== null) {
      const step = state.steps.get(name);
      if (step && FINISHED.has(step.status) && state.finalLogs.has(name)) {
        return state.finalLogs.get(name).map((r) => r.text);
      }
      const group = groupOf(name);
      return state.rows.filter((r) => r.live && (r.step === name || (group && r.step === group))).map((r) => r.text);
    }
    // A live row is replaced by stored ones: its step's, or, for a group's row, those of
    // the group's steps once they all finished.
    const replaced = new Set(state.rows.filter((r) => !r.live).map((r) => r.step));
    const members = new Map();
    for (const step of state.steps.values()) {
      if (step.group) members.set(step.group, [...(members.get(step.group) || []), step]);
    }
    for (const [group, steps] of members) {
      if (steps.every((step) => FINISHED.has(step.status))) replaced.add(group);
    }
    return state.rows.filter((r) => !r.live || !replaced.has(r.step)).map((r) => `[${r.step}] ${r.text}`);
  }

  function renderLogs() {
    logsDirty = false;
    const pane = document.getElementById("logs");
    const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 30;
    const lines = [];
    for (const text of visibleLines()) lines.push(...text.replace(/\n$/, "").split("\n"));
    const fragment = document.createDocumentFragment();
    for (const line of lines.slice(-MAX_LINES)) fragment.appendChild(el("div", { class: "line" }, line));
    clear(pane).appendChild(fragment);
    if (!lines.length) pane.appendChild(el("p", { class: "hint" }, "nothing printed yet"));
    if (atBottom) pane.scrollTop = pane.scrollHeight;
    document.getElementById("logs-of").textContent = state.selected === null ? "all steps" : state.selected;
    document.getElementById("logs-all").hidden = state.selected === null;
  }

  function logsChanged() {
    if (!logsDirty) {
      logsDirty = true;
      window.requestAnimationFrame(renderLogs);
    }
  }

  async function loadFinalLogs(name) {
    try {
      const body = await getJSON(`${apiBase}/logs?step=${encodeURIComponent(name)}`);
      state.finalLogs.set(name, body.logs);
      if (state.selected === name) logsChanged();
    } catch (error) {
      document.getElementById("logs-of").textContent = `${name}: ${error.message}`;
    }
  }

  function select(name) {
    state.selected = name;
    if (state.dag) state.dag.select(name);
    flowymlStepPanel.render(document.getElementById("step-panel"), runId, name === null ? null : state.steps.get(name));
    const step = name === null ? null : state.steps.get(name);
    if (step && FINISHED.has(step.status) && !state.finalLogs.has(name)) loadFinalLogs(name);
    logsChanged();
  }

  function updateSteps(changed) {
    for (const view of changed) {
      const before = state.steps.get(view.name);
      const merged = { ...before, ...view };
      if (before && before.group !== undefined) merged.group = before.group;
      if (before && before.resources !== undefined) merged.resources = before.resources;
      state.steps.set(view.name, merged);
      if (state.dag) state.dag.setStatus(view.name, view.status);
      const finishedNow = FINISHED.has(view.status) && !(before && FINISHED.has(before.status));
      if (finishedNow) state.finalLogs.delete(view.name);
      if (view.name === state.selected) {
        flowymlStepPanel.render(document.getElementById("step-panel"), runId, merged);
        if (finishedNow) loadFinalLogs(view.name);
      }
    }
    logsChanged();
  }

  function connect(after) {
    const source = new EventSource(`${apiBase}/stream?after=${after}`);
    state.source = source;
    source.addEventListener("open", () => liveIndicator("live"));
    source.addEventListener("error", () => {
      if (state.source === source) liveIndicator("reconnecting");
    });
    source.addEventListener("run", (event) => {
      state.run = JSON.parse(event.data);
      renderRun();
    });
    source.addEventListener("steps", (event) => updateSteps(JSON.parse(event.data)));
    source.addEventListener("logs", (event) => {
      state.rows.push(...JSON.parse(event.data));
      if (state.rows.length > 4 * MAX_LINES) state.rows.splice(0, state.rows.length - 4 * MAX_LINES);
      logsChanged();
    });
    source.addEventListener("end", () => {
      source.close();
      state.source = null;
      liveIndicator("finished");
      if (state.selected !== null) loadFinalLogs(state.selected);
    });
  }

  async function stop() {
    const message = document.getElementById("stop-message");
    const button = document.getElementById("stop");
    button.disabled = true;
    message.textContent = "stopping…";
    try {
      const body = await post(`${apiBase}/stop`);
      message.textContent = body.message || "stop requested";
    } catch (error) {
      message.textContent = error.message;
      button.disabled = false;
    }
  }

  async function start() {
    let detail;
    try {
      detail = await getJSON(apiBase);
    } catch (error) {
      document.getElementById("run-title").textContent = error.message;
      liveIndicator("error");
      return;
    }
    state.run = detail.run;
    for (const [name, view] of Object.entries(detail.steps)) state.steps.set(name, view);
    renderRun();
    const started = performance.now();
    state.dag = flowymlDag.draw(document.getElementById("dag"), detail.graph, select);
    for (const [name, view] of state.steps) state.dag.setStatus(name, view.status);
    const nodes = detail.graph.nodes.length;
    document.getElementById("dag-info").textContent =
      `${nodes} steps · ${detail.graph.edges.length} edges · drawn in ${Math.round(performance.now() - started)} ms` +
      (detail.recorded_graph ? "" : " · no graph was recorded for this run: steps only");
    state.dag.fitReadable();
    renderLogs();
    connect(0);
  }

  document.getElementById("zoom-in").addEventListener("click", () => state.dag && state.dag.zoomBy(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => state.dag && state.dag.zoomBy(0.8));
  document.getElementById("zoom-fit").addEventListener("click", () => state.dag && state.dag.fit());
  document.getElementById("logs-all").addEventListener("click", () => select(null));
  document.getElementById("stop").addEventListener("click", stop);
  // Running durations tick without a message from the server.
  window.setInterval(() => {
    if (state.run && !state.run.finished_at) {
      const cell = document.querySelector("#summary .duration");
      if (cell) cell.lastChild.textContent = duration(elapsed(state.run));
    }
    const step = state.selected === null ? null : state.steps.get(state.selected);
    if (step && step.status === "running") {
      flowymlStepPanel.render(document.getElementById("step-panel"), runId, step);
    }
  }, 1000);
  start();
})();
