/* autoprov report: zoom and pan of the graph, the timeline, and the side panel.
   Everything it shows comes from the JSON in #report-data; it loads nothing. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("report-data").textContent);
  var acts = new Map();
  data.acts.forEach(function (a) { acts.set(a.n, a); });
  var ents = data.ents;
  var nodes = data.nodes;
  var panel = document.getElementById("panel-body");
  var view = document.getElementById("graph-view");
  var svg = null;  // the shown layer's drawing
  var nodeElements = new Map();  // DOT node id -> <g class="node"> of the shown layer
  // the graph's layers (products, call tree, each with one loop expanded): which node draws an activity or entity in each
  var layers = {}, layer = data.layers.length ? data.layers[0].id : null;
  data.layers.forEach(function (l) { layers[l.id] = { info: l, a: new Map(), e: new Map() }; });
  Object.keys(nodes).forEach(function (id) {
    var node = nodes[id], into = layers[node.layer];
    if (!into) { return; }
    if (node.kind === "entity") { node.items.forEach(function (i) { into.e.set(i, id); }); }
    else if (node.kind === "activity" || !node.expanded) { node.items.forEach(function (n) { into.a.set(n, id); }); }
  });
  function nodeOf(kind, id) { var l = layers[layer]; return l ? l[kind === "a" ? "a" : "e"].get(id) : undefined; }
  var t0 = data.run.t0;  // epoch milliseconds of the run's start
  var MAX_CALLS = 500;  // rows of a collapsed node's call list

  // -- small helpers -------------------------------------------------------------------------

  function h(tag, attrs) {
    var element = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        if (attrs[key] !== null && attrs[key] !== undefined) { element.setAttribute(key, attrs[key]); }
      });
    }
    for (var i = 2; i < arguments.length; i++) { append(element, arguments[i]); }
    return element;
  }

  function append(element, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { append(element, c); }); return; }
    element.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  function esc(text) {
    return String(text).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; });
  }

  function duration(ms) {
    if (ms === null || ms === undefined) { return "?"; }
    if (ms === 0) { return "0"; }
    if (ms < 1) { return (ms * 1000).toFixed(0) + " \u00b5s"; }
    if (ms < 1000) { return ms.toFixed(ms < 10 ? 2 : 0) + " ms"; }
    if (ms < 120000) { return (ms / 1000).toFixed(2) + " s"; }
    return (ms / 60000).toFixed(1) + " min";
  }

  function when(ms) {
    if (ms === null || ms === undefined) { return "never ended"; }
    var offset = "+" + duration(ms);
    return t0 ? offset + "  (" + new Date(t0 + ms).toISOString().replace("T", " ").replace("Z", " UTC") + ")" : offset;
  }

  function size(bytes) {
    if (bytes === null || bytes === undefined) { return "?"; }
    var units = ["B", "KiB", "MiB", "GiB"];
    var value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return (unit ? value.toFixed(1) : value) + " " + units[unit] + (unit ? " (" + bytes + " bytes)" : "");
  }

  function value(v) {
    if (typeof v === "string") {
      return v.length > 60 || v.indexOf("\n") >= 0 ? h("pre", null, v) : h("code", null, v);
    }
    if (v !== null && typeof v === "object") {
      var compact = JSON.stringify(v);
      return compact.length <= 60 ? h("code", null, compact) : h("pre", null, JSON.stringify(v, null, 1));
    }
    return h("code", null, JSON.stringify(v));
  }

  function kv(rows) {
    var table = h("table", { "class": "kv" });
    rows.forEach(function (row) {
      if (row && row[1] !== null && row[1] !== undefined && row[1] !== "") {
        table.appendChild(h("tr", null, h("th", { title: row[0] }, row[0]), h("td", null, row[1])));
      }
    });
    return table;
  }

  function actLink(n, text) {
    if (n === null || n === undefined) { return h("a", { href: "#session" }, text || "the run (script)"); }
    var a = acts.get(n);
    return h("a", { href: "#act-" + n, title: a ? a.name : "" }, text || (a ? a.short : "activity " + n));
  }

  function entLink(i) {
    var e = ents[i];
    return h("a", { href: "#ent-" + i, title: e.path || e.type || "" }, e.label + (e.version > 1 ? " (v" + e.version + ")" : ""));
  }

  function shortDigest(e) {
    return e.digest ? h("span", { "class": "digest", title: (e.alg || "") + " " + e.digest }, " " + e.digest.slice(0, 12) + "\u2026") : null;
  }

  function linkList(items, render) {
    if (!items.length) { return h("p", { "class": "muted" }, "none"); }
    var list = h("ul", { "class": "links" });
    items.slice(0, 200).forEach(function (item) { list.appendChild(h("li", null, render(item))); });
    if (items.length > 200) { list.appendChild(h("li", { "class": "muted" }, "\u2026 and " + (items.length - 200) + " more")); }
    return list;
  }

  function role(text) { return [h("span", { "class": "role" }, text), " "]; }

  function show(kind, title, subtitle) {
    panel.textContent = "";
    append(panel, [h("div", { "class": "kind" }, kind), h("h2", null, title)]);
    if (subtitle) { panel.appendChild(h("div", { "class": "full" }, subtitle)); }
    panel.parentNode.scrollTop = 0;
  }

  function section(title, content) { append(panel, [h("h3", null, title), content]); }

  // -- the side panel ------------------------------------------------------------------------

  function showActivity(a) {
    var group = a.node && nodes[a.node] && nodes[a.node].items.length > 1 ? nodes[a.node].items : null;
    show("activity" + (group ? " \u00b7 call " + (group.indexOf(a.n) + 1) + " of " + group.length : ""), a.short, a.name);
    panel.appendChild(kv([
      ["status", h("span", { "class": "badge status-" + a.status }, a.status)],
      ["started", when(a.start)],
      ["ended", when(a.end)],
      ["duration", a.end !== null ? duration(a.end - a.start) : "unfinished"],
      ["thread", a.thread],
      ["rule", h("code", null, a.rule)],
      ["called by", actLink(a.parent)],
      ["PROV id", h("code", null, "run:act_" + a.n)],
      ["all calls", group ? h("a", { href: "#node-" + a.node }, group.length + " calls of this function here") : null]
    ]));
    if (a.error) { section("error", h("div", { "class": "error" }, a.error)); }
    var names = Object.keys(a.params || {});
    section("parameters", names.length ? kv(names.map(function (name) { return [name, value(a.params[name])]; })) : h("p", { "class": "muted" }, "none recorded"));
    section("used", linkList(a.used, function (u) { return [role(u[1]), entLink(u[0]), shortDigest(ents[u[0]])]; }));
    section("generated", linkList(a.gen, function (g) { return [role(g[1]), entLink(g[0]), shortDigest(ents[g[0]])]; }));
    if (a.children.length) { section("calls inside", linkList(a.children, function (n) { return actLink(n); })); }
    var description = (data.descs[a.name] || {}).activity || {};
    if (description.description || description.docurl) {
      section("description", kv([["description", description.description], ["documentation", description.docurl ? h("code", null, description.docurl) : null]]));
    }
  }

  function showEntity(e, index) {
    var kinds = { file: "file", path: "directory or unread path", obj: "Python object" };
    show(kinds[e.kind] || e.kind, e.label + (e.version > 1 ? " (version " + e.version + ")" : ""), e.path || e.type);
    var rows = [["PROV id", e.id ? h("code", null, e.id) : null]];
    if (e.kind === "file") {
      rows.push(["version", e.version === 0 ? "0 (as found before the run)" : String(e.version)]);
      rows.push(["digest", e.digest ? h("code", null, (e.alg || "") + " " + e.digest) : "not hashed"]);
      rows.push(["size", size(e.size)]);
      rows.push(["modified", e.mtime]);
    }
    if (e.obj) {
      Object.keys(e.obj).forEach(function (key) { rows.push([key, value(e.obj[key])]); });
    }
    if (e.removed) { rows.push(["removed by", [actLink(e.removed[0]), " at " + when(e.removed[1])]]); }
    panel.appendChild(kv(rows));
    section("generated by", linkList(e.gen, function (g) { return [role(g[1]), actLink(g[0]), h("span", { "class": "muted" }, " " + when(g[2]).split("  ")[0])]; }));
    var inputs = [];
    e.gen.forEach(function (g) {
      var maker = g[0] === null ? data.run : acts.get(g[0]);
      (maker ? maker.used : []).forEach(function (u) { if (u[0] !== index && inputs.indexOf(u[0]) < 0) { inputs.push(u[0]); } });
    });
    if (inputs.length) { section("made from (what its writer used)", linkList(inputs, function (i) { return [entLink(i), shortDigest(ents[i])]; })); }
    var made = stepsOf(index);
    if (made.length) { section("processing steps", stepList(made)); }
    section("used by", linkList(e.used, function (u) { return [role(u[1]), actLink(u[0]), h("span", { "class": "muted" }, " " + when(u[2]).split("  ")[0])]; }));
    if (e.from.length) { section("derived from", linkList(e.from, entLink)); }
    if (e.to.length) { section("derived into", linkList(e.to, entLink)); }
    if ((e.inferred || []).length) { section("inferred from (not in the record: files the run read before writing it)", linkList(e.inferred, entLink)); }
    if (e.members.length) { section("members", linkList(e.members, entLink)); }
    if (e["in"].length) { section("member of", linkList(e["in"], entLink)); }
    var versions = [];
    ents.forEach(function (other, i) { if (i !== index && other.kind === "file" && other.path === e.path) { versions.push(i); } });
    if (versions.length) { section("other versions", linkList(versions, entLink)); }
  }

  function showGroup(id) {
    var node = nodes[id];
    if (node.kind === "activity") {
      var calls = node.items.map(function (n) { return acts.get(n); });
      show("activity \u00b7 " + calls.length + " calls", calls[0].short + " \u00d7 " + calls.length, calls[0].name);
      var total = 0, failed = 0;
      calls.forEach(function (a) { total += a.end !== null ? a.end - a.start : 0; failed += a.status === "completed" ? 0 : 1; });
      panel.appendChild(kv([["total time", duration(total)], ["not completed", failed ? String(failed) : null], ["called by", actLink(calls[0].parent)]]));
      var table = h("table", { "class": "kv calls" }, h("tr", null, h("th", null, "call"), h("th", null, "start"), h("th", null, "duration"), h("th", null, "status")));
      calls.slice(0, MAX_CALLS).forEach(function (a, i) {
        table.appendChild(h("tr", null, h("td", null, actLink(a.n, "#" + (i + 1))), h("td", null, "+" + duration(a.start)),
          h("td", null, a.end !== null ? duration(a.end - a.start) : "?"), h("td", null, a.status)));
      });
      section("calls", table);
      if (calls.length > MAX_CALLS) { panel.appendChild(h("p", { "class": "muted" }, "\u2026 and " + (calls.length - MAX_CALLS) + " more calls")); }
      var first = calls[0].params || {};
      section("parameters of the first call", kv(Object.keys(first).map(function (name) { return [name, value(first[name])]; })));
    } else {
      show("entities \u00b7 " + node.items.length, ents[node.items[0]].label + " \u00d7 " + node.items.length, null);
      section("members of this node", linkList(node.items, function (i) { return [entLink(i), shortDigest(ents[i])]; }));
    }
  }

  function showSession() {
    show("run", document.querySelector(".heading h1").textContent, data.run.id);
    panel.appendChild(kv([["status", h("span", { "class": "badge status-" + data.run.status }, data.run.status)], ["duration", duration(data.run.duration)],
      ["activities", String(data.acts.length)], ["entities", String(ents.length)], ["PROV id", h("code", null, "run:session")]]));
    section("read by the script itself", linkList(data.run.used, function (u) { return [role(u[1]), entLink(u[0])]; }));
    section("written by the script itself", linkList(data.run.gen, function (g) { return [role(g[1]), entLink(g[0])]; }));
  }

  // -- processing steps: the calls between an entity and what it came from (as `autoprov lineage`) --

  function keyOf(a, name) {
    var description = data.descs[a.name] || {};
    var spec = (description.parameters || {})[name] || (description.results || {})[name] || {};
    return spec.key === true ? (spec.name || name) : null;
  }

  function stepsOf(index) {
    var through = new Set(), seen = new Set(), queue = [index];
    while (queue.length) {  // backwards: generation, usage before it, derivation, membership
      var i = queue.pop();
      if (seen.has(i)) { continue; }
      seen.add(i);
      var e = ents[i];
      e.gen.forEach(function (g) {
        var a = g[0] === null ? null : acts.get(g[0]);
        if (!a) { return; }
        through.add(a.n);
        a.used.forEach(function (u) { if (ents[u[0]].kind !== "file" || u[0] === index) { queue.push(u[0]); } });
      });
      e.from.forEach(function (j) { queue.push(j); });
      (e.prev || []).forEach(function (j) { queue.push(j); });
      e.members.forEach(function (j) { queue.push(j); });
    }
    var chosen = new Set(), todo = Array.from(through);
    while (todo.length) {  // with the calls nested in them ...
      var n = todo.pop();
      if (chosen.has(n)) { continue; }
      chosen.add(n);
      acts.get(n).children.forEach(function (c) { todo.push(c); });
    }
    through.forEach(function (n) {  // ... and the calls they are nested in
      for (var p = acts.get(n).parent; p !== null && p !== undefined && !chosen.has(p); p = acts.get(p).parent) { chosen.add(p); }
    });
    var tops = data.acts.filter(function (a) { return chosen.has(a.n) && !chosen.has(a.parent); });
    return condense(tops, chosen);
  }

  function condense(calls, chosen) {  // siblings of one function with the same key parameters: one step
    var steps = [], byKey = new Map();
    calls.forEach(function (a) {
      var key = {};
      Object.keys(a.params || {}).sort().forEach(function (name) { var label = keyOf(a, name); if (label) { key[label] = a.params[name]; } });
      var id = a.name + "\u0000" + JSON.stringify(key);
      var step = byKey.get(id);
      if (!step) { step = { act: a, key: key, calls: [], nested: [] }; byKey.set(id, step); steps.push(step); }
      step.calls.push(a.n);
      a.children.forEach(function (c) { if (chosen.has(c)) { step.nested.push(acts.get(c)); } });
    });
    steps.forEach(function (step) { step.steps = condense(step.nested, chosen); });
    return steps;
  }

  function readable(v) {  // an array of numbers as a scientist writes it: [1, 3.162, 10] TeV
    if (v === null || typeof v !== "object" || !Array.isArray(v.values)) { return v; }
    var numbers = v.values.map(function (x) { return typeof x === "number" ? Number(x.toPrecision(4)) : x; });
    return "[" + numbers.join(", ") + "]" + (v.unit ? " " + v.unit : "");
  }

  function stepList(steps) {
    var list = h("ul", { "class": "links steps" });
    steps.forEach(function (step) {
      var values = Object.keys(step.key).map(function (name) { return [" ", h("span", { "class": "role" }, name), " ", value(readable(step.key[name]))]; });
      list.appendChild(h("li", null, actLink(step.act.n), step.calls.length > 1 ? " \u00d7" + step.calls.length : null, values,
        step.steps.length ? stepList(step.steps) : null));
    });
    return list;
  }

  // -- lineage: what a selection came from and what came of it, as graph nodes -----------------

  function lineage(start) {
    var result = new Set();
    function walk(queue, forward) {
      var visited = new Set();
      while (queue.length) {
        var item = queue.pop();
        var key = item[0] + item[1];
        if (visited.has(key)) { continue; }
        visited.add(key);
        var holder = item[0] === "a" ? acts.get(item[1]) : ents[item[1]];
        if (!holder) { continue; }
        var drawn = nodeOf(item[0], item[1]);
        if (drawn) { result.add(drawn); }
        if (item[0] === "a") {
          (forward ? holder.gen : holder.used).forEach(function (link) { queue.push(["e", link[0]]); });
          if (forward) { holder.children.forEach(function (n) { queue.push(["a", n]); }); }  // its nested calls
        } else {
          (forward ? holder.used : holder.gen).forEach(function (link) { if (link[0] !== null) { queue.push(["a", link[0]]); } });
          (forward ? holder.to : holder.from).forEach(function (i) { queue.push(["e", i]); });
          (forward ? holder["in"] : holder.members).forEach(function (i) { queue.push(["e", i]); });
        }
      }
    }
    walk([start], false);  // what it came from
    walk([start], true);  // what came of it
    return result;
  }

  // -- selection -----------------------------------------------------------------------------

  var selected = null;

  function highlight(nodeId, related, readable) {
    nodeElements.forEach(function (g) { g.classList.remove("selected", "related"); });
    if (!svg) { return; }
    svg.querySelectorAll(".edge.related").forEach(function (g) { g.classList.remove("related"); });
    view.classList.toggle("focus", Boolean(nodeId));
    if (!nodeId) { return; }
    related.forEach(function (id) { var g = nodeElements.get(id); if (g) { g.classList.add("related"); } });
    svg.querySelectorAll(".edge").forEach(function (g) {
      var title = g.querySelector("title");
      var ends = title ? title.textContent.split("->") : [];
      if (ends.length === 2 && related.has(ends[0]) && related.has(ends[1])) { g.classList.add("related"); }
    });
    var element = nodeElements.get(nodeId);
    if (element) { element.classList.add("selected"); reveal(element, readable); }
  }

  function markTimeline(actIds) {
    document.querySelectorAll("#timeline-view .bar.selected").forEach(function (bar) { bar.classList.remove("selected"); });
    actIds.forEach(function (n) {
      var bar = document.querySelector('#timeline-view .bar[data-act="' + n + '"]');
      if (bar) { bar.classList.add("selected"); }
    });
  }

  function markRows(index) {
    document.querySelectorAll("table.files tr.selected").forEach(function (row) { row.classList.remove("selected"); });
    if (index === null) { return; }
    document.querySelectorAll('table.files a[href="#ent-' + index + '"]').forEach(function (a) { a.closest("tr").classList.add("selected"); });
  }

  function select(target, fromGraph) {
    var readable = !fromGraph;
    var match = /^(act|ent|node)-(.+)$/.exec(target) || (target === "session" ? ["", "node", "session"] : null);
    if (!match) { return false; }
    var kind = match[1], id = match[2];
    if (kind === "act") {
      var a = acts.get(Number(id));
      if (!a) { return false; }
      showActivity(a);
      highlight(nodeOf("a", a.n), lineage(["a", a.n]), readable);
      markTimeline([a.n]);
      markRows(null);
    } else if (kind === "ent") {
      var e = ents[Number(id)];
      if (!e) { return false; }
      showEntity(e, Number(id));
      highlight(nodeOf("e", Number(id)), lineage(["e", Number(id)]), readable);
      markTimeline([]);
      markRows(Number(id));
    } else {
      var node = nodes[id];
      if (!node) { return false; }
      if (id === "session") { showSession(); highlight("session", new Set(["session"]), readable); markTimeline([]); return true; }
      if (node.kind === "group") { return selectLoop(id, fromGraph); }
      if (layers[node.layer] && node.layer !== layer) { showLayer(node.layer); }
      if (node.items.length === 1) { return select((node.kind === "activity" ? "act-" : "ent-") + node.items[0], fromGraph); }
      showGroup(id);
      var related = new Set();
      node.items.forEach(function (item) { lineage([node.kind === "activity" ? "a" : "e", item]).forEach(function (r) { related.add(r); }); });
      highlight(id, related, readable);
      markTimeline(node.kind === "activity" ? node.items : []);
    }
    selected = target;
    return true;
  }

  function go(target, fromGraph) {
    if (select(target, fromGraph) && history.replaceState) { history.replaceState(null, "", "#" + target); }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
    if (!link) { return; }
    var target = link.getAttribute("href").slice(1);
    if (/^(act|ent|node)-|^session$/.test(target)) {
      event.preventDefault();
      go(target);
    }
  });

  // -- loops: a click on a group node expands it (another layer), a click on its header folds it --

  function showLoop(id) {
    var node = nodes[id];
    show("loop \u00b7 " + node.count + " repetitions", node.label, node.expanded ? "click its header in the graph to fold it" : "click it in the graph to expand it");
    var table = h("table", { "class": "kv calls" }, h("tr", null, h("th", null, "pass"), h("th", null, "steps")));
    node.steps.slice(0, MAX_CALLS).forEach(function (step, i) {
      table.appendChild(h("tr", null, h("td", null, "#" + (i + 1)), h("td", null, step.map(function (n, j) { return [j ? " \u2192 " : "", actLink(n)]; }))));
    });
    section("repetitions", table);
  }

  function selectLoop(id, fromGraph) {
    var node = nodes[id], target = null;
    if (fromGraph && !node.expanded) {  // expand: the layer that draws this loop step by step
      var base = layers[node.layer].info.view.charAt(0);
      Object.keys(nodes).forEach(function (other) {
        if (nodes[other].layer === base && nodes[other].kind === "group" && nodes[other].label === node.label) {
          data.layers.forEach(function (l) { if (l.expands === other) { target = l.id; } });
        }
      });
    } else if (fromGraph && node.expanded) {  // fold: back to the view's first layer
      target = layers[node.layer].info.view.charAt(0);
    }
    if (target && layers[target]) { showLayer(target); }
    var shown = null;
    nodes && Object.keys(nodes).some(function (other) {  // the loop's node in the layer now shown
      var candidate = nodes[other];
      if (candidate.kind === "group" && candidate.layer === layer && candidate.label === node.label) { shown = other; return true; }
      return false;
    });
    showLoop(shown || id);
    var related = new Set(), calls = [];
    node.steps.forEach(function (step) { step.forEach(function (n) { calls.push(n); }); });
    calls.slice(0, MAX_CALLS).forEach(function (n) { lineage(["a", n]).forEach(function (r) { related.add(r); }); });
    if (shown) { related.add(shown); }
    highlight(shown, related, !fromGraph);
    markTimeline(calls);
    selected = "node-" + (shown || id);
    return true;
  }

  function showLayer(id) {
    if (!view || !layers[id]) { return; }
    layer = id;
    view.querySelectorAll(".graph-layer").forEach(function (div) { div.hidden = div.getAttribute("data-layer") !== id; });
    var shown = view.querySelector('.graph-layer[data-layer="' + id + '"]');
    svg = shown ? shown.querySelector("svg") : null;
    nodeElements = new Map();
    document.querySelectorAll("[data-view]").forEach(function (button) {
      if (button.tagName === "BUTTON") { button.setAttribute("aria-pressed", String(button.getAttribute("data-view") === layers[id].info.view)); }
    });
    view.setAttribute("data-shown", id);
    if (!svg) { full = null; return; }
    var parts = (svg.getAttribute("viewBox") || "0 0 100 100").split(/[\s,]+/).map(Number);
    full = { x: parts[0], y: parts[1], w: parts[2], h: parts[3] };
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.querySelectorAll("g.node").forEach(function (g) {
      var title = g.querySelector("title");
      if (title && (nodes[title.textContent] || title.textContent === "session")) { nodeElements.set(title.textContent, g); }
    });
    start();
  }

  // -- the graph: zoom and pan by the viewBox ------------------------------------------------

  var box = null, full = null;

  function setBox(b) {
    box = b;
    svg.setAttribute("viewBox", [b.x, b.y, b.w, b.h].join(" "));
  }

  function aspect() { return view.clientHeight / Math.max(view.clientWidth, 1); }

  function start() {
    var scale = view.clientWidth / full.w;  // screen pixels per graph unit when fitted to the width
    if (full.h * scale <= view.clientHeight * 1.3 || full.w > full.h) { fit(); return; }
    var w = Math.max(full.w, view.clientWidth * 0.75 * 0.6);
    setBox({ x: full.x - (w - full.w) / 2, y: full.y, w: w, h: w * aspect() });
  }

  function fit() {
    var w = full.w, h2 = full.h;
    if (h2 / w > aspect()) { w = h2 / aspect(); } else { h2 = w * aspect(); }
    setBox({ x: full.x - (w - full.w) / 2, y: full.y - (h2 - full.h) / 2, w: w, h: h2 });
  }

  function zoom(factor, cx, cy) {
    var w = Math.min(Math.max(box.w * factor, 20), full.w * 8);
    var f = w / box.w;
    if (cx === undefined) { cx = box.x + box.w / 2; cy = box.y + box.h / 2; }
    setBox({ x: cx - (cx - box.x) * f, y: cy - (cy - box.y) * f, w: w, h: box.h * f });
  }

  function toGraph(clientX, clientY) {
    var rect = view.getBoundingClientRect();
    return { x: box.x + (clientX - rect.left) / rect.width * box.w, y: box.y + (clientY - rect.top) / rect.height * box.h };
  }

  function reveal(element, readable) {
    // bring a node into view; from outside the graph (tables, timeline, panel links) also zoom
    // until its label is readable, at most to the drawing's actual size
    var rect = element.getBoundingClientRect(), frame = view.getBoundingClientRect();
    var inside = rect.left >= frame.left && rect.right <= frame.right && rect.top >= frame.top && rect.bottom <= frame.bottom;
    var small = rect.width < 120;
    if (inside && !(readable && small)) { return; }
    var centre = toGraph(rect.left + rect.width / 2, rect.top + rect.height / 2);
    var width = rect.width / frame.width * box.w;  // the node's width in graph units
    var w = readable && small ? Math.max(width * frame.width / 120, frame.width * 0.75) : box.w;
    setBox({ x: centre.x - w / 2, y: centre.y - w * aspect() / 2, w: w, h: w * aspect() });
  }

  function setUpGraph() {
    if (!view || !layer) { return; }
    showLayer(layer);
    document.querySelectorAll("button[data-view]").forEach(function (button) {
      button.addEventListener("click", function () { showLayer(button.getAttribute("data-view").charAt(0)); });
    });
    var drag = null;
    view.addEventListener("wheel", function (event) {
      event.preventDefault();
      var p = toGraph(event.clientX, event.clientY);
      zoom(Math.exp(event.deltaY * 0.0015), p.x, p.y);
    }, { passive: false });
    view.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) { return; }
      drag = { x: event.clientX, y: event.clientY, box: box, moved: false, target: event.target };
    });
    view.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      if (!drag.moved) { drag.moved = true; view.setPointerCapture(event.pointerId); view.classList.add("dragging"); }
      var scale = drag.box.w / view.clientWidth;
      setBox({ x: drag.box.x - dx * scale, y: drag.box.y - dy * scale, w: drag.box.w, h: drag.box.h });
    });
    function end(event) {
      if (!drag || !svg) { drag = null; return; }
      var clicked = !drag.moved ? drag.target : null;
      if (drag.moved && view.hasPointerCapture(event.pointerId)) { view.releasePointerCapture(event.pointerId); }
      drag = null;
      view.classList.remove("dragging");
      var g = clicked && clicked.closest ? clicked.closest("g.node") : null;
      if (g) {
        var title = g.querySelector("title").textContent;
        if (nodes[title]) { go(title === "session" ? "session" : "node-" + title, true); }
      }
    }
    view.addEventListener("pointerup", end);
    view.addEventListener("pointercancel", function () { drag = null; view.classList.remove("dragging"); });
    document.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (!svg) { return; }
        var how = button.getAttribute("data-zoom");
        if (how === "in") { zoom(1 / 1.4); } else if (how === "out") { zoom(1.4); } else if (how === "fit") { fit(); }
        else { var w = view.clientWidth * 0.75; setBox({ x: box.x + (box.w - w) / 2, y: box.y + (box.h - w * aspect()) / 2, w: w, h: w * aspect() }); }
      });
    });
    window.addEventListener("resize", function () { if (box) { setBox({ x: box.x, y: box.y, w: box.w, h: box.w * aspect() }); } });
  }

  // -- the timeline: one row per graph node (collapsed calls share a row) ---------------------

  function depth(a) {
    var d = 0, parent = a.parent;
    while (parent !== null && acts.has(parent) && d < 50) { d++; parent = acts.get(parent).parent; }
    return d;
  }

  function niceStep(span) {
    var raw = span / 8, power = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (raw <= steps[i] * power) { return steps[i] * power; } }
    return 10 * power;
  }

  function drawTimeline() {
    var container = document.getElementById("timeline-view");
    if (!data.acts.length) { container.innerHTML = '<p class="muted">No activities were recorded.</p>'; return; }
    var rows = [], byKey = new Map();
    data.acts.forEach(function (a) {
      var key = a.node || "act" + a.n;
      var row = byKey.get(key);
      if (!row) { row = { key: key, node: a.node, calls: [], depth: depth(a) }; byKey.set(key, row); rows.push(row); }
      row.calls.push(a);
    });
    var span = data.run.duration || 1;
    data.acts.forEach(function (a) { span = Math.max(span, a.end || a.start || 0); });
    var label = 250, right = 30, rowHeight = 18, top = 22;
    var width = Math.max(container.clientWidth || 800, 640);
    var plot = width - label - right;
    function x(ms) { return label + Math.max(ms, 0) / span * plot; }
    var height = top + rows.length * rowHeight + 6;
    var out = ['<svg width="' + width + '" height="' + height + '" role="img" aria-label="timeline of activities">'];
    var step = niceStep(span);
    out.push('<g class="axis">');
    for (var t = 0; t <= span + 1e-9; t += step) {
      out.push('<line x1="' + x(t) + '" x2="' + x(t) + '" y1="' + (top - 4) + '" y2="' + height + '"></line>');
      out.push('<text x="' + x(t) + '" y="' + (top - 8) + '" text-anchor="middle">' + esc(duration(t)) + "</text>");
    }
    out.push("</g>");
    rows.forEach(function (row, i) {
      var y = top + i * rowHeight;
      var first = row.calls[0];
      var name = first.short + (row.calls.length > 1 ? " \u00d7 " + row.calls.length : "");
      var target = row.calls.length > 1 ? "node-" + row.node : "act-" + first.n;
      out.push('<g class="row"><rect class="row-bg" x="0" y="' + y + '" width="' + width + '" height="' + rowHeight + '"></rect>');
      out.push('<a href="#' + esc(target) + '"><text class="row-label" x="' + (6 + row.depth * 12) + '" y="' + (y + 13) + '">' + esc(name.length > 38 ? name.slice(0, 37) + "\u2026" : name) + "<title>" + esc(first.name) + "</title></text></a>");
      row.calls.forEach(function (a) {
        var end = a.end === null ? span : a.end;
        var bx = x(a.start), bw = Math.max(x(end) - bx, 1.5);
        out.push('<a href="#act-' + a.n + '"><rect class="bar' + (a.status === "completed" ? "" : " failed") + '" data-act="' + a.n + '" x="' + bx.toFixed(2) + '" y="' + (y + 3) +
          '" width="' + bw.toFixed(2) + '" height="' + (rowHeight - 6) + '" rx="2"><title>' + esc(a.short + "  +" + duration(a.start) + ", lasted " + duration(end - a.start) + ", " + a.status) + "</title></rect></a>");
      });
      out.push("</g>");
    });
    out.push("</svg>");
    container.innerHTML = out.join("");
  }

  // -- the packages filter -------------------------------------------------------------------

  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) { row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none"; });
    });
  });

  setUpGraph();
  drawTimeline();
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { drawTimeline(); if (selected) { select(selected, true); } }, 150);
  });
  if (location.hash.length > 1) { select(location.hash.slice(1)); }
})();
