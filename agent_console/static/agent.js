// Agent console: six tiles, one RTCPeerConnection to the server.
// Protocol: docs/protocol.md (namespace /agent, agent offer layout). The
// console's parts: page.js (state and helpers), render.js (tiles and
// availability), media.js (devices and the peer connection), people.js
// (supervisors and guests in the room); this module
// holds the agent's actions, the keys, the socket and the wiring.

import { attachSelfService } from "/static/agent/selfservice.js";
import { $, TILES, app, body, boot, i18n, inform, note, send, tileEl } from "/static/agent/page.js";
import { onLevels, onRoomState, renderAvailability, renderTiles, tick } from "/static/agent/render.js";
import { ensureMedia, setCameraOff, setMute, switchDevice } from "/static/agent/media.js";
import { wirePeople } from "/static/agent/people.js";
import { watchService } from "/static/common/service.js";

function showEnded(reason) {
  const known = ["signed_out", "replaced", "account_disabled"];
  const key = `agent.ended.${known.includes(reason) ? reason : "signed_out"}`;
  body.dataset.view = "login";
  body.dataset.ended = reason;
  $("ended-reason").dataset.i18n = key;
  $("ended-reason").textContent = i18n.t(key);
  if (app.pc) { app.pc.onconnectionstatechange = null; app.pc.close(); app.pc = null; }
}

// ---------------------------------------------------------------- actions

const sessionOnTile = (n) => { const t = app.tiles[n - 1]; return t ? t.session_id : null; };

function talk(n) { const id = sessionOnTile(n); if (id) return send("session.talk", { session_id: id }); }
function hold(n) { const id = sessionOnTile(n); if (id) return send("session.hold", { session_id: id }); }
function only(n) { const id = sessionOnTile(n); if (id) return send("focus.set", { session_ids: [id] }); }
function talkAll() { return send("focus.all", {}); }
function holdAll() { return send("focus.set", { session_ids: [] }); }

let ending = null;
function openEnd(n) {
  const t = app.tiles[n - 1];
  if (!t) return;
  ending = t.session_id;
  $("end-who").textContent = `${i18n.t("agent.booth", { booth: t.booth })} · ${t.branch || ""} · ${i18n.t(`service.${t.service}`)}`;
  $("end-note").value = app.notes[t.session_id] || "";
  $("end-outcome").selectedIndex = 0;
  $("end-dialog").showModal();
}

let transferring = null;
function openTransfer(n) {
  const t = app.tiles[n - 1];
  if (!t) return;
  transferring = t.session_id;
  $("transfer-who").textContent = `${i18n.t("agent.booth", { booth: t.booth })} · ${t.branch || ""} · ${i18n.t(`service.${t.service}`)}`;
  const select = $("transfer-to");
  select.textContent = "";
  for (const service of ["jht", "jkk", "jkm", "jp", "info"]) {
    if (service === t.service) continue;
    const o = document.createElement("option");
    o.value = `queue:${service}`;
    o.textContent = i18n.t("agent.transfer.queue", { service: i18n.t(`service.${service}`) });
    select.appendChild(o);
  }
  $("transfer-dialog").showModal();
  listColleagues(t.session_id);
}

// The colleagues are asked for when the dialog opens (transfer.targets), not
// pushed in every room.state: that list changes with every assignment anywhere.
async function listColleagues(sessionId) {
  const ack = await send("transfer.targets", {});
  app.colleagues = ack.ok && Array.isArray(ack.colleagues) ? ack.colleagues : [];
  if (transferring !== sessionId) return; // the dialog closed (or moved on) meanwhile
  const select = $("transfer-to");
  for (const c of app.colleagues) {
    const o = document.createElement("option");
    o.value = `agent:${c.agent_id}`;
    o.textContent = i18n.t("agent.transfer.colleague", { name: c.name, free: c.free });
    select.appendChild(o);
  }
}

async function onTransferClosed() {
  const dlg = $("transfer-dialog");
  const id = transferring;
  transferring = null;
  if (dlg.returnValue !== "transfer" || !id) return;
  const [kind, target] = $("transfer-to").value.split(":");
  const payload = kind === "agent" ? { session_id: id, agent_id: target } : { session_id: id, service: target };
  await send("session.transfer", payload);
}

async function onEndClosed() {
  const dlg = $("end-dialog");
  const id = ending;
  ending = null;
  if (dlg.returnValue !== "end" || !id) return;
  const noteText = $("end-note").value.slice(0, 2000);
  app.notes[id] = noteText;
  await send("session.end", { session_id: id, outcome: $("end-outcome").value, note: noteText });
}

// ---------------------------------------------------------------- keys

function typing(ev) {
  const el = ev.target;
  return el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT" || el.isContentEditable);
}

function onKeyDown(ev) {
  if (typing(ev) || document.querySelector("dialog[open]") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.code === "Space") {
    ev.preventDefault();
    if (ev.repeat || app.ptt) return;
    const n = app.hoveredTile;
    const id = n ? sessionOnTile(n) : null;
    if (!id) return;
    if (app.focus.includes(id)) { app.ptt = { id, n, wasTalking: true }; return; }
    app.ptt = { id, n, wasTalking: false };
    tileEl(n).dataset.ptt = "1";
    send("session.talk", { session_id: id });
    return;
  }
  const m = /^(?:Digit|Numpad)([1-6])$/.exec(ev.code);
  if (m) { ev.preventDefault(); only(Number(m[1])); }
}

function onKeyUp(ev) {
  if (ev.code !== "Space" || !app.ptt) return;
  ev.preventDefault();
  const { id, n, wasTalking } = app.ptt;
  app.ptt = null;
  tileEl(n).dataset.ptt = "0";
  if (!wasTalking) send("session.hold", { session_id: id });
}

// ---------------------------------------------------------------- socket

function connectSocket() {
  const socket = io("/agent", { auth: { token: boot.token }, reconnectionDelay: 500, reconnectionDelayMax: 3000 });
  app.socket = socket;
  socket.on("connect", () => {
    app.socketConnected = true;
    body.dataset.socket = "connected";
    renderAvailability();
    ensureMedia();
  });
  socket.on("disconnect", (reason) => {
    note("disconnect", reason);
    app.socketConnected = false;
    body.dataset.socket = "disconnected";
    renderAvailability();
  });
  socket.on("connect_error", (err) => {
    note("connect_error", err && err.message, err && err.data);
    if (err && err.data && err.data.code === "unauthorized") {
      socket.disconnect();
      showEnded("signed_out");
    }
  });
  // The server closed this console: opened elsewhere, or the account disabled.
  socket.on("access.ended", (m) => { note("access.ended", m); showEnded(m.reason); });
  socket.on("session.ended", (m) => {
    note("session.ended", m);
    inform(i18n.t(`agent.session_ended.${m.reason}`, { booth: m.booth }));
  });
  socket.on("room.state", onRoomState);
  socket.on("room.levels", onLevels);
  watchService(socket, i18n, "service.down.agent");
  // The room's media process was replaced: one new peer connection (docs/protocol.md).
  socket.on("media.restart", (msg) => { note("media.restart", msg); ensureMedia(); });
  attachSelfService(app, i18n, boot);
  socket.on("error", (e) => note("error event", e));
}

// ---------------------------------------------------------------- wiring

function wire() {
  $("talk-all").addEventListener("click", talkAll);
  $("hold-all").addEventListener("click", holdAll);
  for (let n = 1; n <= TILES; n++) {
    const el = tileEl(n);
    el.querySelector(".tile-talk").addEventListener("click", () => talk(n));
    el.querySelector(".tile-hold").addEventListener("click", () => hold(n));
    el.querySelector(".tile-end").addEventListener("click", () => openEnd(n));
    el.querySelector(".tile-transfer").addEventListener("click", () => openTransfer(n));
    el.addEventListener("mouseenter", () => { app.hoveredTile = n; });
    el.addEventListener("mouseleave", () => { if (app.hoveredTile === n) app.hoveredTile = null; });
    el.querySelector(".tile-note").addEventListener("input", (ev) => {
      const id = sessionOnTile(n);
      if (id) app.notes[id] = ev.target.value;
    });
  }
  wirePeople();
  $("end-dialog").addEventListener("close", onEndClosed);
  $("transfer-dialog").addEventListener("close", onTransferClosed);
  $("availability-select").addEventListener("change", (ev) => send("agent.availability", { availability: ev.target.value }));
  $("mute").addEventListener("click", () => setMute(!app.micMuted));
  $("camera").addEventListener("click", () => setCameraOff(!app.cameraOff));
  $("mic-select").addEventListener("change", (ev) => switchDevice("audio", ev.target.value));
  $("camera-select").addEventListener("change", (ev) => switchDevice("video", ev.target.value));
  $("lang-toggle").addEventListener("click", () => i18n.setLang(i18n.lang === "id" ? "en" : "id"));
  i18n.onChange(() => renderTiles());
  window.addEventListener("keydown", onKeyDown);
  window.addEventListener("keyup", onKeyUp);
  setInterval(tick, 1000);
}

wire();
renderTiles();
// A signed-in agent's socket carries the session cookie; a token is for demo and tests.
connectSocket();
