// The agent's camera and microphone, and the console's one peer connection to
// the server's media router (docs/protocol.md, agent offer layout).

import { offersNoCandidate, peerConfig, showMediaFailed, watchMediaFailure } from "/static/common/ice.js";
import { completeOffer, onlyCodec, preferCodec } from "/static/common/rtc.js";
import { $, TILES, app, body, i18n, note, send, tileEl, toast } from "/static/agent/page.js";
import { renderAvailability } from "/static/agent/render.js";

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

export async function switchDevice(kind, deviceId) {
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

export function setMute(muted) {
  app.micMuted = muted;
  for (const t of app.localStream?.getAudioTracks() || []) t.enabled = !muted;
  body.dataset.mic = muted ? "muted" : "on";
  i18n.bind($("mute"), muted ? "agent.self.unmute" : "agent.self.mute");
}

export function setCameraOff(off) {
  app.cameraOff = off;
  for (const t of app.localStream?.getVideoTracks() || []) t.enabled = !off;
  $("self-off").hidden = !off;
  i18n.bind($("camera"), off ? "agent.self.camera_on" : "agent.self.camera_off");
}

let offering = null;
let offerAgain = false;

export function ensureMedia() {
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
  // Layout (docs/protocol.md): audio sendrecv, video sendonly, 6 x video recvonly (the tiles),
  // 6 x video recvonly (each tile's member's guest).
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
  for (let n = 1; n <= TILES; n++) {
    const tr = pc.addTransceiver("video", { direction: "recvonly" });
    onlyCodec(tr, "video", "video/VP8");  // VP8 only: fourteen full m-lines would pass 64 KiB
    const v = tileEl(n).querySelector(".tile-guest-video");
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
  if (offersNoCandidate(sdp)) {
    // TURN refused (or unreachable) and nothing else allowed: never connects. Say so,
    // then start over with fresh credentials (the offer is not sent).
    note("pc", "no candidate");
    app.mediaState = "failed";
    body.dataset.media = "failed";
    showMediaFailed(i18n, true);
    renderAvailability();
    setTimeout(() => { if (pc === app.pc) ensureMedia(); }, 2000);
    return;
  }
  app.offers += 1;
  const ack = await send("media.offer", { sdp });
  if (generation !== app.pcGeneration) return;
  if (!ack.ok) { app.mediaState = "failed"; renderAvailability(); return; }
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
}
