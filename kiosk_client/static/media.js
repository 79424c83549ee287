// The kiosk's one peer connection to the server's media router: one offer per
// media attempt, a new connection when the old one fails, quality hints.

import { offersNoCandidate, peerConfig, showMediaFailed, watchMediaFailure } from "/static/common/ice.js";
import { completeOffer, preferCodec, request, applyQuality } from "/static/common/rtc.js";
import { $, MEDIA, app, body, hooks, i18n, note, playQuietly, updateReconnecting } from "/static/kiosk/page.js";
import { openDevices } from "/static/kiosk/devices.js";

export function closePeer() {
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
export function wantMedia(sessionId, attempt) {
  const key = `${sessionId}#${attempt ?? 0}`;
  if (app.offeredFor === key) return;
  app.offeredFor = key;
  ensureMedia();
}

// Build a new peer connection for the current session and offer it (aiortc has
// no ICE restart: the session survives its transport). One at a time; a call
// while an offer is on its way makes one more right after it.
export function ensureMedia() {
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
  // The third m-line: the member's guest's camera, next to the agent's (docs/protocol.md, kiosk offer).
  const gt = pc.addTransceiver("video", { direction: "recvonly" });
  preferCodec(at, "audio", "audio/opus");
  preferCodec(vt, "video", "video/VP8");
  preferCodec(gt, "video", "video/VP8");
  app.videoSender = vt.sender;
  $("remote-audio").srcObject = new MediaStream([at.receiver.track]);
  $("agent-video").srcObject = new MediaStream([vt.receiver.track]);
  $("guest-video").srcObject = new MediaStream([gt.receiver.track]);
  playQuietly($("remote-audio"));
  playQuietly($("agent-video"));
  playQuietly($("guest-video"));
  pc.onconnectionstatechange = () => onPeerState(pc);

  const sdp = await completeOffer(pc);
  if (generation !== app.pcGeneration) return;
  if (offersNoCandidate(sdp)) {
    // TURN refused (or unreachable) and nothing else allowed: this connection can never
    // connect. Say so and start over with fresh credentials (the offer is not sent).
    note("pc", "no candidate");
    body.dataset.media = "failed";
    app.mediaReconnecting = true;
    showMediaFailed(i18n, true);
    updateReconnecting();
    retryMediaSoon(2000);
    return;
  }
  app.offers += 1;
  app.offerLog.push(app.offeredFor);
  const ack = await request(app.socket, "media.offer", { session_id: sessionId, sdp });
  note("media.offer", ack.ok, ack.error);
  if (generation !== app.pcGeneration) return;
  if (!ack.ok) {
    const code = ack.error && ack.error.code;
    if (code === "unknown_session") { app.reason = "failed"; hooks.endSession(); }
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

export async function onQuality(msg) {
  note("media.quality", msg);
  if (!msg || (app.sessionId && msg.session_id && msg.session_id !== app.sessionId)) return;
  app.quality = msg;
  body.dataset.quality = msg.level || "";
  if (app.videoSender) await applyQuality(app.videoSender, msg);
}
