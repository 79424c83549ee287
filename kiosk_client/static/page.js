// The kiosk page's shared parts: the boot data, the page's state (`app`),
// and how a state is shown. kiosk.js, devices.js and media.js import it.

import { I18n } from "/static/common/i18n.js";

export const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
export const i18n = I18n.fromPage(boot.lang);
export const $ = (id) => document.getElementById(id);
export const body = document.body;

export const LIVE = new Set(["connecting", "talking", "on_hold", "transferred"]);
// States in which the booth has, or is getting, a peer connection to its agent.
export const MEDIA = new Set(["connecting", "talking", "on_hold"]);
export const IN_SESSION = new Set(["requesting", "waiting", ...LIVE]);
export const MEDIA_CONSTRAINTS = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } },
};

// Everything the page knows, also reachable as window.lapakKiosk for support
// staff looking at a booth's console.
export const app = {
  state: body.dataset.state,
  sessionId: null,
  service: null,
  agent: null,
  supervisors: [],        // names of supervisors the member hears now (barge)
  guest: false,           // the member sees and hears their guest now
  network: null,          // the last media.network (network.js)
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

export function note(...args) {
  app.log.push([Date.now(), ...args]);
  if (app.log.length > 200) app.log.shift();
}

// What the page's other modules call back into kiosk.js for (set there, once).
export const hooks = {
  /** The session reached "ended": start the timer back to the idle screen. */
  ended: () => {},
  /** The session is gone for the server: show the end screen. */
  endSession: () => {},
};

export function setState(state) {
  if (app.state === state) return;
  note("state", app.state, "->", state);
  app.state = state;
  body.dataset.state = state;
  if (state === "talking") {
    $("self-video").srcObject = app.localStream;
    playQuietly($("agent-video"));
    playQuietly($("self-video"));
  }
  if (state === "ended") hooks.ended();
  updateReconnecting();
}

export function updateReconnecting() {
  const show = IN_SESSION.has(app.state) && app.sessionId !== null && app.everConnected &&
    (!app.socketConnected || app.mediaReconnecting);
  body.dataset.reconnecting = show ? "1" : "0";
  $("reconnecting").hidden = !show;
}

export function playQuietly(el) {
  if (el && el.srcObject) el.play().catch(() => {});
}

export function toast(key, params) {
  const el = $("toast");
  i18n.bind(el, key, params);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

export function agentLabel() {
  return app.agent && app.agent.name ? i18n.t("kiosk.talking.agent", { name: app.agent.name }) : "";
}

export function renderAgent() {
  $("agent-name").textContent = agentLabel();
  $("hold-agent").textContent = agentLabel();
}

// Who else the member sees and hears: a barging supervisor (a second staff
// member, named), their own guest (video next to the agent's, labelled).
export function renderCompany() {
  const badge = $("staff-badge");
  const names = app.supervisors || [];
  badge.hidden = names.length === 0;
  if (names.length) i18n.bind(badge, "kiosk.supervisor", { name: names.join(", ") });
  body.dataset.supervisor = names.length ? "1" : "0";
  body.dataset.guest = app.guest ? "1" : "0";
  $("guest-view").hidden = !app.guest;
  if (app.guest) playQuietly($("guest-video"));
}

export function renderWaiting() {
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
