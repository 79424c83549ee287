// The video interview from the member's phone: a camera/microphone/network check, then /kiosk with
// the status link as credential, interview.join, and one peer connection per media attempt, as a
// booth does (docs/protocol.md, "When a booth offers"). On hold the page says so and hold audio plays.
import { peerConfig, watchMediaFailure } from "/static/common/ice.js";
import { applyQuality, completeOffer, preferCodec, request } from "/static/common/rtc.js";

const iv = { socket: null, pc: null, stream: null, offeredFor: null, sessionId: null, quality: null, sender: null,
  generation: 0, connections: 0, offering: null, offerAgain: false, disconnectTimer: null, retryTimer: null };
window.lapakInterview = iv;

function say(app, key) {
  app.$("interview-text").dataset.i18n = key;
  app.$("interview-text").textContent = app.i18n.t(key);
}

async function check(app) {
  say(app, "claim.interview.check");
  try {
    iv.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  } catch (err) {
    say(app, "claim.interview.check_failed");
    return false;
  }
  app.$("self-video").srcObject = iv.stream;
  const started = performance.now();
  const res = await fetch("/healthz", { cache: "no-store" }).catch(() => null);
  iv.rtt = performance.now() - started;
  return !!(res && res.ok);
}

// One offer per media attempt; a new connection (fresh ICE servers) when this one fails, stays
// disconnected, or its offer timed out, as the booth does (kiosk_client/static/media.js).
function wantMedia(app, sessionId, attempt) {
  const key = `${sessionId}/${attempt}`;
  if (iv.offeredFor === key) return;
  iv.offeredFor = key;
  ensureMedia(app);
}

function ensureMedia(app) {
  if (!iv.sessionId || !iv.socket || !iv.socket.connected) return;
  if (iv.offering) { iv.offerAgain = true; return; }
  iv.offering = connect(app, iv.sessionId).finally(() => {
    iv.offering = null;
    if (iv.offerAgain) { iv.offerAgain = false; ensureMedia(app); }
  });
}

function closePeer() {
  clearTimeout(iv.disconnectTimer);
  if (iv.pc) { iv.pc.onconnectionstatechange = null; iv.pc.close(); }
  iv.pc = null;
}

function onPeerState(app, pc) {
  if (pc !== iv.pc) return;
  const st = pc.connectionState;
  document.body.dataset.media = st;
  clearTimeout(iv.disconnectTimer);
  if (st === "failed") ensureMedia(app);  // the same attempt on a new connection (the server drops the old one)
  else if (st === "disconnected") {
    iv.disconnectTimer = setTimeout(() => { if (iv.pc === pc && pc.connectionState !== "connected") ensureMedia(app); }, 4000);
  }
}

async function connect(app, sessionId) {
  closePeer();
  const generation = ++iv.generation;
  const config = await peerConfig(iv.socket);  // fresh TURN credentials for every new connection
  if (generation !== iv.generation) return;
  const pc = new RTCPeerConnection(config);
  watchMediaFailure(pc, app.i18n);
  iv.pc = pc;
  iv.connections += 1;
  const at = pc.addTransceiver(iv.stream.getAudioTracks()[0], { direction: "sendrecv", streams: [iv.stream] });
  const vt = pc.addTransceiver(iv.stream.getVideoTracks()[0], { direction: "sendrecv", streams: [iv.stream] });
  preferCodec(at, "audio", "audio/opus");
  preferCodec(vt, "video", "video/VP8");
  iv.sender = vt.sender;
  app.$("remote-audio").srcObject = new MediaStream([at.receiver.track]);
  app.$("agent-video").srcObject = new MediaStream([vt.receiver.track]);
  app.$("remote-audio").play().catch(() => {});
  app.$("agent-video").play().catch(() => {});
  pc.onconnectionstatechange = () => onPeerState(app, pc);
  const sdp = await completeOffer(pc);
  if (generation !== iv.generation) return;
  const ack = await request(iv.socket, "media.offer", { session_id: sessionId, sdp });
  if (generation !== iv.generation) return;
  if (!ack.ok) {
    const code = ack.error && ack.error.code;
    if (code === "timeout" || code === "media_failed") {
      clearTimeout(iv.retryTimer);
      iv.retryTimer = setTimeout(() => ensureMedia(app), 1500);
    }
    return;
  }
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
  if (iv.quality) await applyQuality(iv.sender, iv.quality);
}

function onState(app, s) {
  document.body.dataset.interview = s.state;
  iv.sessionId = s.session_id || iv.sessionId;
  const keys = { waiting: "claim.interview.waiting", transferred: "claim.interview.waiting", connecting: "claim.interview.connecting",
    talking: "claim.interview.talking", on_hold: "claim.interview.on_hold", ended: "claim.interview.ended" };
  if (keys[s.state]) say(app, keys[s.state]);
  if (["connecting", "talking", "on_hold"].includes(s.state) && s.agent) wantMedia(app, s.session_id, s.attempt || 0);
  if (s.state === "ended") stop(app);
}

// The interview is over (ended, or the link revoked): media and socket closed, back to the status page.
function stop(app, error) {
  clearTimeout(iv.retryTimer);
  iv.generation += 1;
  closePeer();
  for (const t of iv.stream ? iv.stream.getTracks() : []) t.stop();
  iv.socket.disconnect();
  setTimeout(() => { app.step("status"); if (error) app.error(error); else app.refresh(); }, error ? 0 : 1500);
}

export async function startInterview(app) {
  app.step("interview");
  if (!(await check(app))) return;
  const socket = io("/kiosk", { auth: { claim: app.token }, transports: ["websocket"], reconnection: true });
  iv.socket = socket;
  socket.on("connect_error", (err) => {
    const code = err && err.data && err.data.code;
    socket.disconnect();
    app.step("status");
    app.error({ code, message: app.i18n.t(`claim.error.${code || "invalid_state"}`) });
  });
  socket.on("connect", async () => {
    iv.offeredFor = null;  // a reconnected socket is sent its session's state and offers again
    if (iv.sessionId) return;
    const ack = await request(socket, "interview.join", { language: app.i18n.lang });
    if (!ack.ok && ack.error.code !== "invalid_state") app.error(ack.error);
  });
  socket.on("session.state", (s) => onState(app, s));
  socket.on("media.restart", (m) => { if (m.session_id === iv.sessionId) wantMedia(app, m.session_id, m.attempt); });
  socket.on("access.ended", (m) => {  // a supervisor revoked the status link: the interview ends here
    document.body.dataset.interview = "revoked";
    const code = m && m.reason === "link_revoked" ? "revoked_link" : "invalid_state";
    stop(app, { code, message: app.i18n.t(`claim.error.${code}`) });
  });
  socket.on("media.quality", async (q) => { iv.quality = q; await applyQuality(iv.sender, q); });
  socket.on("consent.request", () => { app.$("consent").hidden = false; });
  socket.on("rec.state", (r) => { app.$("rec").hidden = !r.recording; });
  for (const [id, yes] of [["consent-yes", true], ["consent-no", false]]) {
    app.$(id).onclick = async () => {
      app.$("consent").hidden = true;
      await request(socket, "consent.answer", { session_id: iv.sessionId, recording: yes });
    };
  }
}
