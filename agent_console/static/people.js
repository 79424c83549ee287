// Who else is in the agent's room (docs/protocol.md, "Supervisors and guests"):
// supervisors with their modes, always visible above the tiles, and each
// member's guest on that member's tile (a label, and their camera inside the tile); inviting a guest (a one-time link and
// its QR code, with its expiry) and removing them.

import { $, TILES, app, i18n, send, tileEl } from "/static/agent/page.js";

// session_id -> the last link made for it: {url, qr, expires_at} (until its guest joins or is removed).
const invites = {};
app.invites = invites;

// Link expiry in the branches' time (WIB), from the server's clock.
function fmtTime(unix) {
  return new Intl.DateTimeFormat(i18n.lang === "en" ? "en-GB" : "id-ID", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Jakarta",
  }).format(new Date(unix * 1000));
}

const people = () => (app.room && Array.isArray(app.room.people) ? app.room.people : []);
const guestOf = (sessionId) => people().some((p) => p.role === "guest" && p.session_id === sessionId);

function renderSupervisors() {
  const box = $("people");
  box.textContent = "";
  const supervisors = people().filter((p) => p.role === "supervisor");
  for (const p of supervisors) {
    const pill = document.createElement("span");
    pill.className = "pill supervisor";
    pill.dataset.mode = p.mode;
    pill.dataset.username = p.username;
    const dot = document.createElement("span");
    dot.className = "dot";
    const text = document.createElement("span");
    text.textContent = i18n.t(`agent.people.${p.mode}`, { name: p.name });
    pill.append(dot, text);
    box.append(pill);
  }
  box.dataset.count = String(supervisors.length);
}

function renderGuest(n) {
  const t = app.tiles[n - 1];
  const box = tileEl(n).querySelector(".tile-guest");
  const present = Boolean(t && guestOf(t.session_id));
  const invite = t && invites[t.session_id];
  const kind = present ? "present" : invite ? "invited" : "none";
  box.dataset.guest = kind;
  box.hidden = kind === "none";
  // The guest's camera, on the member's tile while the guest is in the room (media.js wires it).
  const view = tileEl(n).querySelector(".tile-guest-view");
  view.hidden = !present;
  if (present) view.querySelector("video").play().catch(() => {});
  const text = box.querySelector(".tile-guest-text");
  if (kind === "present") text.textContent = i18n.t("agent.guest.present");
  else if (kind === "invited") text.textContent = i18n.t("agent.guest.waiting", { time: fmtTime(invite.expires_at) });
}

export function renderPeople() {
  // A guest who joined, or a member who left, needs their link no longer.
  const live = new Set(app.tiles.filter(Boolean).map((t) => t.session_id));
  for (const id of Object.keys(invites)) if (!live.has(id) || guestOf(id)) delete invites[id];
  renderSupervisors();
  for (let n = 1; n <= TILES; n++) renderGuest(n);
}

function showInvite(n) {
  const t = app.tiles[n - 1];
  const invite = t && invites[t.session_id];
  if (!invite) return;
  $("invite-who").textContent = `${i18n.t("agent.booth", { booth: t.booth ?? "?" })} · ${t.branch || ""} · ${i18n.t(`service.${t.service}`)}`;
  $("invite-qr").src = invite.qr;
  $("invite-link").value = invite.url;
  $("invite-expires").textContent = i18n.t("agent.guest.expires", { time: fmtTime(invite.expires_at) });
  $("invite-dialog").dataset.sessionId = t.session_id;
  if (!$("invite-dialog").open) $("invite-dialog").showModal();
}

async function invite(n) {
  const t = app.tiles[n - 1];
  if (!t) return;
  const ack = await send("guest.invite", { session_id: t.session_id });
  if (!ack.ok) return;
  invites[t.session_id] = { url: new URL(ack.path, location.origin).href, qr: ack.qr, expires_at: ack.expires_at };
  renderGuest(n);
  showInvite(n);
}

async function remove(n) {
  const t = app.tiles[n - 1];
  if (!t) return;
  const ack = await send("guest.remove", { session_id: t.session_id });
  if (ack.ok) { delete invites[t.session_id]; renderGuest(n); }
}

export function wirePeople() {
  for (let n = 1; n <= TILES; n++) {
    const el = tileEl(n);
    el.querySelector(".tile-invite").addEventListener("click", () => invite(n));
    el.querySelector(".tile-guest-link").addEventListener("click", () => showInvite(n));
    el.querySelector(".tile-guest-remove").addEventListener("click", () => remove(n));
  }
  $("invite-copy").addEventListener("click", async () => {
    $("invite-link").select();
    try { await navigator.clipboard.writeText($("invite-link").value); } catch (e) { document.execCommand("copy"); }
  });
}
