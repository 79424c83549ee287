// Claim files handed to the back office (GET /api/claims), and how long their documents are kept.

import { $, api, boot, errorText, fmtDateTime, i18n, onLang } from "/static/staff/staff.js";

const app = { claims: [] };
window.lapakClaims = app;

function render() {
  const body = $("claims-body");
  body.textContent = "";
  for (const c of app.claims) {
    const tr = document.createElement("tr");
    tr.dataset.reference = c.reference;
    const cells = [
      c.reference,
      fmtDateTime(c.created_at),
      i18n.t(`service.short.${c.service}`),
      boot.branches[c.branch] || c.branch,
      boot.agents[c.agent_id] || c.agent_id || "–",
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = `/api/claims/${encodeURIComponent(c.reference)}`;
    a.textContent = i18n.t("claims.manifest");
    a.target = "_blank";
    td.appendChild(a);
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $("claims-empty").hidden = app.claims.length > 0;
}

async function load() {
  const result = await api("/api/claims");
  $("claims-error").hidden = result.ok;
  if (!result.ok) { $("claims-error").textContent = errorText(result); return; }
  app.claims = result.data.claims || [];
  render();
  const retention = await api("/api/retention");
  if (retention.ok) $("retention-days").value = retention.data.days;
}

$("retention-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const days = Number($("retention-days").value);
  const result = await api("/api/retention", { method: "POST", body: { days } });
  $("retention-status").textContent = result.ok ? i18n.t("claims.retention.saved", { days }) : errorText(result);
});

onLang(render);
load();
setInterval(load, 30000);
