// The audit trail (GET /api/audit) with filters by actor, action and dates, and CSV export.
// Every value is set as text: actors, targets and details may hold anything someone typed.

import { $, api, errorText, fmtDateTime, i18n } from "/static/staff/staff.js";

const app = { entries: [], loads: 0, query: "" };
window.lapakAudit = app;

const FIELDS = ["actor", "action", "from", "to"];

function currentQuery() {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = $("filters").elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params.toString();
}

function roleText(role) {
  if (!role) return "";
  if (role === "kiosk" || role === "cli") return i18n.t(`audit.role.${role}`);
  return i18n.t(`login.role.${role}`);
}

function detailText(detail) {
  return Object.entries(detail || {})
    .filter(([, v]) => v !== null && v !== "" && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" · ");
}

function render() {
  const body = $("audit-body");
  body.textContent = "";
  for (const e of app.entries) {
    const tr = document.createElement("tr");
    tr.dataset.action = e.action;
    tr.dataset.id = e.id;
    const who = document.createElement("div");
    const name = document.createElement("div");
    name.className = "strong";
    name.textContent = e.actor;
    const role = document.createElement("div");
    role.className = "muted small-text";
    role.textContent = roleText(e.role);
    who.append(name, role);
    const cells = [fmtDateTime(e.at), who, i18n.t(`audit.action.${e.action}`), e.target, e.address, detailText(e.detail)];
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      if (value instanceof Node) td.append(value); else td.textContent = value;
      if (i === 3 || i === 4) td.className = "mono";
      tr.append(td);
    });
    body.append(tr);
  }
  $("audit-empty").hidden = app.entries.length > 0;
}

async function load() {
  const query = currentQuery();
  app.query = query;
  $("csv").href = `/api/audit.csv${query ? `?${query}` : ""}`;
  history.replaceState(null, "", `/supervisor/audit${query ? `?${query}` : ""}`);
  $("audit-loading").hidden = false;
  const result = await api(`/api/audit${query ? `?${query}` : ""}`);
  $("audit-loading").hidden = true;
  const err = $("audit-error");
  if (!result.ok) {
    err.textContent = i18n.t("audit.error", { message: errorText(result) });
    err.hidden = false;
    app.entries = [];
  } else {
    err.hidden = true;
    app.entries = result.data.entries || [];
  }
  app.loads += 1;
  render();
}

$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
$("filters").elements.action.addEventListener("change", load);
i18n.onChange(render);
load();
