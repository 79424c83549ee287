// The guest's page (an interpreter, a family member): a device check, then one
// socket to /guest with the one-time link's token and one peer connection to
// the server (docs/protocol.md, "Guest namespace", guest offer layout): the
// agent's and the member's video, both their voices, on hold told so.
// The link works once: the socket never reconnects by itself.

import { I18n } from "/static/common/i18n.js";
import { peerConfig, watchMediaFailure } from "/static/common/ice.js";
import { completeOffer, levelMeter, mediaErrorKind, preferCodec, request } from "/static/common/rtc.js";

const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
const i18n = I18n.fromPage(boot.lang);
const $ = (id) => document.getElementById(id);
const body = document.body;

const CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
};

// Everything the page knows (also for tests and support: window.lapakGuest).
const app = { state: body.dataset.state, stream: null, socket: null, pc: null, talking: null, agent: "", log: [] };
window.lapakGuest = app;

function note(...args) {
  app.log.push([Date.now(), ...args]);
  if (app.log.length > 200) app.log.shift();
}

function setState(state) {
  note("state", app.state, "->", state);
  app.state = state;
  body.dataset.state = state;
}

function play(el) { if (el && el.srcObject) el.play().catch(() => {}); }

let stopMeter = null;

function release() {
  if (stopMeter) { stopMeter(); stopMeter = null; }
  for (const t of app.stream ? app.stream.getTracks() : []) t.stop();
  if (app.pc) { app.pc.onconnectionstatechange = null; app.pc.close(); app.pc = null; }
}

// ---------------------------------------------------------------- device check

async function deviceCheck() {
  const status = $("check-status");
  status.className = "status";
  i18n.bind(status, "guest.check.starting");
  $("check-retry").hidden = true;
  let stream = null;
  let problem = null;
  try {
    stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
  } catch (err) {
    problem = mediaErrorKind(err);
    try { stream = await navigator.mediaDevices.getUserMedia({ audio: CONSTRAINTS.audio }); } catch (e) { stream = null; }
  }
  app.stream = stream;
  const video = stream && stream.getVideoTracks()[0];
  const audio = stream && stream.getAudioTracks()[0];
  $("check-video").srcObject = video ? stream : null;
  $("check-no-video").hidden = Boolean(video);
  play($("check-video"));
  if (stopMeter) stopMeter();
  stopMeter = audio ? levelMeter(audio, (v) => { $("mic-meter").style.width = `${Math.round(v * 100)}%`; }) : null;
  if (problem || !audio) {
    status.classList.add("problem");
    i18n.bind(status, `guest.check.${problem || "missing"}`);
    $("check-retry").hidden = false;
  } else {
    status.classList.add("ready");
    i18n.bind(status, "guest.check.ready");
  }
  // The agent and the member need to hear the guest; a camera helps (sign language) but is not required.
  $("join").disabled = !audio;
}

// ---------------------------------------------------------------- the call

function showEnded(reason) {
  release();
  if (app.socket) { app.socket.off("disconnect"); app.socket.disconnect(); }
  i18n.bind($("ended-body"), `guest.ended.${reason}`);
  body.dataset.ended = reason;
  setState("ended");
}

function renderCall() {
  const banner = $("call-banner");
  const talking = app.talking !== false;
  $("hold").hidden = talking;
  body.dataset.hold = talking ? "0" : "1";
  if (app.talking === null) i18n.bind(banner, "guest.call.connecting");
  else i18n.bind(banner, talking ? "guest.call.talking" : "guest.call.on_hold");
  if (app.agent) i18n.bind($("agent-label"), "guest.agent", { name: app.agent });
}

async function offer() {
  const pc = new RTCPeerConnection(await peerConfig(app.socket));  // fresh TURN credentials (media.ice)
  watchMediaFailure(pc, i18n);
  app.pc = pc;
  const stream = app.stream || new MediaStream();
  const mic = stream.getAudioTracks()[0] || null;
  const cam = stream.getVideoTracks()[0] || null;
  // Layout: audio sendrecv, video sendrecv (camera / the agent), video recvonly (the member).
  const at = pc.addTransceiver(mic || "audio", { direction: "sendrecv", streams: [stream] });
  const vt = pc.addTransceiver(cam || "video", { direction: "sendrecv", streams: [stream] });
  const mt = pc.addTransceiver("video", { direction: "recvonly" });
  preferCodec(at, "audio", "audio/opus");
  preferCodec(vt, "video", "video/VP8");
  preferCodec(mt, "video", "video/VP8");
  $("remote-audio").srcObject = new MediaStream([at.receiver.track]);
  $("agent-video").srcObject = new MediaStream([vt.receiver.track]);
  $("member-video").srcObject = new MediaStream([mt.receiver.track]);
  $("self-video").srcObject = cam ? stream : null;
  pc.onconnectionstatechange = () => {
    note("pc", pc.connectionState);
    body.dataset.media = pc.connectionState;
    if (pc.connectionState === "failed" && app.state === "call") showEnded("lost");
  };
  const ack = await request(app.socket, "media.offer", { sdp: await completeOffer(pc) });
  note("media.offer", ack.ok, ack.error);
  if (!ack.ok) { showEnded(ack.error && ack.error.code === "unknown_session" ? "removed" : "failed"); return; }
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
  setState("call");
  renderCall();
  for (const id of ["remote-audio", "agent-video", "member-video", "self-video"]) play($(id));
}

function onGuestState(msg) {
  note("guest.state", msg);
  if (!msg) return;
  if (msg.state === "joined") { offer().catch((e) => { note("offer", String(e)); showEnded("failed"); }); return; }
  if (msg.state === "ended") { showEnded("removed"); return; }
  if (msg.state === "talking" || msg.state === "on_hold") {
    app.talking = msg.state === "talking";
    app.agent = msg.agent || app.agent;
    if (app.state === "call") renderCall();
  }
}

function join() {
  if (stopMeter) { stopMeter(); stopMeter = null; }
  setState("joining");
  const socket = io("/guest", { auth: { token: boot.token }, reconnection: false, transports: ["websocket", "polling"] });
  app.socket = socket;
  socket.on("connect", () => { body.dataset.socket = "connected"; });
  socket.on("connect_error", (err) => {
    note("connect_error", err && err.message, err && err.data);
    release();
    setState("invalid");
  });
  socket.on("disconnect", (reason) => { note("disconnect", reason); showEnded("lost"); });
  socket.on("guest.state", onGuestState);
  socket.on("error", (e) => note("error event", e));
}

async function leave() {
  if (app.socket && app.socket.connected) await request(app.socket, "guest.leave", {}, 5000);
  showEnded("left");
}

$("join").addEventListener("click", join);
$("check-retry").addEventListener("click", deviceCheck);
$("leave").addEventListener("click", leave);
$("lang-toggle").addEventListener("click", () => i18n.setLang(i18n.lang === "id" ? "en" : "id"));
if (app.state === "check") deviceCheck();
