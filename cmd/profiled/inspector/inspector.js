// The profiled inspector: profile lookups with lineage, and live health
// charts. Plain browser JavaScript, no libraries and no build step.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);

  // The API token: typed into the page, or passed once in the URL fragment
  // (#token=...), which browsers never send to a server. Kept for the tab's
  // session only.
  const tokenInput = $("token");
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("profiled-token", fragment.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  if (tokenInput) tokenInput.value = sessionStorage.getItem("profiled-token") || "";
  function headers() {
    const t = tokenInput ? tokenInput.value.trim() : "";
    if (t) sessionStorage.setItem("profiled-token", t);
    return t ? { Authorization: "Bearer " + t } : {};
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const why = {
    lww: "latest event time wins",
    first: "earliest event time wins",
    max: "greatest value wins",
    min: "smallest value wins",
    priority: "highest source priority wins",
    derived: "computed from a collection",
    counter: "count of distinct events",
  };

  function show(v) {
    if (v === null) return "∅ (cleared)";
    if (typeof v === "string") return v;
    return JSON.stringify(v);
  }

  function status(text, isError) {
    const s = $("lookup-status");
    s.textContent = text;
    s.className = isError ? "error" : "";
  }

  // ---- lookup ----

  async function lookup(id) {
    status("Looking up " + id + "…");
    let resp, body;
    try {
      resp = await fetch("/v1/profiles/" + encodeURIComponent(id), { headers: headers() });
      body = await resp.json();
    } catch (err) {
      status("The lookup failed: " + err, true);
      return;
    }
    if (!resp.ok) {
      $("profile").hidden = true;
      let msg = resp.status + ": " + (body.error || resp.statusText);
      if (body.owner) msg += " (owner: " + body.owner + ")";
      status(msg, true);
      return;
    }
    render(body);
    status("Served by " + (body.served_by || "this instance") + ".");
  }

  function origin(o) {
    return o.topic + "/" + o.partition + "@" + o.offset;
  }

  function render(p) {
    const meta = $("profile-meta");
    meta.replaceChildren();
    for (const [k, v] of [["profile", p.profile_id], ["version", p.version], ["updated", p.updated_at],
      ["partition", p.partition], ["served by", p.served_by || ""]]) {
      meta.append(el("dt", {}, k), el("dd", { id: "profile-" + k.replace(" ", "-") }, String(v)));
    }
    const body = $("attributes").tBodies[0];
    body.replaceChildren();
    const names = Object.keys(p.attributes).sort();
    for (const name of names) {
      const a = p.attributes[name];
      const o = a.origin;
      const row = el("tr", { "data-attr": name, "data-policy": a.policy });
      if (o) {
        row.setAttribute("data-source", o.source);
        row.setAttribute("data-topic", o.topic);
        row.setAttribute("data-partition", String(o.partition));
        row.setAttribute("data-offset", String(o.offset));
      }
      let reason = why[a.policy] || a.policy;
      if (a.derived) {
        reason = a.derived.aggregate + " of " + a.derived.collection + (a.derived.field ? "." + a.derived.field : "") +
          " (" + a.derived.entities + " live, " + a.derived.deleted + " deleted)";
      }
      let source = o ? o.source : (a.counted_by || []).join(", ");
      if (o && o.entity) source += " · entity " + o.entity;
      row.append(
        el("td", { class: "name" }, name),
        el("td", { class: "value" }, show(a.value)),
        el("td", { class: "policy", title: a.policy }, reason),
        el("td", { class: "source" }, source),
        el("td", { class: "origin" }, o ? origin(o) : "—"),
        el("td", { class: "time" }, o ? o.event_time : "—"),
      );
      body.append(row);
    }
    // Recent changes: the records behind the values, grouped, newest first.
    const byRecord = new Map();
    for (const name of names) {
      const o = p.attributes[name].origin;
      if (!o) continue;
      const key = origin(o);
      if (!byRecord.has(key)) byRecord.set(key, { o: o, names: [] });
      byRecord.get(key).names.push(name);
    }
    const changes = [...byRecord.values()].sort((x, y) => Date.parse(y.o.event_time) - Date.parse(x.o.event_time));
    const tl = $("timeline");
    tl.replaceChildren();
    for (const c of changes.slice(0, 10)) {
      const li = el("li", { "data-record": origin(c.o) });
      li.append(el("time", {}, c.o.event_time), " ", el("b", {}, c.o.source), " ",
        el("code", {}, origin(c.o)), " set ", c.names.join(", "));
      tl.append(li);
    }
    $("profile").hidden = false;
  }

  $("lookup-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = $("profile-id").value.trim();
    if (!id) return;
    history.replaceState(null, "", "?id=" + encodeURIComponent(id));
    lookup(id);
  });

  // ---- health charts ----

  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (v >= 1e4) return (v / 1e3).toFixed(0) + "k";
    if (v >= 100) return v.toFixed(0);
    if (v >= 1) return v.toFixed(1);
    return v.toFixed(2);
  }

  function count(v) {
    return v >= 1e4 ? fmt(v) : String(Math.round(v));
  }

  function duration(s) {
    if (s === null) return "–";
    if (s < 120) return fmt(s) + " s";
    if (s < 7200) return (s / 60).toFixed(0) + " min";
    if (s < 172800) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(0) + " d";
  }

  // draw plots each series (an array of numbers or nulls) as a polyline
  // scaled to the largest value of all of them.
  function draw(svg, series) {
    const W = 300, H = 80, pad = 3;
    let top = 0, n = 0;
    for (const s of series) {
      n = Math.max(n, s.values.length);
      for (const v of s.values) if (v !== null && v > top) top = v;
    }
    if (top === 0) top = 1;
    svg.replaceChildren();
    const ns = "http://www.w3.org/2000/svg";
    const grid = document.createElementNS(ns, "line");
    for (const [k, v] of Object.entries({ x1: 0, x2: W, y1: H - pad, y2: H - pad, class: "axis" })) grid.setAttribute(k, v);
    svg.append(grid);
    for (const s of series) {
      const pts = [];
      s.values.forEach((v, i) => {
        if (v === null) return;
        const x = n > 1 ? (i / (n - 1)) * W : W;
        const y = H - pad - (v / top) * (H - 2 * pad);
        pts.push(x.toFixed(1) + "," + y.toFixed(1));
      });
      const line = document.createElementNS(ns, "polyline");
      line.setAttribute("points", pts.join(" "));
      line.setAttribute("class", s.cls);
      line.setAttribute("data-series", s.name);
      svg.append(line);
    }
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 2);
    label.setAttribute("y", 10);
    label.setAttribute("class", "top");
    label.textContent = fmt(top);
    svg.append(label);
  }

  function last(values) {
    for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  async function refreshStats() {
    let st;
    try {
      const resp = await fetch("/v1/stats", { headers: headers() });
      if (!resp.ok) {
        $("summary").textContent = "Health unavailable: " + resp.status + (resp.status === 401 ? " (enter the API token)" : "");
        return;
      }
      st = await resp.json();
    } catch (err) {
      $("summary").textContent = "Health unavailable: " + err;
      return;
    }
    const pts = st.points;
    const input = pts.map((p) => p.input_per_second);
    const updates = pts.map((p) => p.updates_per_second);
    const lag = pts.map((p) => p.lag);
    const fresh = pts.map((p) => p.freshness_seconds);
    const dead = pts.map((p) => p.dead_letters_per_second);
    draw($("chart-throughput"), [{ name: "input", cls: "s-a", values: input }, { name: "updates", cls: "s-b", values: updates }]);
    draw($("chart-lag"), [{ name: "lag", cls: "s-a", values: lag }]);
    draw($("chart-freshness"), [{ name: "freshness", cls: "s-a", values: fresh }]);
    draw($("chart-dead"), [{ name: "dead", cls: "s-c", values: dead }]);
    $("now-throughput").textContent = fmt(last(input)) + " in · " + fmt(last(updates)) + " out /s";
    $("now-lag").textContent = count(st.lag);
    $("now-freshness").textContent = duration(last(fresh));
    $("now-dead").textContent = fmt(last(dead)) + " /s";
    let summary = st.partitions + " partitions owned";
    if (st.restoring > 0) summary += ", " + st.restoring + " restoring (" + count(st.restore_remaining) + " changelog records to go)";
    summary += " · " + count(st.input_total) + " input records, " + count(st.updates_total) + " profile updates, " +
      count(st.dead_letters_total) + " dead letters since start";
    $("summary").textContent = summary;
  }

  refreshStats();
  setInterval(refreshStats, 2000);

  const first = new URLSearchParams(location.search).get("id");
  if (first) {
    $("profile-id").value = first;
    lookup(first);
  }
})();
