// A supervisor in an agent's room, from the board (docs/protocol.md,
// "Supervisors and guests in an agent's room"): monitor.join with one peer
// connection (microphone / what the supervisor hears; the agent's six tiles
// and the agent's camera), monitor.mode, monitor.leave, and monitor.state.
// The microphone is live only in whisper and barge (in listen nobody hears it anyway).

import { $, i18n, toast } from "/static/staff/staff.js";
import { peerConfig } from "/static/common/ice.js";
import { completeOffer, preferCodec, request } from "/static/common/rtc.js";

const TILES = 6;
const MODES = ["listen", "whisper", "barge"];
// Errors a supervisor can act on, each with its own text (else the generic one).
const KNOWN_ERRORS = ["unknown_agent", "media_failed", "invalid_sdp", "timeout", "no_mic"];

// Status: none (no room), joining, in_room, agent_offline, closed (put out), failed, lost (board offline).
export const room = { status: "none", agentId: null, name: "", mode: "listen", state: null, pc: null, mic: null, socket: null, error: null, joins: 0 };
window.lapakMonitor = room;

function setStatus(status, error = null) {
  room.status = status;
  room.error = error;
  render();
}

function stopMedia() {
  if (room.pc) { room.pc.onconnectionstatechange = null; room.pc.close(); room.pc = null; }
  for (const t of room.mic ? room.mic.getTracks() : []) t.stop();
  room.mic = null;
}

function applyMic() {
  for (const t of room.mic ? room.mic.getAudioTracks() : []) t.enabled = room.mode !== "listen";
}

async function openMic() {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
  } catch (e) {
    return null; // listening needs no microphone; whisper and barge say it is missing
  }
}

export async function join(agentId, name, mode = room.mode) {
  if (room.status !== "none" && room.agentId !== agentId) await leave(false);
  stopMedia();
  Object.assign(room, { agentId, name, mode, state: null });
  setStatus("joining");
  const mic = await openMic();
  room.mic = mic;
  const pc = new RTCPeerConnection(await peerConfig(room.socket));  // fresh TURN credentials (media.ice)
  room.pc = pc;
  const track = mic ? mic.getAudioTracks()[0] : null;
  // Layout: audio sendrecv, then seven video recvonly: tiles 1 to 6, the agent's camera.
  const at = pc.addTransceiver(track || "audio", { direction: "sendrecv", streams: mic ? [mic] : [] });
  preferCodec(at, "audio", "audio/opus");
  applyMic();
  const videos = [...Array(TILES).keys()].map((i) => $(`room-tile-${i + 1}`).querySelector("video"));
  videos.push($("room-agent-video"));
  for (const video of videos) {
    const tr = pc.addTransceiver("video", { direction: "recvonly" });
    preferCodec(tr, "video", "video/VP8");
    video.srcObject = new MediaStream([tr.receiver.track]);
  }
  $("room-audio").srcObject = new MediaStream([at.receiver.track]);
  pc.onconnectionstatechange = () => {
    if (pc !== room.pc) return;
    $("room").dataset.media = pc.connectionState;
    if (pc.connectionState === "failed") { stopMedia(); setStatus("failed", "media_failed"); }
  };
  const sdp = await completeOffer(pc);
  if (pc !== room.pc) return;
  const ack = await request(room.socket, "monitor.join", { agent_id: agentId, mode, sdp });
  if (pc !== room.pc) return;
  if (!ack.ok) { stopMedia(); setStatus("failed", ack.error && ack.error.code); return; }
  await pc.setRemoteDescription({ type: "answer", sdp: ack.sdp });
  room.joins += 1;
  for (const v of [...videos, $("room-audio")]) v.play().catch(() => {});
  if (room.status === "joining") setStatus(room.state && !room.state.online ? "agent_offline" : "in_room");
}

async function setMode(mode) {
  if (!["in_room", "agent_offline"].includes(room.status)) { room.mode = mode; render(); return; }
  const ack = await request(room.socket, "monitor.mode", { mode });
  if (!ack.ok) { toast(i18n.t("monitor.error.generic", { code: (ack.error && ack.error.code) || "?" })); return; }
  room.mode = mode;
  applyMic();
  render();
}

export async function leave(tell = true) {
  const name = room.name;
  const was = room.status;
  stopMedia();
  if (room.socket && room.socket.connected && ["joining", "in_room", "agent_offline"].includes(was)) {
    await request(room.socket, "monitor.leave", {});
  }
  Object.assign(room, { status: "none", agentId: null, state: null, error: null });
  render();
  if (tell && name) toast(i18n.t("monitor.left", { name }), "ok");
}

function onMonitorState(msg) {
  if (!msg || msg.agent_id !== room.agentId) return;
  if (msg.closed) { stopMedia(); room.state = null; setStatus("closed"); return; }
  room.state = msg;
  if (MODES.includes(msg.mode)) room.mode = msg.mode;
  if (room.status === "joining") { render(); return; }
  setStatus(msg.online ? "in_room" : "agent_offline");
}

// ---------------------------------------------------------------- drawing

function renderTile(n, tile, focus) {
  const fig = $(`room-tile-${n}`);
  fig.dataset.state = tile ? tile.state || (focus.includes(tile.session_id) ? "talking" : "on_hold") : "empty";
  fig.dataset.sessionId = tile ? tile.session_id : "";
  const guest = tile && (room.state.people || []).some((p) => p.role === "guest" && p.session_id === tile.session_id);
  fig.dataset.guest = guest ? "1" : "0";
  const who = tile ? [i18n.t("agent.booth", { booth: tile.booth ?? "?" }), tile.branch || "", i18n.t(`service.short.${tile.service}`)] : [];
  if (guest) who.push(i18n.t("monitor.guest"));
  fig.querySelector(".room-tile-who").textContent = who.filter(Boolean).join(" · ");
  fig.querySelector(".room-tile-state").textContent = i18n.t(tile ? `agent.tile.state.${fig.dataset.state}` : "agent.tile.empty");
}

function render() {
  const panel = $("room");
  panel.hidden = room.status === "none";
  panel.dataset.status = room.status;
  panel.dataset.mode = room.mode;
  if (room.status === "none") return;
  $("room-title").textContent = i18n.t("monitor.title", { name: room.name });
  const pill = $("room-status");
  pill.className = `pill ${{ in_room: "", joining: "neutral", agent_offline: "warn" }[room.status] ?? "bad"}`;
  $("room-status-text").textContent = i18n.t(`monitor.status.${room.status}`);
  const live = ["joining", "in_room", "agent_offline"].includes(room.status);
  for (const b of document.querySelectorAll("#room .mode")) {
    b.setAttribute("aria-pressed", b.dataset.mode === room.mode ? "true" : "false");
    b.className = `btn small mode ${b.dataset.mode === room.mode ? "btn-primary" : "btn-secondary"}`;
    b.disabled = room.status === "joining";
  }
  const noMic = live && !room.mic && room.mode !== "listen" && room.status !== "joining";
  $("room-hint").textContent = noMic ? i18n.t("monitor.error.no_mic") : i18n.t(`monitor.mode.${room.mode}.hint`);
  $("room-hint").classList.toggle("problem", noMic);
  $("room-leave").hidden = !live;
  $("room-retry-wrap").hidden = live;
  const err = $("room-error");
  err.hidden = !room.error;
  if (room.error) {
    err.textContent = i18n.t(`monitor.error.${KNOWN_ERRORS.includes(room.error) ? room.error : "generic"}`, { code: room.error });
  }
  const state = room.state;
  $("room-agent-label").textContent = i18n.t(state && !state.online ? "monitor.agent_offline" : "monitor.agent", { name: room.name });
  const tiles = Array(TILES).fill(null);
  for (const t of (state && state.tiles) || []) if (t && t.tile >= 1 && t.tile <= TILES) tiles[t.tile - 1] = t;
  for (let n = 1; n <= TILES; n++) renderTile(n, live && state ? tiles[n - 1] : null, (state && state.focus) || []);
  const me = $("who") ? $("who").title : "";  // the signed-in supervisor's username (base.html)
  const others = ((state && state.people) || []).filter((p) => p.role === "supervisor" && p.username !== me);
  $("room-people").textContent = others.length
    ? i18n.t("monitor.others", { names: others.map((p) => `${p.name} (${i18n.t(`monitor.mode.${p.mode}`)})`).join(", ") })
    : "";
}

// ---------------------------------------------------------------- wiring

export function attachMonitor(socket) {
  room.socket = socket;
  socket.on("monitor.state", onMonitorState);
  // Closing the board's socket takes the supervisor out of the room (the server's rule).
  socket.on("disconnect", () => {
    if (["joining", "in_room", "agent_offline"].includes(room.status)) { stopMedia(); setStatus("lost"); }
  });
}

$("agents-body").addEventListener("click", (ev) => {
  const button = ev.target.closest(".open-room");
  if (!button) return;
  const row = button.closest("tr");
  join(row.dataset.agent, button.dataset.name || row.dataset.agent);
});
for (const b of document.querySelectorAll("#room .mode")) b.addEventListener("click", () => setMode(b.dataset.mode));
$("room-leave").addEventListener("click", () => leave());
$("room-retry").addEventListener("click", () => join(room.agentId, room.name));
$("room-close").addEventListener("click", () => leave(false));
i18n.onChange(render);
