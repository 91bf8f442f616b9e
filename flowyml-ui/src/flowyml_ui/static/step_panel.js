// The panel of one step: status, timings, parameters, resources, error, artifacts.
"use strict";

const flowymlStepPanel = (() => {
  const { el, clear, time, duration, elapsed, bytes, getJSON } = flowyml;

  function facts(rows) {
    const dl = el("dl", { class: "facts" });
    for (const [key, value] of rows) {
      if (value === null || value === undefined || value === "") continue;
      dl.append(el("dt", {}, key), el("dd", {}, value));
    }
    return dl;
  }

  function parameters(params) {
    const names = Object.keys(params || {});
    if (!names.length) return null;
    const body = el("tbody", {});
    for (const name of names.sort()) {
      const entry = params[name];
      let source = entry.from || "";
      if ("shadows" in entry) source += ` (run value ${JSON.stringify(entry.shadows)} not used)`;
      body.appendChild(el("tr", {}, el("td", {}, name), el("td", { class: "mono" }, JSON.stringify(entry.value)), el("td", {}, source)));
    }
    return el("section", { class: "parameters" }, el("h4", {}, "Parameters"),
      el("table", { class: "small-table" }, el("thead", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "value"), el("th", {}, "from"))), body));
  }

  function resources(step) {
    const rows = [];
    for (const [key, value] of Object.entries(step.resources || {})) {
      if (value !== null && value !== undefined) rows.push([key, typeof value === "object" ? JSON.stringify(value) : String(value)]);
    }
    const u = step.usage;
    if (u) {
      rows.push(["CPU time", duration(u.cpu_user_seconds + u.cpu_system_seconds)]);
      if (u.peak_memory_bytes) rows.push(["peak memory", bytes(u.peak_memory_bytes)]);
      if (u.gpu_peak_memory_bytes) rows.push(["peak GPU memory", bytes(u.gpu_peak_memory_bytes)]);
      if (u.memory_limit_bytes !== null) rows.push(["memory limit", bytes(u.memory_limit_bytes)]);
      if (u.oom_killed) rows.push(["killed", "out of memory"]);
    }
    if (!rows.length) return null;
    return el("section", { class: "resources" }, el("h4", {}, "Resources"), facts(rows));
  }

  function previewTable(preview) {
    const head = el("tr", {}, ...preview.columns.map((c) => el("th", {}, c)));
    const body = el("tbody", {}, ...preview.rows.map((r) => el("tr", {}, ...r.map((v) => el("td", {}, v)))));
    const shape = `shape ${preview.shape.join(" × ")}${preview.dtype ? `, ${preview.dtype}` : ""}`;
    return el("div", { class: "preview" }, el("p", { class: "hint" }, shape),
      el("div", { class: "table-scroll" }, el("table", { class: "small-table" }, el("thead", {}, head), body)));
  }

  async function showPreview(runId, step, name, target) {
    clear(target).appendChild(el("p", { class: "hint" }, "loading…"));
    const url = `/api/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step)}/artifacts/${encodeURIComponent(name)}`;
    try {
      const preview = await getJSON(url);
      clear(target);
      if (preview.kind === "json") target.appendChild(el("pre", { class: "preview mono" }, preview.text));
      else if (preview.kind === "table") target.appendChild(previewTable(preview));
      else target.appendChild(el("p", { class: "hint" }, preview.reason));
    } catch (error) {
      clear(target).appendChild(el("p", { class: "error-line" }, String(error.message)));
    }
  }

  function artifacts(runId, step) {
    const names = Object.keys(step.outputs || {});
    if (!names.length) return null;
    const list = el("ul", { class: "artifacts" });
    for (const name of names) {
      const ref = step.outputs[name];
      const target = el("div", { class: "preview-slot" });
      const button = el("button", { type: "button", class: "small" }, "preview");
      button.addEventListener("click", () => showPreview(runId, step.name, name, target));
      list.appendChild(el("li", { "data-artifact": name },
        el("strong", {}, name), ref.size ? ` ${bytes(ref.size)} ` : " ", button,
        el("div", { class: "uri mono" }, ref.uri || ""), target));
    }
    return el("section", { class: "artifacts-section" }, el("h4", {}, "Artifacts"), list);
  }

  function render(container, runId, step) {
    clear(container);
    if (!step) {
      container.appendChild(el("p", { class: "hint" }, "Select a step in the graph."));
      return;
    }
    container.append(
      el("h3", {}, el("span", { class: "step-name" }, step.name), " ",
        el("span", { class: `badge status-${step.status}`, id: "step-status" }, step.status)),
      facts([
        ["group", step.group && step.group !== step.name ? step.group : null],
        ["started", step.started_at ? time(step.started_at) : null],
        ["finished", step.finished_at ? time(step.finished_at) : null],
        ["duration", step.started_at ? duration(elapsed(step)) : null],
        ["retries", String(step.retries)],
        ["cached", step.cached ? "yes" : null],
        ["skipped", step.skipped ? "yes" : null],
        ["exit code", step.exit_code === null ? null : String(step.exit_code)],
      ]),
    );
    flowyml.append(container, [parameters(step.parameters), resources(step)]);
    if (step.error) {
      container.appendChild(el("section", { class: "error" }, el("h4", {}, "Error"),
        el("p", { class: "error-line" }, step.error),
        step.traceback ? el("pre", { class: "traceback mono" }, step.traceback) : null));
    }
    flowyml.append(container, [artifacts(runId, step)]);
  }

  return { render };
})();
