// The DAG of a run, drawn as SVG from the server's layout: steps as nodes, artifacts as
// edges, groups outlined. Statuses are classes, so a change repaints one node.
"use strict";

const flowymlDag = (() => {
  const { svg, clear } = flowyml;
  const LABEL_CHARS = 22;
  const EDGE_LABELS_UP_TO = 80; // more edges than this: artifact names only on hover

  function label(name) {
    return name.length > LABEL_CHARS ? `${name.slice(0, LABEL_CHARS - 1)}…` : name;
  }

  function draw(container, graph, onSelect) {
    const W = graph.node_width;
    const H = graph.node_height;
    const root = svg("svg", {
      class: "dag",
      viewBox: `0 0 ${graph.width} ${graph.height}`,
      width: graph.width,
      height: graph.height,
      role: "img",
      "aria-label": "the steps of the run and the artifacts between them",
    });
    const groups = svg("g", { class: "groups" });
    const edges = svg("g", { class: "edges" });
    const labels = svg("g", { class: "edge-labels" });
    const nodes = svg("g", { class: "nodes" });
    const position = new Map(graph.nodes.map((n) => [n.name, n]));
    for (const box of graph.groups) {
      groups.appendChild(svg("rect", {
        class: "group", x: box.x, y: box.y, width: box.width, height: box.height, rx: 8,
        "data-group": box.name,
      }, svg("title", {}, `group ${box.name}`)));
      groups.appendChild(svg("text", { class: "group-label", x: box.x + 4, y: box.y - 3 }, box.name));
    }
    const showLabels = graph.edges.length <= EDGE_LABELS_UP_TO;
    for (const edge of graph.edges) {
      const a = position.get(edge.source);
      const b = position.get(edge.target);
      if (!a || !b) continue;
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x;
      const y2 = b.y + H / 2;
      const mid = (x1 + x2) / 2;
      const names = edge.artifacts.join(", ");
      edges.appendChild(svg("path", {
        class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`,
        "data-source": edge.source, "data-target": edge.target,
      }, svg("title", {}, names ? `${edge.source} → ${edge.target}: ${names}` : `${edge.source} → ${edge.target}`)));
      if (showLabels && names) {
        labels.appendChild(svg("text", { class: "edge-label", x: mid, y: (y1 + y2) / 2 - 3 }, names));
      }
    }
    const byName = new Map();
    for (const node of graph.nodes) {
      const g = svg("g", {
        class: "node status-pending", transform: `translate(${node.x},${node.y})`,
        "data-step": node.name, tabindex: 0,
      },
      svg("rect", { width: W, height: H, rx: 5 }),
      svg("circle", { class: "dot", cx: 12, cy: H / 2, r: 5 }),
      svg("text", { x: 24, y: H / 2 + 4 }, label(node.name)),
      svg("title", {}, node.group ? `${node.name} (group ${node.group})` : node.name));
      g.addEventListener("click", () => onSelect(node.name));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") onSelect(node.name);
      });
      byName.set(node.name, g);
      nodes.appendChild(g);
    }
    root.append(groups, edges, labels, nodes);
    clear(container).appendChild(root);

    let zoom = 1;
    // Ctrl + wheel zooms the graph instead of the page.
    container.addEventListener("wheel", (event) => {
      if (!event.ctrlKey) return;
      event.preventDefault();
      setZoom(zoom * (event.deltaY < 0 ? 1.1 : 0.9));
    }, { passive: false });
    function setZoom(value) {
      zoom = Math.max(0.1, Math.min(3, value));
      root.setAttribute("width", String(Math.round(graph.width * zoom)));
      root.setAttribute("height", String(Math.round(graph.height * zoom)));
    }

    return {
      setStatus(name, status) {
        const g = byName.get(name);
        if (!g) return;
        const selected = g.classList.contains("selected") ? " selected" : "";
        g.setAttribute("class", `node status-${status}${selected}`);
      },
      select(name) {
        for (const g of container.querySelectorAll(".node.selected")) g.classList.remove("selected");
        const g = byName.get(name);
        if (g) g.classList.add("selected");
      },
      zoomBy(factor) { setZoom(zoom * factor); },
      // The whole width in view: a large graph shrinks, a small one grows up to 1.5 times.
      fit() { setZoom(Math.min(1.5, (container.clientWidth - 4) / graph.width)); },
      // As fit, but never so small that names cannot be read: a large graph scrolls.
      fitReadable() {
        setZoom(Math.max(0.75, Math.min(1.5, (container.clientWidth - 4) / graph.width)));
      },
    };
  }

  return { draw };
})();
