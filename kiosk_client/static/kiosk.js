// Kiosk page: one member, one booth, one RTCPeerConnection to the server.
// Protocol: docs/protocol.md (namespace /kiosk). The page's parts: page.js
// (state and how it is shown), devices.js (camera and microphone), media.js
// (the peer connection); this module holds the session, the security call,
// the socket and the wiring.

import { request } from "/static/common/rtc.js";
import { attachSelfService } from "/static/kiosk/selfservice.js";
import {
  $, IN_SESSION, MEDIA, app, body, boot, hooks, i18n, note, renderAgent, renderCompany, renderWaiting, setState, toast,
  updateReconnecting,
} from "/static/kiosk/page.js";
import { deviceCheck, releaseDevices, stopLevelMeter } from "/static/kiosk/devices.js";
import { closePeer, onQuality, wantMedia } from "/static/kiosk/media.js";
import { forgetNetwork, onNetwork } from "/static/kiosk/network.js";
import { watchService } from "/static/common/service.js";

// ---------------------------------------------------------------- session

async function requestSession() {
  stopLevelMeter();
  app.position = null;
  setState("requesting");
  renderWaiting();
  const ack = await request(app.socket, "session.request", { service: app.service, language: i18n.lang });
  note("session.request", ack);
  if (!ack.ok) {
    toast("kiosk.error.request");
    releaseDevices();
    setState("idle");
    return;
  }
  if (!app.sessionId) app.sessionId = ack.session_id;
  if (app.state === "requesting") { setState("waiting"); renderWaiting(); }
}

function onSessionState(msg) {
  note("session.state", msg);
  if (!msg || !msg.session_id) return;
  if (app.sessionId && msg.session_id !== app.sessionId && IN_SESSION.has(app.state)) {
    // A session we do not know while we are in one: only a newer state of
    // ours matters. (The server owns one session per kiosk.)
    note("ignored foreign session", msg.session_id);
    return;
  }
  if (msg.session_id !== app.sessionId || !MEDIA.has(msg.state)) forgetNetwork();
  app.sessionId = msg.session_id;
  if (msg.service) app.service = msg.service;  // also when the security officer started the session
  if (msg.agent) { app.agent = msg.agent; renderAgent(); }
  app.supervisors = Array.isArray(msg.supervisors) ? msg.supervisors : [];
  app.guest = msg.guest === true;
  renderCompany();
  switch (msg.state) {
    case "waiting":
      app.position = msg.position ?? null;
      app.eta = msg.eta_seconds ?? null;
      setState("waiting");
      renderWaiting();
      break;
    case "connecting":
    case "talking":
    case "on_hold":
      setState(msg.state);
      wantMedia(msg.session_id, msg.attempt);
      break;
    case "transferred":
      setState(msg.state);  // no media until the next agent's attempt
      break;
    case "ended":
      app.reason = msg.reason || null;
      endSession();
      break;
    default:
      note("unknown state", msg.state);
  }
}

function endSession() {
  closePeer();
  releaseDevices();
  app.quality = null;
  app.mediaReconnecting = false;
  app.rating = null;
  $("rating").hidden = false;
  $("rating-thanks").hidden = true;
  for (const b of document.querySelectorAll(".rate")) b.classList.remove("selected");
  i18n.bind($("ended-body"), app.reason === "failed" ? "kiosk.ended.failed" : "kiosk.ended.body");
  setState("ended");
}

let endedTimer = null;
function startEndedTimer(ms = 60000) {
  clearTimeout(endedTimer);
  endedTimer = setTimeout(backToIdle, ms);
}

function backToIdle() {
  clearTimeout(endedTimer);
  if (!["ended", "check"].includes(app.state)) return;
  app.sessionId = null;
  app.agent = null;
  app.reason = null;
  app.service = null;
  renderAgent();
  releaseDevices();
  setState("idle");
}

async function leaveSession() {
  const id = app.sessionId;
  if (!id) { releaseDevices(); setState("idle"); return; }
  const ack = await request(app.socket, "session.leave", { session_id: id });
  note("session.leave", ack);
  if (ack.ok && app.sessionId === id && app.state !== "ended") {
    app.reason = "member_left";
    endSession();
  }
}

async function rate(n) {
  app.rating = n;
  for (const b of document.querySelectorAll(".rate")) b.classList.toggle("selected", Number(b.dataset.rating) === n);
  const ack = await request(app.socket, "session.rate", { session_id: app.sessionId, score: n });
  note("session.rate", ack);
  $("rating").hidden = true;
  $("rating-thanks").hidden = false;
  startEndedTimer(8000);
}

// ---------------------------------------------------------------- security

async function callSecurity() {
  const el = $("security-status");
  const btn = $("security-call");
  btn.disabled = true;
  el.className = "security-status";
  i18n.bind(el, "security.sending");
  const payload = app.sessionId ? { session_id: app.sessionId } : {};
  const ack = app.socketConnected
    ? await request(app.socket, "security.call", payload, 8000)
    : { ok: false, error: { code: "offline" } };
  note("security.call", ack);
  app.security = ack.ok ? "sent" : "failed";
  el.className = `security-status ${app.security}`;
  el.dataset.result = app.security;
  i18n.bind(el, ack.ok ? "security.sent" : "security.failed");
  btn.disabled = false;
  clearTimeout(callSecurity.timer);
  callSecurity.timer = setTimeout(() => { el.textContent = ""; delete el.dataset.i18n; el.dataset.result = ""; }, 30000);
}

// ---------------------------------------------------------------- socket

function connectSocket() {
  const socket = io("/kiosk", {
    auth: { token: boot.token },
    reconnectionDelay: 500,
    reconnectionDelayMax: 3000,
  });
  app.socket = socket;
  socket.on("connect", () => {
    const again = app.everConnected || app.pcGeneration > 0;
    app.socketConnected = true;
    app.everConnected = true;
    body.dataset.socket = "connected";
    note("socket connect", again);
    // Back to the same session with a new peer connection: the session.state the
    // server sends on connect makes the one offer (app.offeredFor was forgotten).
    if (app.sessionId && MEDIA.has(app.state)) app.mediaReconnecting = true;
    updateReconnecting();
  });
  socket.on("disconnect", (reason) => {
    note("socket disconnect", reason);
    app.offeredFor = null;
    app.socketConnected = false;
    body.dataset.socket = "disconnected";
    updateReconnecting();
  });
  socket.on("connect_error", (err) => {
    note("connect_error", err && err.message, err && err.data);
    body.dataset.socket = "disconnected";
    if (err && err.data && err.data.code === "unauthorized") setState("unregistered");
  });
  socket.on("session.state", onSessionState);
  socket.on("media.quality", onQuality);
  socket.on("media.network", onNetwork);
  watchService(socket, i18n, "service.down.kiosk");
  attachSelfService(app, i18n, boot);
  socket.on("error", (e) => note("error event", e));
}

// ---------------------------------------------------------------- wiring

function wire() {
  for (const b of document.querySelectorAll("[data-service]")) {
    b.addEventListener("click", () => deviceCheck(b.dataset.service));
  }
  $("check-continue").addEventListener("click", requestSession);
  $("check-retry").addEventListener("click", () => { releaseDevices(); deviceCheck(app.service); });
  $("check-cancel").addEventListener("click", () => { releaseDevices(); setState("idle"); });
  $("leave-waiting").addEventListener("click", leaveSession);
  for (const b of document.querySelectorAll(".rate")) {
    b.addEventListener("click", () => rate(Number(b.dataset.rating)));
  }
  $("ended-done").addEventListener("click", backToIdle);
  $("security-call").addEventListener("click", callSecurity);
  $("lang-toggle").addEventListener("click", () => {
    i18n.setLang(i18n.lang === "id" ? "en" : "id");
  });
  i18n.onChange(() => { renderAgent(); renderCompany(); });
}

hooks.ended = () => startEndedTimer();
hooks.endSession = endSession;
wire();
if (boot.kiosk) connectSocket();
