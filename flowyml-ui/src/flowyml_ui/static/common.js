// What both pages share: building DOM nodes from untrusted text, formatting, requests.
// Every text from the server goes through createTextNode/textContent, never markup.
"use strict";

const flowyml = (() => {
  const SVG_NS = "http://www.w3.org/2000/svg";

  function meta(name) {
    const node = document.querySelector(`meta[name="${name}"]`);
    return node ? node.getAttribute("content") : "";
  }

  function append(parent, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
    return parent;
  }

  // el("td", {class: "status"}, "text", otherNode): attributes are set one by one.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return append(node, children);
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    return append(node, children);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function time(ts) {
    if (ts === null || ts === undefined) return "–";
    const d = new Date(ts * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    const m = Math.floor(seconds / 60);
    if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  // The duration of a run or step: recorded once finished, counted live while running.
  function elapsed(item) {
    if (item.duration !== null && item.duration !== undefined) return item.duration;
    if (item.started_at && !item.finished_at) return Date.now() / 1000 - item.started_at;
    return null;
  }

  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
  }

  const FINISHED = new Set(["success", "cached", "skipped", "failed", "cancelled", "crashed"]);

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  async function post(url) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-Flowyml-Token": meta("flowyml-token"), Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  // Shows whether a stream is connected, in the header's live indicator.
  function liveIndicator(state) {
    const node = document.getElementById("live");
    if (!node) return;
    node.textContent = state;
    node.setAttribute("class", `live live-${state.replace(/[^a-z]/g, "")}`);
  }

  return { meta, el, svg, clear, append, time, duration, elapsed, bytes, FINISHED, getJSON, post, liveIndicator };
})();
