// Supervisor's live board: queues, agent load, branch occupancy (socket.io
// /supervisor, board.state), and the day's curve (GET /api/day) as inline SVG:
// today's service hours by day, everything since yesterday's opening at night.

import { $, api, boot, el, serverNow, fmtClock, fmtDuration, fmtMinutes, i18n, TIME_ZONE } from "/static/staff/staff.js";
import { attachMonitor } from "/static/staff/monitor.js";

const app = { socket: null, connected: false, board: null, boards: 0, day: null, dayLoads: 0 };
window.lapakBoard = app;

const SVG = "http://www.w3.org/2000/svg";

function renderConn() {
  const pill = $("conn");
  pill.className = `pill ${app.connected ? "" : "warn"}`;
  document.body.dataset.socket = app.connected ? "connected" : "disconnected";
  let text = i18n.t(app.connected ? "officer.conn.live" : "officer.conn.lost");
  if (app.connected && app.board) text += " · " + fmtClock(app.board.at, true);
  $("conn-text").textContent = text;
}

function setNum(node, value) {
  const text = String(value);
  if (node.textContent !== text) {
    node.textContent = text;
    node.classList.remove("changed");
    void node.offsetWidth;
    node.classList.add("changed");
  }
}

function availabilityKind(a) {
  if (!a.online) return "offline";
  if (a.availability !== "available") return a.availability;
  return a.in_progress >= a.capacity ? "full" : "available";
}

function renderBoard() {
  const b = app.board;
  if (!b) return;
  const totals = b.totals || {};
  setNum($("total-waiting"), totals.waiting ?? 0);
  setNum($("total-in-progress"), totals.in_progress ?? 0);
  const online = (b.agents || []).filter((a) => a.online);
  const capacity = online.reduce((sum, a) => sum + (a.availability === "available" ? a.capacity : 0), 0);
  $("total-capacity").textContent = i18n.t("board.kpi.capacity", { capacity });
  setNum($("total-agents"), totals.agents_online ?? 0);
  setNum($("total-handled"), (b.agents || []).reduce((s, a) => s + (a.handled_today || 0), 0));

  for (const [service, q] of Object.entries(b.queues || {})) {
    const row = document.querySelector(`tr[data-queue="${service}"]`);
    if (!row) continue;
    setNum(row.querySelector(".waiting"), q.waiting);
    row.dataset.busy = q.waiting > 0 ? "1" : "0";
    row.querySelector(".handling").textContent = fmtMinutes(q.mean_handling_seconds);
  }

  const body = $("agents-body");
  const agents = [...(b.agents || [])].sort((x, y) => (y.online - x.online) || x.name.localeCompare(y.name));
  const keep = new Set();
  for (const a of agents) {
    keep.add(a.agent_id);
    let row = body.querySelector(`tr[data-agent="${CSS.escape(a.agent_id)}"]`);
    if (!row) {
      row = $("agent-row").content.firstElementChild.cloneNode(true);
      row.dataset.agent = a.agent_id;
    }
    body.append(row); // keeps the sort order
    const kind = availabilityKind(a);
    row.dataset.status = kind;
    row.querySelector(".agent-name").textContent = a.name;
    const order = boot.services || [];
    const skills = [...(a.skills || [])].sort((x, y) => order.indexOf(x) - order.indexOf(y));
    row.querySelector(".agent-skills").textContent = skills.map((s) => i18n.t(`service.short.${s}`)).join(" · ");
    const pill = row.querySelector(".agent-status");
    pill.className = `pill agent-status ${{ available: "", full: "warn", away: "warn", offline: "neutral" }[kind] ?? "neutral"}`;
    row.querySelector(".agent-status-text").textContent = i18n.t(`board.status.${kind}`);
    const share = a.capacity ? Math.min(1, a.in_progress / a.capacity) : 0;
    const fill = row.querySelector(".bar-fill");
    fill.style.width = `${Math.round(share * 100)}%`;
    fill.dataset.level = share >= 1 ? "full" : share >= 0.67 ? "high" : "ok";
    const ip = row.querySelector(".in-progress");
    ip.dataset.value = a.in_progress;
    setNum(ip, i18n.t("board.load", { n: a.in_progress, capacity: a.capacity }));
    setNum(row.querySelector(".handled"), a.handled_today);
    // An online agent's room can be opened (monitor.js listens for the click).
    row.querySelector(".open-room").hidden = !a.online;
    row.querySelector(".open-room").dataset.name = a.name;
  }
  for (const row of [...body.querySelectorAll("tr")]) if (!keep.has(row.dataset.agent)) row.remove();
  $("no-agents").hidden = agents.length > 0;

  const branches = $("branches");
  branches.textContent = "";
  if (!(b.branches || []).length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = i18n.t("board.none");
    branches.append(p);
  }
  for (const br of b.branches || []) {
    const row = document.createElement("div");
    row.className = "branch-row";
    row.dataset.branch = br.branch;
    const share = br.booths ? Math.min(1, br.busy / br.booths) : 0;
    row.append(el("div", { class: "branch-name" }), el("div", { class: "bar" }, el("div", { class: "bar-fill" })),
      el("div", { class: "branch-busy" }));
    row.querySelector(".branch-name").textContent = br.name;
    row.querySelector(".bar-fill").style.width = `${Math.round(share * 100)}%`;
    row.querySelector(".bar-fill").dataset.level = share >= 1 ? "full" : share >= 0.67 ? "high" : "ok";
    row.querySelector(".branch-busy").textContent = i18n.t("board.branch.busy", { busy: br.busy, booths: br.booths });
    branches.append(row);
  }
  renderOnline(b.online);
  tickWaits();
  renderConn();
  if (app.day) renderChart();
}

// The online channel (members at home, docs/online-claims.md) beside the branches.
function renderOnline(o) {
  $("online").hidden = !o;
  if (!o) return;
  const cell = (key) => $("online").querySelector(`[data-online="${key}"] .online-value`);
  for (const key of ["submitted", "checking", "documents_requested", "interviews_to_book", "interviews_booked", "interviews_done"]) {
    setNum(cell(key), o[key] ?? 0);
  }
  const oldest = o.waiting_validation ? " (" + i18n.t("board.online.oldest", { time: fmtDuration(o.oldest_wait_seconds) }) + ")" : "";
  setNum(cell("waiting_validation"), `${o.waiting_validation}${oldest}`);
  const out = o.outcomes || {};
  setNum(cell("outcomes"), i18n.t("board.online.outcomes",
    { approved: out.approved || 0, rejected: out.rejected || 0, more: out.more_documents || 0 }));
  const pay = o.submission_to_payment_seconds || {};
  setNum(cell("payment_time"), pay.count ? i18n.t("board.online.payment_time",
    { median: fmtDuration(pay.median), mean: fmtDuration(pay.mean), n: pay.count }) : i18n.t("board.online.none"));
}

// Waits grow between updates (the server pushes only on changes): count on.
function tickWaits() {
  const b = app.board;
  if (!b) return;
  const drift = Math.max(0, Date.now() / 1000 - (b.receivedAt || b.at));
  let longest = 0;
  for (const [service, q] of Object.entries(b.queues || {})) {
    const row = document.querySelector(`tr[data-queue="${service}"]`);
    const wait = q.waiting ? q.longest_wait_seconds + drift : 0;
    longest = Math.max(longest, wait);
    if (row) row.querySelector(".longest").textContent = q.waiting ? fmtDuration(wait) : "–";
  }
  $("total-longest").textContent = longest ? fmtDuration(longest) : "–";
  $("total-longest").closest(".kpi").dataset.alert = longest >= 900 ? "1" : longest >= 300 ? "warn" : "0";
}
setInterval(tickWaits, 1000);

// ------------------------------------------------------------------ the day's chart

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// A top of the axis that splits into four round steps.
function niceMax(v, minimum) {
  const m = Math.max(v, minimum);
  const steps = [4, 8, 12, 16, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000];
  for (const s of steps) if (s >= m) return s;
  return Math.ceil(m / 400) * 400;
}

function hourOf(unix) {
  return Number(new Intl.DateTimeFormat("en-GB", { hour: "2-digit", hour12: false, timeZone: TIME_ZONE }).format(new Date(unix * 1000))) % 24;
}

function dayOf(unix) {
  return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: TIME_ZONE }).format(new Date(unix * 1000));
}

function fmtDay(unix) {
  return new Intl.DateTimeFormat(i18n.lang === "en" ? "en-GB" : "id-ID", {
    weekday: "short", day: "numeric", month: "short", timeZone: TIME_ZONE,
  }).format(new Date(unix * 1000));
}

// The server's clock when the series was made, counted on with ours: the window
// and "now" come from the server (GET /api/day), never from this machine's date.
function chartNow() {
  return app.day.now + Math.max(0, Date.now() / 1000 - app.day.receivedAt);
}

// The chart shows the window the server chose (docs/queue.md, "The board's chart
// at night"): today's service hours by day; since yesterday's opening at night.
function renderChart() {
  const day = app.day;
  const box = $("day-chart");
  box.textContent = "";
  if (!day || !day.times || !day.times.length) {
    box.append(el("p", { class: "muted", text: i18n.t("board.chart.empty") }));
    return;
  }
  const step = day.bucket_minutes * 60;
  const nowT = chartNow();
  const t0 = day.start;
  const t1 = day.end;
  $("chart-title").textContent = dayOf(t0) === dayOf(nowT)
    ? i18n.t("board.chart.title")
    : i18n.t("board.chart.title_since", { time: fmtClock(t0) });
  // Buckets up to now (later ones are the future: null).
  const shown = day.times.map((t, i) => ({ t, w: day.waiting[i], b: day.in_progress[i], m: day.mean_wait_seconds[i] }))
    .filter((p) => p.w !== null && p.w !== undefined && p.t <= nowT);
  // Each bucket is sampled at its start; end the lines at now with the live board.
  if (app.board && shown.length && nowT - shown[shown.length - 1].t > 5 && nowT <= t1) {
    const totals = app.board.totals || {};
    shown.push({ t: nowT, w: totals.waiting ?? 0, b: totals.in_progress ?? 0, m: null, live: true });
  }

  const W = 1100, H = 250, L = 44, R = 48, T = 26, B = 30;
  const iw = W - L - R, ih = H - T - B;
  const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * iw;
  const maxCount = niceMax(Math.max(0, ...shown.map((p) => Math.max(p.w, p.b))), 4);
  const waits = shown.map((p) => p.m).filter((m) => m !== null && m !== undefined);
  const maxWaitMin = niceMax(Math.max(0, ...waits.map((m) => m / 60)), 5);
  const y = (v) => T + ih - (v / maxCount) * ih;
  const yw = (sec) => T + ih - ((sec / 60) / maxWaitMin) * ih;

  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, role: "img", class: "day-svg", "aria-label": i18n.t("board.chart.title"),
    "data-start": t0, "data-end": t1,
  });
  // hours outside the service hours, shaded
  const [open, close] = day.service_hours || [7, 18];
  for (let t = t0; t < t1; t += step) {
    const h = hourOf(t);
    if (h >= open && h < close) continue;
    const rect = svg("rect", { x: x(t), y: T, width: x(t + step) - x(t) + 0.5, height: ih, class: "closed-hours" });
    rect.append(svg("title", {}, i18n.t("board.chart.closed")));
    root.append(rect);
  }
  // grid + left axis (people)
  for (let i = 0; i <= 4; i++) {
    const v = (maxCount / 4) * i;
    const yy = y(v);
    root.append(svg("line", { x1: L, x2: W - R, y1: yy, y2: yy, class: "grid" }));
    root.append(svg("text", { x: L - 8, y: yy + 4, class: "axis left" }, v));
    const wv = (maxWaitMin / 4) * i;
    root.append(svg("text", { x: W - R + 8, y: yy + 4, class: "axis right" }, `${wv}′`));
  }
  root.append(svg("text", { x: 4, y: 11, class: "axis-title" }, i18n.t("board.chart.people")));
  root.append(svg("text", { x: W - 4, y: 11, class: "axis-title end" }, i18n.t("board.chart.minutes")));
  // hour ticks (every second hour on a long window, from its start), and midnight with the new day's date
  const every = (t1 - t0) > 14 * 3600 ? 2 : 1;
  for (let t = t0; t <= t1; t += step) {
    if (t % 3600 !== 0) continue; // WIB is a whole number of hours from UTC
    const h = hourOf(t);
    const xx = x(t);
    if (h === 0 && t > t0) {
      root.append(svg("line", { x1: xx, x2: xx, y1: T, y2: T + ih, class: "midnight" }));
      root.append(svg("text", { x: xx + 4, y: T + ih - 6, class: "midnight-label" }, fmtDay(t)));
    }
    if (Math.round((t - t0) / 3600) % every !== 0) continue; // counted from the window's start
    root.append(svg("line", { x1: xx, x2: xx, y1: T + ih, y2: T + ih + 5, class: "tick" }));
    root.append(svg("text", { x: xx, y: H - 10, class: "axis mid", "data-tick": t }, fmtClock(t)));
  }
  // mean wait: bars per bucket (right axis)
  const bw = Math.max(3, (iw / Math.max(1, (t1 - t0) / step)) * 0.55);
  for (const p of shown) {
    if (p.m === null || p.m === undefined) continue;
    const yy = yw(p.m);
    root.append(svg("rect", { x: x(p.t + step / 2) - bw / 2, y: yy, width: bw, height: Math.max(1, T + ih - yy), class: "wait-bar" }));
    root.lastChild.append(svg("title", {}, `${fmtClock(p.t)} · ${i18n.t("board.chart.mean_wait")}: ${fmtDuration(p.m)}`));
  }
  // lines: in progress (area) and waiting
  const line = (key) => shown.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
  if (shown.length) {
    const area = `${line("b")} L${x(shown[shown.length - 1].t).toFixed(1)},${T + ih} L${x(shown[0].t).toFixed(1)},${T + ih} Z`;
    root.append(svg("path", { d: area, class: "busy-area" }));
    root.append(svg("path", { d: line("b"), class: "busy-line", "data-series": "in_progress", "data-points": shown.length, "data-max": Math.max(...shown.map((p) => p.b)) }));
    root.append(svg("path", { d: line("w"), class: "waiting-line", "data-series": "waiting", "data-points": shown.length, "data-max": Math.max(...shown.map((p) => p.w)) }));
    const lastP = shown[shown.length - 1];
    root.append(svg("circle", { cx: x(lastP.t), cy: y(lastP.b), r: 4.5, class: "busy-dot" }));
    root.append(svg("circle", { cx: x(lastP.t), cy: y(lastP.w), r: 4.5, class: "waiting-dot" }));
  }
  // now marker
  if (nowT >= t0 && nowT <= t1) {
    const xx = x(nowT);
    root.append(svg("line", { x1: xx, x2: xx, y1: T, y2: T + ih, class: "now" }));
    root.append(svg("text", { x: xx + 4, y: T + 12, class: "now-label" }, i18n.t("board.chart.now")));
  }
  root.append(svg("line", { x1: L, x2: W - R, y1: T + ih, y2: T + ih, class: "baseline" }));
  box.append(root);
  $("chart-updated").textContent = i18n.t("board.chart.updated", { time: fmtClock(nowT) });
}

async function loadDay() {
  const result = await api("/api/day");
  if (result.ok) {
    result.data.receivedAt = Date.now() / 1000; // our clock, only to count on from the server's "now"
    app.day = result.data;
    app.dayLoads += 1;
    renderChart();
  }
}

// ------------------------------------------------------------------ socket

function connect() {
  const socket = io("/supervisor", { transports: ["websocket", "polling"] });
  app.socket = socket;
  socket.on("connect", () => { app.connected = true; renderConn(); });
  socket.on("disconnect", () => { app.connected = false; renderConn(); });
  socket.on("connect_error", (err) => {
    app.connected = false;
    renderConn();
    if (err && err.data && err.data.code === "unauthorized") location.href = "/login?next=/supervisor";
  });
  attachMonitor(socket);
  socket.on("board.state", (data) => {
    data.receivedAt = Date.now() / 1000; // our clock, not the server's
    app.board = data;
    app.boards += 1;
    renderBoard();
  });
}

i18n.onChange(() => { renderBoard(); renderChart(); renderConn(); });
renderConn();
connect();
loadDay();
setInterval(loadDay, 60000);
