// Agent console: six tiles, one RTCPeerConnection to the server.
// Protocol: docs/protocol.md (namespace /agent, agent offer layout).

import { I18n } from "/static/common/i18n.js";
import { peerConfig, watchMediaFailure } from "/static/common/ice.js";
import { completeOffer, preferCodec, request } from "/static/common/rtc.js";
import { attachSelfService } from "/static/agent/selfservice.js";

const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
const i18n = I18n.fromPage(boot.lang);
const $ = (id) => document.getElementById(id);
const body = document.body;
const TILES = boot.tiles || 6;

const app = {
  socket: null,
  socketConnected: false,
  pc: null,
  pcGeneration: 0,
  offers: 0,
  mediaState: "new",
  localStream: null,
  micSender: null,
  camSender: null,
  tileReceivers: [],      // index 0..5 -> RTCRtpReceiver of tile 1..6
  room: null,             // last room.state
  tiles: Array(TILES).fill(null),
  focus: [],
  capacity: boot.agent ? boot.agent.capacity : 6,
  notes: {},              // session_id -> note text
  hoveredTile: null,
  ptt: null,              // session id talked to while Space is held
  micMuted: false,
  cameraOff: false,
  levels: {},
  log: [],
};
window.lapakAgent = app;

function note(...args) {
  app.log.push([Date.now(), ...args]);
  if (app.log.length > 300) app.log.shift();
}

const tileEl = (n) => $(`tile-${n}`);

function toast(message) {
  const el = $("toast");
  el.textContent = i18n.t("agent.error", { message });
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

function inform(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

function showEnded(reason) {
  const known = ["signed_out", "replaced", "account_disabled"];
  const key = `agent.ended.${known.includes(reason) ? reason : "signed_out"}`;
  body.dataset.view = "login";
  body.dataset.ended = reason;
  $("ended-reason").dataset.i18n = key;
  $("ended-reason").textContent = i18n.t(key);
  if (app.pc) { app.pc.onconnectionstatechange = null; app.pc.close(); app.pc = null; }
}

async function send(event, payload) {
  const ack = await request(app.socket, event, payload);
  note(event, payload, ack.ok, ack.error);
  if (!ack.ok) toast((ack.error && (ack.error.message || ack.error.code)) || event);
  return ack;
}

// ---------------------------------------------------------------- rendering

function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${String(m).padStart(2, "0")}:${ss}`;
}

function renderAvailability() {
  const el = $("availability");
  const used = app.tiles.filter(Boolean).length;
  let kind = "online";
  if (!app.socketConnected) kind = "offline";
  else if (app.availability && app.availability !== "available") kind = "away";
  else if (used >= app.capacity) kind = "full";
  el.dataset.availability = kind;
  el.className = `pill ${kind === "online" ? "" : kind === "full" || kind === "away" ? "warn" : "bad"}`;
  i18n.bind($("availability-text"), `agent.status.${kind}`);
  if (app.socketConnected) i18n.bind($("slots"), "agent.status.slots", { used, capacity: app.capacity });
  else $("slots").textContent = "";
  const media = $("media-status");
  const ok = app.mediaState === "connected";
  media.dataset.media = app.mediaState;
  media.className = `pill ${ok ? "" : app.mediaState === "new" || app.mediaState === "connecting" ? "neutral" : "bad"}`;
  i18n.bind($("media-text"), ok ? "agent.media.connected"
    : app.mediaState === "new" || app.mediaState === "connecting" ? "agent.status.connecting" : "agent.media.disconnected");
}

function renderTile(n) {
  const el = tileEl(n);
  const t = app.tiles[n - 1];
  const prev = el.dataset.sessionId || "";
  if (!t) {
    el.dataset.state = "empty";
    el.dataset.focused = "0";
    el.dataset.sessionId = "";
    el.querySelector(".tile-note").value = "";
    return;
  }
  el.dataset.sessionId = t.session_id;
  const focused = app.focus.includes(t.session_id);
  const state = t.state || (focused ? "talking" : "on_hold");
  el.dataset.state = state;
  el.dataset.focused = focused ? "1" : "0";
  i18n.bind(el.querySelector(".tile-state-text"), `agent.tile.state.${state}`);
  i18n.bind(el.querySelector(".tile-booth"), "agent.booth", { booth: t.booth ?? "?" });
  el.querySelector(".tile-branch").textContent = t.branch || "";
  i18n.bind(el.querySelector(".tile-service"), `service.${t.service}`);
  if (prev !== t.session_id) {
    // A new member on this tile: their own note, nothing carried over.
    el.querySelector(".tile-note").value = app.notes[t.session_id] || "";
  }
  el.querySelector(".tile-timer").textContent = fmtDuration(Date.now() / 1000 - (t.since || Date.now() / 1000));
}

function renderTiles() {
  for (let n = 1; n <= TILES; n++) renderTile(n);
  renderAvailability();
}

function tick() {
  const now = Date.now() / 1000;
  for (let n = 1; n <= TILES; n++) {
    const t = app.tiles[n - 1];
    if (t) tileEl(n).querySelector(".tile-timer").textContent = fmtDuration(now - (t.since || now));
  }
}

function onRoomState(room) {
  note("room.state", room);
  app.room = room;
  if (room.capacity) app.capacity = room.capacity;
  const tiles = Array(TILES).fill(null);
  for (const t of room.tiles || []) {
    if (t && t.tile >= 1 && t.tile <= TILES) tiles[t.tile - 1] = t;
  }
  app.tiles = tiles;
  app.focus = Array.isArray(room.focus) ? room.focus.slice() : [];
  app.availability = room.availability || "available";
  app.colleagues = Array.isArray(room.colleagues) ? room.colleagues : [];
  $("availability-select").value = app.availability;
  // Forget notes of sessions that are gone.
  const live = new Set(tiles.filter(Boolean).map((t) => t.session_id));
  for (const id of Object.keys(app.notes)) if (!live.has(id)) delete app.notes[id];
  renderTiles();
}

function onLevels(msg) {
  // Placeholder for a future server event: {levels: {session_id: 0..1}}.
  const levels = (msg && msg.levels) || {};
  for (let n = 1; n <= TILES; n++) {
    const t = app.tiles[n - 1];
    const v = t ? Number(levels[t.session_id] || 0) : 0;
    tileEl(n).querySelector(".tile-level-fill").style.width = `${Math.round(Math.min(1, v) * 100)}%`;
  }
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
  for (const c of app.colleagues || []) {
    const o = document.createElement("option");
    o.value = `agent:${c.agent_id}`;
    o.textContent = i18n.t("agent.transfer.colleague", { name: c.name, free: c.free });
    select.appendChild(o);
  }
  $("transfer-dialog").showModal();
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
  if (typing(ev) || $("end-dialog").open || $("transfer-dialog").open || ev.ctrlKey || ev.metaKey || ev.altKey) return;
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

// ---------------------------------------------------------------- media

const CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
};

async function openDevices() {
  if (app.localStream) return app.localStream;
  let stream = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
  } catch (err) {
    note("getUserMedia", err && err.name);
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: CONSTRAINTS.audio }); } catch (e) { stream = new MediaStream(); }
  }
  app.localStream = stream;
  $("self-video").srcObject = stream;
  $("self-video").play().catch(() => {});
  fillDevicePickers();
  return stream;
}

async function fillDevicePickers() {
  let devices = [];
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (e) { return; }
  const current = {
    audioinput: app.localStream?.getAudioTracks()[0]?.getSettings().deviceId,
    videoinput: app.localStream?.getVideoTracks()[0]?.getSettings().deviceId,
  };
  for (const [kind, sel] of [["audioinput", $("mic-select")], ["videoinput", $("camera-select")]]) {
    sel.textContent = "";
    devices.filter((d) => d.kind === kind).forEach((d, i) => {
      const o = document.createElement("option");
      o.value = d.deviceId;
      o.textContent = d.label || `${kind === "audioinput" ? i18n.t("agent.self.mic_device") : i18n.t("agent.self.camera_device")} ${i + 1}`;
      if (d.deviceId === current[kind]) o.selected = true;
      sel.appendChild(o);
    });
  }
}

async function switchDevice(kind, deviceId) {
  const constraints = kind === "audio"
    ? { audio: { ...CONSTRAINTS.audio, deviceId: { exact: deviceId } } }
    : { video: { ...CONSTRAINTS.video, deviceId: { exact: deviceId } } };
  let s;
  try { s = await navigator.mediaDevices.getUserMedia(constraints); } catch (e) { toast(e.name || "device"); return; }
  const track = kind === "audio" ? s.getAudioTracks()[0] : s.getVideoTracks()[0];
  const stream = app.localStream;
  for (const old of (kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks())) { stream.removeTrack(old); old.stop(); }
  stream.addTrack(track);
  if (kind === "audio") track.enabled = !app.micMuted; else track.enabled = !app.cameraOff;
  const sender = kind === "audio" ? app.micSender : app.camSender;
  if (sender) await sender.replaceTrack(track);
  $("self-video").srcObject = stream;
}

function setMute(muted) {
  app.micMuted = muted;
  for (const t of app.localStream?.getAudioTracks() || []) t.enabled = !muted;
  body.dataset.mic = muted ? "muted" : "on";
  i18n.bind($("mute"), muted ? "agent.self.unmute" : "agent.self.mute");
}

function setCameraOff(off) {
  app.cameraOff = off;
  for (const t of app.localStream?.getVideoTracks() || []) t.enabled = !off;
  $("self-off").hidden = !off;
  i18n.bind($("camera"), off ? "agent.self.camera_on" : "agent.self.camera_off");
}

let offering = null;
let offerAgain = false;

function ensureMedia() {
  if (offering) { offerAgain = true; return; }
  offering = connectMedia().catch((e) => { note("media error", String(e)); }).finally(() => {
    offering = null;
    if (offerAgain) { offerAgain = false; ensureMedia(); }
  });
}

async function connectMedia() {
  const stream = await openDevices();
  if (!app.socketConnected) return;
  if (app.pc) { app.pc.onconnectionstatechange = null; app.pc.close(); }
  const generation = ++app.pcGeneration;
  const config = await peerConfig(app.socket);  // fresh TURN credentials for every new connection
  if (generation !== app.pcGeneration) return;
  const pc = new RTCPeerConnection(config);
  watchMediaFailure(pc, i18n);
  app.pc = pc;
  const mic = stream.getAudioTracks()[0] || null;
  const cam = stream.getVideoTracks()[0] || null;
  // Layout (docs/protocol.md): audio sendrecv, video sendonly, 6 x video recvonly.
  const at = pc.addTransceiver(mic || "audio", { direction: "sendrecv", streams: [stream] });
  const ct = pc.addTransceiver(cam || "video", { direction: "sendonly", streams: [stream] });
  preferCodec(at, "audio", "audio/opus");
  preferCodec(ct, "video", "video/VP8");
  app.micSender = at.sender;
  app.camSender = ct.sender;
  app.tileReceivers = [];
  for (let n = 1; n <= TILES; n++) {
    const tr = pc.addTransceiver("video", { direction: "recvonly" });
    preferCodec(tr, "video", "video/VP8");
    app.tileReceivers.push(tr.receiver);
    const v = tileEl(n).querySelector(".tile-video");
    v.srcObject = new MediaStream([tr.receiver.track]);
    v.play().catch(() => {});
  }
  $("remote-audio").srcObject = new MediaStream([at.receiver.track]);
  $("remote-audio").play().catch(() => {});
  pc.onconnectionstatechange = () => {
    if (pc !== app.pc) return;
    app.mediaState = pc.connectionState;
    body.dataset.media = pc.connectionState;
    note("pc", pc.connectionState);
    renderAvailability();
    if (pc.connectionState === "failed") setTimeout(() => { if (pc === app.pc) ensureMedia(); }, 500);
  };
  app.mediaState = "connecting";
  renderAvailability();
  const sdp = await completeOffer(pc);
  if (generation !== app.pcGeneration) return;
  app.offers += 1;
  const ack = await send("media.offer", { sdp });
  if (generation !== app.pcGeneration) return;
  if (!ack.ok) { app.mediaState = "failed"; renderAvailability(); return; }
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
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
