// History of closed sessions (GET /api/history) with filters and CSV export.

import { $, api, boot, errorText, fmtDateTime, fmtDuration, i18n } from "/static/staff/staff.js";

const app = { rows: [], spans: [], loads: 0, query: "" };
window.lapakHistory = app;

const FIELDS = ["from", "to", "branch", "service", "agent", "outcome"];

function currentQuery() {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = $("filters").elements[name].value;
    if (value) params.set(name, value);
  }
  return params.toString();
}

function resultText(row) {
  const outcome = row.outcome ? i18n.t(`agent.outcome.${row.outcome}`) : "";
  if (row.state === "closed" && outcome) return outcome;
  return outcome ? `${i18n.t(`history.state.${row.state}`)} · ${outcome}` : i18n.t(`history.state.${row.state}`);
}

function render() {
  const body = $("history-body");
  body.textContent = "";
  for (const r of app.rows) {
    const tr = document.createElement("tr");
    tr.dataset.session = r.session_id;
    tr.dataset.state = r.state;
    const cells = [
      fmtDateTime(r.created_at),
      `${boot.branches[r.branch] || r.branch} · ${i18n.t("officer.booth", { booth: r.booth })}`,
      i18n.t(`service.short.${r.service}`),
      r.agent_id ? (boot.agents[r.agent_id] || r.agent_id) : "–",
      null,
      r.wait_seconds === null ? "–" : fmtDuration(r.wait_seconds),
      r.handling_seconds === null ? "–" : fmtDuration(r.handling_seconds),
      r.rating ? "★".repeat(r.rating) + "☆".repeat(5 - r.rating) : "–",
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i >= 5) td.className = "num";
      if (i === 4) {
        const pill = document.createElement("span");
        pill.className = `pill ${r.state === "closed" ? "" : r.state === "cancelled" ? "neutral" : "warn"}`;
        pill.textContent = resultText(r);
        td.append(pill);
      } else {
        td.textContent = text;
      }
      if (i === 7) td.className = "num stars";
      tr.append(td);
    });
    body.append(tr);
  }
  $("history-empty").hidden = app.rows.length > 0;
  const closed = app.rows.filter((r) => r.state === "closed");
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const waits = app.rows.map((r) => r.wait_seconds).filter((v) => v !== null);
  const handling = app.rows.map((r) => r.handling_seconds).filter((v) => v !== null);
  const ratings = app.rows.map((r) => r.rating).filter((v) => v);
  $("stat-count").textContent = app.rows.length;
  $("stat-closed").textContent = closed.length;
  $("stat-wait").textContent = waits.length ? fmtDuration(mean(waits)) : "–";
  $("stat-handling").textContent = handling.length ? fmtDuration(mean(handling)) : "–";
  $("stat-rating").textContent = ratings.length ? mean(ratings).toFixed(1) : "–";
  renderSpans();
}

// Supervisors' monitoring spans (issue 14): who was in which agent's room, in which mode, when.
function renderSpans() {
  const body = $("monitoring-body");
  body.textContent = "";
  for (const s of app.spans) {
    const tr = document.createElement("tr");
    tr.dataset.mode = s.mode;
    const cells = [
      (boot.supervisors || {})[s.supervisor] || s.supervisor,
      boot.agents[s.agent_id] || s.agent_id,
      i18n.t(`monitor.mode.${s.mode}`),
      fmtDateTime(s.start),
      fmtDateTime(s.end),
      fmtDuration(s.end - s.start),
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 5) td.className = "num";
      td.textContent = text;
      tr.append(td);
    });
    body.append(tr);
  }
  $("monitoring-empty").hidden = app.spans.length > 0;
}

async function load() {
  const query = currentQuery();
  app.query = query;
  $("csv").href = `/api/history.csv${query ? `?${query}` : ""}`;
  history.replaceState(null, "", `/supervisor/history${query ? `?${query}` : ""}`);
  $("history-loading").hidden = false;
  const result = await api(`/api/history${query ? `?${query}` : ""}`);
  $("history-loading").hidden = true;
  const err = $("history-error");
  if (!result.ok) {
    err.textContent = i18n.t("history.error", { message: errorText(result) });
    err.hidden = false;
    app.rows = [];
    app.spans = [];
  } else {
    err.hidden = true;
    app.rows = result.data.sessions || [];
    app.spans = result.data.monitoring || [];
  }
  app.loads += 1;
  render();
}

$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
for (const name of ["branch", "service", "agent", "outcome"]) {
  $("filters").elements[name].addEventListener("change", load);
}
i18n.onChange(render);
load();
