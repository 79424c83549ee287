// Accounts and kiosk provisioning for supervisors, over /api/admin/*.

import { $, api, boot, el, errorText, fmtDateTime, i18n, toast } from "/static/staff/staff.js";

const app = { branches: [], users: [], kiosks: [], locks: [], lastToken: null };
window.lapakAdmin = app;

function showError(id, result) {
  const node = $(id);
  if (!result) { node.hidden = true; return; }
  node.textContent = i18n.t("admin.error", { message: errorText(result) });
  node.hidden = false;
}

function branchName(id) {
  const b = app.branches.find((x) => x.branch_id === id);
  return b ? b.name : id;
}

function fillBranchSelect(select, { blank = false } = {}) {
  const value = select.value;
  select.textContent = "";
  if (blank) select.append(new Option("–", ""));
  for (const b of app.branches) select.append(new Option(`${b.name} (${b.branch_id})`, b.branch_id));
  if ([...select.options].some((o) => o.value === value)) select.value = value;
}

function cell(text, cls) {
  const td = document.createElement("td");
  if (cls) td.className = cls;
  if (text instanceof Node) td.append(text); else td.textContent = text ?? "";
  return td;
}

function renderBranches() {
  const body = $("branches-body");
  body.textContent = "";
  for (const b of app.branches) {
    const tr = document.createElement("tr");
    tr.dataset.branch = b.branch_id;
    tr.append(cell(b.branch_id, "mono"), cell(b.name),
      cell(app.kiosks.filter((k) => k.branch === b.branch_id).length, "num"),
      cell(app.users.filter((u) => u.branch === b.branch_id).length, "num"));
    body.append(tr);
  }
  fillBranchSelect($("kiosk-branch"));
  fillBranchSelect($("user-branch"));
}

function renderUsers() {
  const body = $("users-body");
  body.textContent = "";
  for (const u of app.users) {
    const tr = document.createElement("tr");
    tr.dataset.user = u.username;
    tr.dataset.active = u.active ? "1" : "0";
    const who = el("div", {}, el("div", { class: "strong", text: u.name }), el("div", { class: "muted mono small-text", text: u.username }));
    const skills = u.role !== "agent" ? "–"
      : u.skills === null ? i18n.t("admin.skills.all")
      : u.skills.map((s) => i18n.t(`service.short.${s}`)).join(", ") || "–";
    const status = document.createElement("span");
    status.className = `pill ${u.active ? "" : "neutral"}`;
    status.textContent = i18n.t(u.active ? "admin.status.active" : "admin.status.disabled");
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = `btn small ${u.active ? "btn-danger" : "btn-secondary"} user-toggle`;
    toggle.textContent = i18n.t(u.active ? "admin.users.disable" : "admin.users.enable");
    toggle.addEventListener("click", () => setActive(u, !u.active));
    tr.append(cell(who), cell(i18n.t(`login.role.${u.role}`)), cell(u.branch ? branchName(u.branch) : "–"),
      cell(skills), cell(u.role === "agent" ? u.capacity : "–", "num"), cell(status),
      cell(el("div", { class: "row-actions" }, toggle, passwordForm(u)), "actions"));
    body.append(tr);
  }
}

// A new password for a user, typed by the supervisor (e.g. after a lockout).
function passwordForm(user) {
  const input = el("input", { type: "password", class: "user-password", minlength: "10", maxlength: "200", required: "",
    autocomplete: "new-password", "aria-label": i18n.t("admin.users.password"), placeholder: i18n.t("admin.users.password") });
  const save = el("button", { type: "submit", class: "btn btn-secondary small user-password-save", text: i18n.t("admin.users.password_save") });
  const form = el("form", { class: "inline-form password-form" }, input, save);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const result = await api(`/api/admin/users/${encodeURIComponent(user.username)}/password`, { method: "POST", body: { password: input.value } });
    if (!result.ok) { toast(i18n.t("admin.error", { message: errorText(result) })); return; }
    input.value = "";
    toast(i18n.t("admin.users.password_set", { name: user.name }), "ok");
  });
  return form;
}

function renderLocks() {
  const body = $("locks-body");
  body.textContent = "";
  for (const lock of app.locks) {
    const tr = el("tr", { "data-scope": lock.scope, "data-key": lock.key });
    const unlock = el("button", { type: "button", class: "btn btn-secondary small lock-unlock", text: i18n.t("admin.locks.unlock") });
    unlock.addEventListener("click", () => unlockSignIn(lock));
    tr.append(cell(i18n.t(`admin.locks.scope.${lock.scope}`)), cell(lock.key, "mono"), cell(lock.failures, "num"),
      cell(fmtDateTime(lock.locked_until)), cell(unlock, "actions"));
    body.append(tr);
  }
  if (!app.locks.length) {
    const td = cell(i18n.t("admin.locks.none"), "muted");
    td.colSpan = 5;
    body.append(el("tr", {}, td));
  }
}

async function unlockSignIn(lock) {
  const result = await api("/api/admin/signin-locks/unlock", { method: "POST", body: { scope: lock.scope, key: lock.key } });
  if (!result.ok) { toast(i18n.t("admin.error", { message: errorText(result) })); return; }
  toast(i18n.t("admin.locks.unlocked", { key: lock.key }), "ok");
  await loadAll();
}

function renderKiosks() {
  const body = $("kiosks-body");
  body.textContent = "";
  for (const k of app.kiosks) {
    const tr = document.createElement("tr");
    tr.dataset.kiosk = k.kiosk_id;
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "btn btn-danger small kiosk-revoke";
    revoke.textContent = i18n.t("admin.kiosks.revoke");
    revoke.addEventListener("click", () => revokeKiosk(k, revoke));
    tr.append(cell(k.kiosk_id, "mono"), cell(branchName(k.branch)), cell(k.booth, "num"), cell(revoke, "actions"));
    body.append(tr);
  }
  if (!app.kiosks.length) {
    const tr = document.createElement("tr");
    const td = cell(i18n.t("admin.kiosks.none"), "muted");
    td.colSpan = 4;
    tr.append(td);
    body.append(tr);
  }
}

function renderAll() { renderBranches(); renderUsers(); renderKiosks(); renderLocks(); roleFields(); }

async function loadAll() {
  const [b, u, k, l] = await Promise.all([api("/api/admin/branches"), api("/api/admin/users"), api("/api/admin/kiosks"),
    api("/api/admin/signin-locks")]);
  if (b.ok) app.branches = b.data.branches;
  if (u.ok) app.users = u.data.users;
  if (k.ok) app.kiosks = k.data.kiosks;
  if (l.ok) app.locks = l.data.locks;
  renderAll();
}

async function setActive(user, active) {
  const result = await api(`/api/admin/users/${encodeURIComponent(user.username)}/active`, { method: "POST", body: { active } });
  if (!result.ok) { toast(i18n.t("admin.error", { message: errorText(result) })); return; }
  toast(i18n.t(active ? "admin.users.enabled" : "admin.users.disabled", { name: user.name }), "ok");
  await loadAll();
}

async function revokeKiosk(kiosk, button) {
  if (button.dataset.confirm !== "1") {
    button.dataset.confirm = "1";
    button.textContent = i18n.t("admin.kiosks.revoke_confirm");
    setTimeout(() => { button.dataset.confirm = ""; button.textContent = i18n.t("admin.kiosks.revoke"); }, 5000);
    return;
  }
  const result = await api(`/api/admin/kiosks/${encodeURIComponent(kiosk.kiosk_id)}/revoke`, { method: "POST", body: {} });
  if (!result.ok) { toast(i18n.t("admin.error", { message: errorText(result) })); return; }
  toast(i18n.t("admin.kiosks.revoked", { kiosk: kiosk.kiosk_id }), "ok");
  await loadAll();
}

function roleFields() {
  const role = $("user-role").value;
  for (const node of document.querySelectorAll("#user-form .officer-only")) node.hidden = role !== "officer";
  for (const node of document.querySelectorAll("#user-form .agent-only")) node.hidden = role !== "agent";
}
$("user-role").addEventListener("change", roleFields);

$("branch-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const result = await api("/api/admin/branches", { method: "POST", body: { branch_id: form.branch_id.value.trim(), name: form.name.value.trim() } });
  showError("branch-error", result.ok ? null : result);
  if (result.ok) { form.reset(); toast(i18n.t("admin.branches.added"), "ok"); await loadAll(); }
});

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const role = form.role.value;
  const body = { username: form.username.value.trim(), name: form.name.value.trim(), password: form.password.value, role };
  if (role === "officer") body.branch = form.branch.value;
  if (role === "agent") {
    const skills = [...form.querySelectorAll('input[name="skills"]:checked')].map((i) => i.value);
    if (!skills.length) { $("user-error").textContent = i18n.t("admin.skills.none"); $("user-error").hidden = false; return; }
    body.skills = skills.length === boot.services.length ? null : skills;
    body.capacity = Number(form.capacity.value) || boot.max_capacity;
  }
  const result = await api("/api/admin/users", { method: "POST", body });
  showError("user-error", result.ok ? null : result);
  $("user-ok").hidden = !result.ok;
  if (result.ok) {
    $("user-ok").textContent = i18n.t("admin.users.added", { name: result.data.user.name, username: result.data.user.username });
    form.username.value = ""; form.name.value = ""; form.password.value = "";
    await loadAll();
  }
});

$("kiosk-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const result = await api("/api/admin/kiosks", { method: "POST", body: { branch: form.branch.value, booth: Number(form.booth.value) } });
  showError("kiosk-error", result.ok ? null : result);
  if (!result.ok) return;
  // Shown once: kept in this page only, never stored.
  const url = `${location.origin}/kiosk?token=${encodeURIComponent(result.data.token)}`;
  app.lastToken = result.data.kiosk_id;
  $("token-kiosk").textContent = result.data.kiosk_id;
  $("token-value").textContent = result.data.token;
  $("token-url").textContent = url;
  $("token-box").hidden = false;
  form.booth.value = "";
  await loadAll();
});

$("token-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText($("token-url").textContent);
    toast(i18n.t("admin.token.copied"), "ok");
  } catch (e) {
    const range = document.createRange();
    range.selectNodeContents($("token-url"));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
});
$("token-done").addEventListener("click", () => {
  $("token-box").hidden = true;
  $("token-value").textContent = "";
  $("token-url").textContent = "";
});

i18n.onChange(renderAll);
roleFields();
loadAll();
