// Draws reasoning paths as one small graph in SVG: each concept once, each edge once, labelled
// with its confidence (and its association type when known). No library, no inline styles:
// the look comes from style.css classes, so the page's CSP can forbid inline styles.
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const NODE_W = 176;
  const NODE_H = 46;
  const GAP_X = 150;
  const GAP_Y = 26;
  const PAD = 16;
  const LINE_CHARS = 26;

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (parent) parent.appendChild(node);
    return node;
  }

  // Two lines at most; the full text is in the node's <title>.
  function lines(text) {
    const words = String(text).split(/\s+/).filter(Boolean);
    const out = [""];
    for (const word of words) {
      const current = out[out.length - 1];
      if (!current || (current + " " + word).length <= LINE_CHARS) {
        out[out.length - 1] = current ? current + " " + word : word;
      } else if (out.length < 2) {
        out.push(word);
      } else {
        out[1] = (out[1] + " " + word).slice(0, LINE_CHARS - 1) + "…";
        break;
      }
    }
    return out.map((line) => (line.length > LINE_CHARS ? line.slice(0, LINE_CHARS - 1) + "…" : line));
  }

  function formatConfidence(value) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(2) : "?";
  }

  // paths: [{concepts: [text], concept_ids: [id], edges: [{confidence, type} | null]}]
  function layout(paths) {
    const nodes = new Map();
    const columns = [];
    const edges = new Map();
    paths.forEach((path) => {
      const ids = path.concept_ids;
      ids.forEach((id, i) => {
        if (!nodes.has(id)) {
          columns[i] = (columns[i] || 0) + 1;
          nodes.set(id, { id, text: path.concepts[i] || id, col: i, row: columns[i] - 1, start: false, end: false });
        }
        const node = nodes.get(id);
        if (i === 0) node.start = true;
        if (i === ids.length - 1) node.end = true;
        if (i > 0) {
          const key = ids[i - 1] + ">" + id;
          const reverse = id + ">" + ids[i - 1];
          if (!edges.has(key) && !edges.has(reverse)) {
            edges.set(key, { from: ids[i - 1], to: id, edge: (path.edges || [])[i - 1] || null });
          }
        }
      });
    });
    return { nodes, edges, columns: columns.length, rows: Math.max(1, ...columns.filter(Boolean)) };
  }

  function draw(container, paths, answer) {
    container.textContent = "";
    const usable = paths.filter((p) => Array.isArray(p.concept_ids) && p.concept_ids.length > 0);
    if (!usable.length) return null;
    const g = layout(usable);
    const width = PAD * 2 + g.columns * NODE_W + (g.columns - 1) * GAP_X;
    const height = PAD * 2 + g.rows * NODE_H + (g.rows - 1) * GAP_Y;
    const svg = el("svg", {
      width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": `Reasoning graph: ${g.nodes.size} concepts, ${g.edges.size} edges`,
    });
    const defs = el("defs", {}, svg);
    const marker = el("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 9, markerHeight: 9,
      markerUnits: "userSpaceOnUse", orient: "auto-start-reverse",
    }, defs);
    el("path", { d: "M0 0 L10 5 L0 10 z", class: "arrow" }, marker);

    const box = (node) => ({
      x: PAD + node.col * (NODE_W + GAP_X),
      y: PAD + node.row * (NODE_H + GAP_Y),
    });
    const answerText = String(answer || "").trim();

    const edgeLayer = el("g", { class: "edges" }, svg);
    for (const { from, to, edge } of g.edges.values()) {
      const a = box(g.nodes.get(from));
      const b = box(g.nodes.get(to));
      const forward = b.x >= a.x;
      const x1 = forward ? a.x + NODE_W : a.x;
      const x2 = forward ? b.x : b.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const y2 = b.y + NODE_H / 2;
      const confidence = edge && typeof edge.confidence === "number" ? edge.confidence : null;
      const group = el("g", { class: "edge-group", "data-from": from, "data-to": to }, edgeLayer);
      el("path", {
        class: "edge", d: `M${x1} ${y1} C${(x1 + x2) / 2} ${y1} ${(x1 + x2) / 2} ${y2} ${x2} ${y2}`,
        "stroke-width": confidence === null ? 1.5 : (1 + 3 * confidence).toFixed(2),
        "marker-end": "url(#arrow)",
      }, group);
      const text = (edge && edge.type ? edge.type + " " : "") + formatConfidence(confidence);
      const mx = (x1 + x2) / 2;
      const my = (y1 + y2) / 2;
      const width = text.length * 6.6 + 8;
      el("rect", { class: "edge-label-bg", x: mx - width / 2, y: my - 17, width, height: 15, rx: 3 }, group);
      const label = el("text", {
        class: "edge-label", x: mx, y: my - 6, "text-anchor": "middle",
        "data-confidence": confidence === null ? "" : confidence,
      }, group);
      label.textContent = text;
      el("title", {}, group).textContent =
        `${g.nodes.get(from).text} → ${g.nodes.get(to).text}: confidence ${formatConfidence(confidence)}`;
    }

    const nodeLayer = el("g", { class: "nodes" }, svg);
    for (const node of g.nodes.values()) {
      const { x, y } = box(node);
      const isAnswer = node.end && node.text.trim() === answerText;
      const classes = ["node", node.start ? "start" : "", isAnswer ? "answer" : ""].filter(Boolean);
      const group = el("g", { class: classes.join(" "), "data-concept-id": node.id }, nodeLayer);
      el("title", {}, group).textContent = node.text;
      el("rect", { x, y, width: NODE_W, height: NODE_H, rx: 8 }, group);
      const parts = lines(node.text);
      parts.forEach((line, i) => {
        const dy = parts.length === 1 ? 4 : i === 0 ? -4 : 11;
        el("text", { x: x + NODE_W / 2, y: y + NODE_H / 2 + dy, "text-anchor": "middle" }, group).textContent = line;
      });
    }
    container.appendChild(svg);
    return svg;
  }

  window.SutraGraph = { draw, formatConfidence };
})();
