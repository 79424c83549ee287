// Kiosk page: one member, one booth, one RTCPeerConnection to the server.
// Protocol: docs/protocol.md (namespace /kiosk).

import { I18n } from "/static/common/i18n.js";
import { peerConfig, watchMediaFailure } from "/static/common/ice.js";
import {
  completeOffer, preferCodec, request, applyQuality, levelMeter, mediaErrorKind,
} from "/static/common/rtc.js";
import { attachSelfService } from "/static/kiosk/selfservice.js";

const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
const i18n = I18n.fromPage(boot.lang);
const $ = (id) => document.getElementById(id);
const body = document.body;

const LIVE = new Set(["connecting", "talking", "on_hold", "transferred"]);
// States in which the booth has, or is getting, a peer connection to its agent.
const MEDIA = new Set(["connecting", "talking", "on_hold"]);
const IN_SESSION = new Set(["requesting", "waiting", ...LIVE]);
const MEDIA_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
};

// Everything the page knows, also reachable as window.lapakKiosk for support
// staff looking at a booth's console.
const app = {
  state: body.dataset.state,
  sessionId: null,
  service: null,
  agent: null,
  reason: null,
  position: null,
  eta: null,
  localStream: null,
  pc: null,
  pcGeneration: 0,
  offers: 0,
  offeredFor: null,       // "session_id#attempt" the current peer connection answers
  offerLog: [],           // the same key for every media.offer sent (support and tests)
  videoSender: null,
  quality: null,
  socket: null,
  socketConnected: false,
  everConnected: false,
  mediaReconnecting: false,
  security: null,
  rating: null,
  log: [],
};
window.lapakKiosk = app;

function note(...args) {
  app.log.push([Date.now(), ...args]);
  if (app.log.length > 200) app.log.shift();
}

// ---------------------------------------------------------------- states

function setState(state) {
  if (app.state === state) return;
  note("state", app.state, "->", state);
  app.state = state;
  body.dataset.state = state;
  if (state === "talking") {
    $("self-video").srcObject = app.localStream;
    playQuietly($("agent-video"));
    playQuietly($("self-video"));
  }
  if (state === "ended") startEndedTimer();
  updateReconnecting();
}

function updateReconnecting() {
  const show = IN_SESSION.has(app.state) && app.sessionId !== null && app.everConnected &&
    (!app.socketConnected || app.mediaReconnecting);
  body.dataset.reconnecting = show ? "1" : "0";
  $("reconnecting").hidden = !show;
}

function playQuietly(el) {
  if (el && el.srcObject) el.play().catch(() => {});
}

function toast(key, params) {
  const el = $("toast");
  i18n.bind(el, key, params);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function agentLabel() {
  return app.agent && app.agent.name ? i18n.t("kiosk.talking.agent", { name: app.agent.name }) : "";
}

function renderAgent() {
  $("agent-name").textContent = agentLabel();
  $("hold-agent").textContent = agentLabel();
}

function renderWaiting() {
  $("position").textContent = app.position ? String(app.position) : "–";
  // The estimate is null when no agent can serve this service now: promise no number.
  const etaEl = $("waiting-eta");
  if (!app.position) { etaEl.textContent = ""; delete etaEl.dataset.i18n; }
  else if (app.eta === null || app.eta === undefined) i18n.bind(etaEl, "kiosk.waiting.eta_unknown");
  else i18n.bind(etaEl, "kiosk.waiting.eta", { minutes: Math.max(1, Math.round(app.eta / 60)) });
  if (app.service) i18n.bind($("waiting-service"), `service.${app.service}`);
  if (app.state === "requesting") i18n.bind($("waiting-body"), "kiosk.waiting.requesting");
  else i18n.bind($("waiting-body"), "kiosk.waiting.body");
}

// ---------------------------------------------------------------- devices

let stopMeter = null;

async function openDevices() {
  if (app.localStream && app.localStream.getTracks().some((t) => t.readyState === "live")) {
    return { stream: app.localStream, problem: null };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(MEDIA_CONSTRAINTS);
    return { stream, problem: null };
  } catch (err) {
    note("getUserMedia", err && err.name);
    // Carry on with whatever device works, and say which one does not.
    for (const only of [{ audio: MEDIA_CONSTRAINTS.audio }, { video: MEDIA_CONSTRAINTS.video }]) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(only);
        return { stream, problem: mediaErrorKind(err) };
      } catch (e) { /* try the next */ }
    }
    return { stream: null, problem: mediaErrorKind(err) };
  }
}

async function deviceCheck(service) {
  app.service = service;
  setState("check");
  const status = $("check-status");
  status.classList.remove("problem", "ready");
  i18n.bind(status, "kiosk.check.starting");
  $("check-continue").disabled = true;
  $("check-retry").hidden = true;
  const { stream, problem } = await openDevices();
  if (app.state !== "check") { if (stream && stream !== app.localStream) stopStream(stream); return; }
  app.localStream = stream;
  const video = stream && stream.getVideoTracks()[0];
  const audio = stream && stream.getAudioTracks()[0];
  $("check-video").srcObject = video ? stream : null;
  $("check-no-video").hidden = Boolean(video);
  playQuietly($("check-video"));
  if (stopMeter) stopMeter();
  stopMeter = audio ? levelMeter(audio, (v) => { $("mic-meter").style.width = `${Math.round(v * 100)}%`; }) : null;
  if (problem) {
    status.classList.add("problem");
    i18n.bind(status, `kiosk.check.${problem}`);
    $("check-retry").hidden = false;
  } else {
    status.classList.add("ready");
    i18n.bind(status, "kiosk.check.ready");
  }
  // A member can still be served with audio only (the agent guides them).
  $("check-continue").disabled = !audio;
}

function stopStream(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}

function releaseDevices() {
  if (stopMeter) { stopMeter(); stopMeter = null; }
  stopStream(app.localStream);
  app.localStream = null;
  $("check-video").srcObject = null;
  $("self-video").srcObject = null;
}

// ---------------------------------------------------------------- session

async function requestSession() {
  if (stopMeter) { stopMeter(); stopMeter = null; }
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
  app.sessionId = msg.session_id;
  if (msg.service) app.service = msg.service;  // also when the security officer started the session
  if (msg.agent) { app.agent = msg.agent; renderAgent(); }
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

// ---------------------------------------------------------------- media

function closePeer() {
  if (app.pc) {
    app.pc.onconnectionstatechange = null;
    app.pc.close();
  }
  app.pc = null;
  app.videoSender = null;
  clearTimeout(closePeer.disconnectTimer);
}

let offering = null;
let offerAgain = false;

// Offer exactly once per media attempt (docs/protocol.md, "When a booth
// offers"): the server counts one more attempt each time the session enters
// "connecting" (a new agent, the same agent again, a media restart); repeats
// of the attempt this peer connection answers change nothing.
function wantMedia(sessionId, attempt) {
  const key = `${sessionId}#${attempt ?? 0}`;
  if (app.offeredFor === key) return;
  app.offeredFor = key;
  ensureMedia();
}

// Build a new peer connection for the current session and offer it (aiortc has
// no ICE restart: the session survives its transport). One at a time; a call
// while an offer is on its way makes one more right after it.
function ensureMedia() {
  if (!app.sessionId || !MEDIA.has(app.state)) return;
  if (offering) { offerAgain = true; return; }
  offering = connectMedia().finally(() => {
    offering = null;
    if (offerAgain) { offerAgain = false; ensureMedia(); }
  });
}

async function connectMedia() {
  const sessionId = app.sessionId;
  if (!app.localStream) {
    const { stream } = await openDevices();
    app.localStream = stream;
  }
  // The socket itself, not app.socketConnected: the state a reconnecting socket
  // was sent arrives before its "connect" event (socket.io's receive buffer).
  // Offline now: the next connect's session.state makes the offer.
  if (!app.socket || !app.socket.connected) return;
  closePeer();
  const generation = ++app.pcGeneration;
  const config = await peerConfig(app.socket);  // fresh TURN credentials for every new connection
  if (generation !== app.pcGeneration) return;
  const pc = new RTCPeerConnection(config);
  watchMediaFailure(pc, i18n);
  app.pc = pc;
  const stream = app.localStream || new MediaStream();
  const audioTrack = stream.getAudioTracks()[0] || null;
  const videoTrack = stream.getVideoTracks()[0] || null;
  const at = pc.addTransceiver(audioTrack || "audio", { direction: "sendrecv", streams: [stream] });
  const vt = pc.addTransceiver(videoTrack || "video", { direction: "sendrecv", streams: [stream] });
  preferCodec(at, "audio", "audio/opus");
  preferCodec(vt, "video", "video/VP8");
  app.videoSender = vt.sender;
  $("remote-audio").srcObject = new MediaStream([at.receiver.track]);
  $("agent-video").srcObject = new MediaStream([vt.receiver.track]);
  playQuietly($("remote-audio"));
  playQuietly($("agent-video"));
  pc.onconnectionstatechange = () => onPeerState(pc);

  const sdp = await completeOffer(pc);
  if (generation !== app.pcGeneration) return;
  app.offers += 1;
  app.offerLog.push(app.offeredFor);
  const ack = await request(app.socket, "media.offer", { session_id: sessionId, sdp });
  note("media.offer", ack.ok, ack.error);
  if (generation !== app.pcGeneration) return;
  if (!ack.ok) {
    const code = ack.error && ack.error.code;
    if (code === "unknown_session") { app.reason = "failed"; endSession(); }
    else if (code === "timeout" || code === "media_failed") retryMediaSoon();
    return;
  }
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
  if (app.quality) await applyQuality(app.videoSender, app.quality);
}

function retryMediaSoon(ms = 1500) {
  clearTimeout(retryMediaSoon.timer);
  retryMediaSoon.timer = setTimeout(() => ensureMedia(), ms);
}

function onPeerState(pc) {
  if (pc !== app.pc) return;
  const st = pc.connectionState;
  note("pc", st);
  body.dataset.media = st;
  clearTimeout(closePeer.disconnectTimer);
  if (st === "connected") {
    app.everConnected = true;
    app.mediaReconnecting = false;
  } else if (st === "failed") {
    // Start over for the same attempt (the server ignores the connection this replaces).
    app.mediaReconnecting = true;
    ensureMedia();
  } else if (st === "disconnected") {
    // Often recovers on its own; if not, start over with a new connection.
    closePeer.disconnectTimer = setTimeout(() => {
      if (app.pc === pc && pc.connectionState !== "connected") {
        app.mediaReconnecting = true;
        updateReconnecting();
        ensureMedia();
      }
    }, 4000);
  }
  updateReconnecting();
}

async function onQuality(msg) {
  note("media.quality", msg);
  if (!msg || (app.sessionId && msg.session_id && msg.session_id !== app.sessionId)) return;
  app.quality = msg;
  body.dataset.quality = msg.level || "";
  if (app.videoSender) await applyQuality(app.videoSender, msg);
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
  i18n.onChange(() => { renderAgent(); });
}

wire();
if (boot.kiosk) connectSocket();
