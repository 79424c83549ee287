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

// Show "the media connection failed, trying again" while `pc` is failed, hide it once one connects.
// The page itself starts the retry (a new connection, with fresh credentials).
export function watchMediaFailure(pc, i18n) {
  let el = document.getElementById("media-failed");
  if (!el) {
    el = document.createElement("div");
    el.id = "media-failed";
    el.className = "media-failed";
    el.setAttribute("role", "alert");
    el.hidden = true;
    document.body.appendChild(el);
  }
  const update = () => {
    const st = pc.connectionState;
    if (st === "failed") {
      i18n.bind(el, "media.failed");
      el.hidden = false;
      document.body.dataset.mediaFailed = "1";
    } else if (st === "connected") {
      el.hidden = true;
      document.body.dataset.mediaFailed = "0";
    }
  };
  pc.addEventListener("connectionstatechange", update);
}
