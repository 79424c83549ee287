// ICE servers for a new peer connection, and a plain notice when media cannot connect.
// Before every new RTCPeerConnection a page asks the server for fresh ICE
// servers (`media.ice`, docs/protocol.md): TURN credentials are time-limited,
// so a retry after a failure always gets new ones.

import { PC_CONFIG, request } from "/static/common/rtc.js";

// The RTCPeerConnection configuration with the server's TURN servers (none if it has none or does not answer).
export async function peerConfig(socket) {
  const ack = await request(socket, "media.ice", {}, 5000);
  const servers = ack.ok && Array.isArray(ack.ice_servers) ? ack.ice_servers : [];
  window.lapakIce = { servers, expires_at: ack.expires_at ?? null, asked: (window.lapakIce?.asked || 0) + 1 };
  return { ...PC_CONFIG, iceServers: servers };
}

// The plain "the media connection failed, trying again" banner (created on first use).
function banner() {
  let el = document.getElementById("media-failed");
  if (!el) {
    el = document.createElement("div");
    el.id = "media-failed";
    el.className = "media-failed";
    el.setAttribute("role", "alert");
    el.hidden = true;
    document.body.appendChild(el);
  }
  return el;
}

// Show (or hide) the banner; the page starts the retry itself.
export function showMediaFailed(i18n, failed = true) {
  const el = banner();
  if (failed) i18n.bind(el, "media.failed");
  el.hidden = !failed;
  document.body.dataset.mediaFailed = failed ? "1" : "0";
}

// True when an offer carries no ICE candidate at all: every way out was refused (a
// relay-only page whose TURN credentials coturn rejected, or an unreachable TURN
// server). Such a connection never reaches "failed" in Chromium (no pair to check):
// it stays "new" for ever, so the page must call it failed itself.
export function offersNoCandidate(sdp) {
  return !/^a=candidate:/m.test(sdp || "");
}

// Show "the media connection failed, trying again" while `pc` is failed, hide it once one connects.
// The page itself starts the retry (a new connection, with fresh credentials).
export function watchMediaFailure(pc, i18n) {
  banner();
  const update = () => {
    const st = pc.connectionState;
    if (st === "failed") showMediaFailed(i18n, true);
    else if (st === "connected") showMediaFailed(i18n, false);
  };
  pc.addEventListener("connectionstatechange", update);
}
