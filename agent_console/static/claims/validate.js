// The back office's page for online claims (/agent/claims): the validation queue (oldest first),
// one claim opened under the agent's lease, each document at full resolution with accept / ask
// again (a reason the member reads), and the interview's outcome for a home member on a tile.
import { I18n } from "/static/common/i18n.js";

const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
const i18n = I18n.fromPage(boot.lang);
const $ = (id) => document.getElementById(id);
const headers = boot.token ? { Authorization: `Bearer ${boot.token}` } : {};
const page = { claim: null, urls: [] };
window.lapakValidate = page;

async function api(method, path, body) {
  const opts = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const res = await fetch(path, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { showError(data.error); return null; }
  showError(null);
  return data;
}

function showError(err) {
  $("error").hidden = !err;
  $("error").textContent = err ? err.message : "";
  $("error").dataset.code = err ? err.code : "";
}

async function loadQueue() {
  const data = await api("GET", "/api/online/queue");
  if (!data) return;
  const list = $("queue");
  list.replaceChildren();
  $("queue-empty").hidden = data.claims.length > 0;
  for (const c of data.claims) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "queue-open";
    b.dataset.reference = c.reference;
    b.textContent = `${i18n.t("validate.open")} ${c.reference}`;
    b.addEventListener("click", () => openClaim(c.reference, true));
    li.append(b, ` · ${new Date(c.submitted_at * 1000).toLocaleString()}`);
    list.append(li);
  }
}

async function docImage(doc) {
  // Fetched with the agent's credential, shown from a blob: URL (CSP allows blob: images).
  const res = await fetch(`/api/online/claims/${page.claim.reference}/documents/${doc.document_id}`, { headers, credentials: "same-origin" });
  const url = URL.createObjectURL(await res.blob());
  page.urls.push(url);
  if (doc.mime === "application/pdf") {
    const a = document.createElement("a");
    a.href = url; a.target = "_blank"; a.textContent = "PDF";
    return a;
  }
  const img = document.createElement("img");
  img.src = url;
  img.className = "doc-full";
  return img;
}

async function render(claim) {
  page.claim = claim;
  for (const u of page.urls.splice(0)) URL.revokeObjectURL(u);
  $("claim-box").hidden = false;
  $("claim-ref").textContent = claim.reference;
  $("claim-state").textContent = i18n.t(`claim.state.${claim.state}`);
  document.body.dataset.claimState = claim.state;
  const table = $("claim-fields");
  table.replaceChildren();
  for (const [k, v] of Object.entries(claim.fields)) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  const box = $("claim-docs");
  box.replaceChildren();
  const reviewing = claim.state === "checking";
  for (const doc of claim.documents) {
    const div = document.createElement("div");
    div.className = "v-doc";
    div.dataset.kind = doc.kind;
    div.dataset.status = doc.status;
    const title = document.createElement("h3");
    title.textContent = `${i18n.t(`doc.kind.${doc.kind}`)} · ${doc.width || ""}×${doc.height || ""} · ${doc.status}`;
    div.append(title, await docImage(doc));
    if (reviewing && doc.status === "pending") {
      const reason = document.createElement("input");
      reason.className = "review-reason";
      reason.placeholder = i18n.t("validate.reason");
      reason.maxLength = 500;
      const ok = document.createElement("button");
      ok.type = "button"; ok.className = "review-accept"; ok.textContent = i18n.t("validate.accept");
      ok.addEventListener("click", () => review(doc, true, ""));
      const again = document.createElement("button");
      again.type = "button"; again.className = "review-reject"; again.textContent = i18n.t("validate.reject");
      again.addEventListener("click", () => review(doc, false, reason.value));
      div.append(reason, ok, again);
    }
    box.append(div);
  }
  $("outcome").hidden = !(boot.session && claim.state === "interview_booked");
}

async function review(doc, accepted, reason) {
  const claim = await api("POST", `/api/online/claims/${page.claim.reference}/documents/${doc.document_id}/review`, { accepted, reason });
  if (claim) { await render(claim); await loadQueue(); }
}

async function openClaim(reference, take) {
  const claim = await api(take ? "POST" : "GET", `/api/online/claims/${reference}${take ? "/open" : ""}`);
  if (claim) await render(claim);
}

for (const b of document.querySelectorAll("[data-outcome]")) {
  b.addEventListener("click", async () => {
    const done = await api("POST", `/api/online/claims/${page.claim.reference}/outcome`,
      { outcome: b.dataset.outcome, reason: $("outcome-reason").value });
    if (done) await openClaim(page.claim.reference, false);
  });
}

(async () => {
  if (boot.session) {
    const found = await api("GET", `/api/online/sessions/${encodeURIComponent(boot.session)}`);
    $("queue-box").hidden = true;
    if (found) await openClaim(found.reference, false);
  } else {
    await loadQueue();
    if (boot.claim) await openClaim(boot.claim, true);
  }
})();
