// The member's claim portal at home (/claim) and status page (/claim/s/<token>): the entry module.
// Steps: benefit -> form (the booth's own schema, checked by the server) -> documents -> status;
// the interview runs from the status page (claim_interview.js). Every text comes from the catalogue.
import { I18n } from "/static/common/i18n.js";
import { renderDocuments, setupCamera } from "./claim_docs.js";
import { renderStatus, setupStatus } from "./claim_status.js";

const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
const i18n = I18n.fromPage(boot.lang);
const $ = (id) => document.getElementById(id);

export const app = {
  boot, i18n, $,
  token: boot.mode === "status" ? decodeURIComponent(location.pathname.split("/").pop()) : null,
  service: null,
  status: null,
  step(name) { document.body.dataset.step = name; this.error(null); window.scrollTo(0, 0); },
  error(err) {
    const box = $("error");
    if (!err) { box.hidden = true; box.textContent = ""; return; }
    box.hidden = false;
    box.textContent = err.message || i18n.t("claim.error.invalid_payload");
    box.dataset.code = err.code || "";
  },
  async api(method, path, body) {
    const opts = { method, headers: {} };
    if (body instanceof FormData) opts.body = body;
    else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
    let res;
    try { res = await fetch(`${path}${path.includes("?") ? "&" : "?"}lang=${i18n.lang}`, opts); }
    catch (e) { return { ok: false, error: { code: "network", message: i18n.t("claim.error.invalid_state") } }; }
    const data = await res.json().catch(() => ({ ok: false, error: { code: "bad_answer" } }));
    return { status: res.status, ...data };
  },
  async refresh() {
    const data = await this.api("GET", `/api/claim/${encodeURIComponent(this.token)}`);
    if (data.ok === false) { this.step("status"); this.error(data.error); document.body.dataset.linkError = data.error.code; return; }
    this.show(data);
  },
  show(data) {
    this.status = data;
    this.service = data.claim.service;
    if (data.claim.state === "draft") { this.step("documents"); renderDocuments(this, $("doc-list"), true); }
    else { if (document.body.dataset.step !== "interview") this.step("status"); renderStatus(this, data); }
  },
};
window.lapakClaim = app;

$("lang-toggle").addEventListener("click", () => {
  i18n.setLang(i18n.lang === "id" ? "en" : "id");
  if (app.status) app.show(app.status);
});

// -- the form: the booth's schema, rendered for one thumb ------------------------------------
function renderForm(service) {
  const schema = boot.forms[service];
  const form = $("claim-form");
  form.replaceChildren();
  $("form-title").textContent = schema.title[i18n.lang] || schema.title.id;
  for (const f of schema.fields) {
    const label = document.createElement("label");
    label.className = "c-field";
    label.append(f.label[i18n.lang] || f.label.id);
    let input;
    if (f.type === "choice") {
      input = document.createElement("select");
      input.append(new Option("—", ""));
      for (const o of f.options) input.append(new Option(o.label[i18n.lang] || o.label.id, o.value));
    } else {
      input = document.createElement("input");
      input.type = f.type === "email" ? "email" : f.type === "phone" ? "tel" : "text";
      input.inputMode = { numeric: "numeric", phone: "tel", email: "email", date: "numeric" }[f.keyboard] || "text";
      input.maxLength = f.max_length || 100;
      if (f.hint) input.placeholder = f.hint[i18n.lang] || f.hint.id;
    }
    input.name = f.name;
    input.id = `field-${f.name}`;
    const problem = document.createElement("div");
    problem.className = "c-field-error";
    problem.id = `error-${f.name}`;
    label.append(input, problem);
    form.append(label);
  }
}

for (const b of document.querySelectorAll("[data-benefit]")) {
  b.addEventListener("click", () => { app.service = b.dataset.benefit; renderForm(app.service); app.step("form"); });
}

$("form-next").addEventListener("click", async () => {
  const fields = {};
  for (const el of $("claim-form").elements) if (el.name && el.value.trim()) fields[el.name] = el.value.trim();
  for (const el of document.querySelectorAll(".c-field-error")) el.textContent = "";
  $("form-next").disabled = true;
  const data = await app.api("POST", "/api/claim", { service: app.service, lang: i18n.lang, fields });
  $("form-next").disabled = false;
  if (!data.ok) {
    app.error(data.error);
    for (const [name, problem] of Object.entries(data.error.errors || {})) {
      const el = $(`error-${name}`);
      if (el) el.textContent = problem[i18n.lang] || problem.id;
    }
    for (const name of data.error.missing || []) {
      const el = $(`error-${name}`);
      if (el) el.textContent = "✱";
    }
    return;
  }
  app.token = data.token;
  history.replaceState(null, "", `/claim/s/${encodeURIComponent(data.token)}`);  // a reload keeps the claim
  app.show(data);
});

setupCamera(app);
setupStatus(app);
$("submit").addEventListener("click", async () => {
  $("submit").disabled = true;
  const data = await app.api("POST", `/api/claim/${encodeURIComponent(app.token)}/submit`);
  if (!data.ok) { app.error(data.error); $("submit").disabled = false; return; }
  app.show(data);
});

if (boot.mode === "status") app.refresh();
