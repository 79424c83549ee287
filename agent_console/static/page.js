// The agent console's shared parts: the boot data, the console's state (`app`)
// and small helpers. agent.js, render.js and media.js import it.

import { I18n } from "/static/common/i18n.js";
import { request } from "/static/common/rtc.js";

export const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
export const i18n = I18n.fromPage(boot.lang);
export const $ = (id) => document.getElementById(id);
export const body = document.body;
export const TILES = boot.tiles || 6;

export const app = {
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

export function note(...args) {
  app.log.push([Date.now(), ...args]);
  if (app.log.length > 300) app.log.shift();
}

export const tileEl = (n) => $(`tile-${n}`);

export function toast(message) {
  const el = $("toast");
  el.textContent = i18n.t("agent.error", { message });
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
}

export function inform(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

export async function send(event, payload) {
  const ack = await request(app.socket, event, payload);
  note(event, payload, ack.ok, ack.error);
  if (!ack.ok) toast((ack.error && (ack.error.message || ack.error.code)) || event);
  return ack;
}
