// Security officer's console: the booths of one branch, their live states,
// start / cancel a session, answer help calls. Protocol: docs/protocol.md,
// namespace /officer. The officer never receives media, forms or notes.

import { request } from "/static/common/rtc.js";
import { $, el, fmtDuration, i18n, serverNow, toast } from "/static/staff/staff.js";
import { watchService } from "/static/common/service.js";

const app = {
  socket: null,
  connected: false,
  branch: null,          // last branch.state
  pending: new Set(),    // kiosk ids with an event in flight
  helpCalls: 0,          // help.call events received
  chimes: 0,             // sound cues played
  audio: null,
  startFor: null,        // kiosk id the start dialog is open for
  cancelFor: null,       // booth the cancel dialog is open for
  errors: [],
};
window.lapakOfficer = app;

const SERVING = new Set(["connecting", "talking", "on_hold", "wrap_up"]);
const CANCELLABLE = new Set(["requested", "waiting", "connecting"]);
const STATE_PILL = {
  free: "ok", requested: "neutral", waiting: "warn", connecting: "info", talking: "live",
  on_hold: "hold", wrap_up: "neutral", offline: "off",
};

const now = serverNow;
const boothName = (b) => i18n.t("officer.booth", { booth: b.booth });

// ------------------------------------------------------------------ sound

function ensureAudio() {
  if (!app.audio) {
    try { app.audio = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { app.audio = null; }
  }
  if (app.audio && app.audio.state === "suspended") app.audio.resume().catch(() => {});
  renderSound();
  return app.audio;
}

function renderSound() {
  const btn = $("sound-toggle");
  const on = app.audio && app.audio.state === "running";
  btn.dataset.sound = on ? "on" : "off";
  i18n.bind(btn, on ? "officer.sound.on" : "officer.sound.enable");
}

// Three rising notes, twice: unmistakable, not shrill.
function chime() {
  const ctx = ensureAudio();
  app.chimes += 1;
  if (!ctx) return;
  const t0 = ctx.currentTime + 0.05;
  [660, 880, 1100, 660, 880, 1100].forEach((freq, i) => {
    const start = t0 + i * 0.18 + (i >= 3 ? 0.25 : 0);
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "triangle";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 0.18);
  });
}

let lastChime = 0;
function chimeIfCalling() {
  const calling = (app.branch?.booths || []).some((b) => b.needs_help);
  if (calling && now() - lastChime > 10) {
    lastChime = now();
    chime();
  }
}

$("sound-toggle").addEventListener("click", () => { ensureAudio(); chime(); });
document.addEventListener("pointerdown", () => { if (!app.audio || app.audio.state !== "running") ensureAudio(); }, { once: true });

// ------------------------------------------------------------------ rendering

function renderConn() {
  const pill = $("conn");
  pill.className = `pill ${app.connected ? "" : "warn"}`;
  document.body.dataset.socket = app.connected ? "connected" : "disconnected";
  i18n.bind($("conn-text"), app.connected ? "officer.conn.live" : "officer.conn.lost");
}

function cardFor(kioskId) {
  let card = document.querySelector(`.booth[data-kiosk="${CSS.escape(kioskId)}"]`);
  if (!card) {
    card = $("booth-template").content.firstElementChild.cloneNode(true);
    card.dataset.kiosk = kioskId;
    card.querySelector(".booth-start").addEventListener("click", () => openStart(kioskId));
    card.querySelector(".booth-cancel").addEventListener("click", () => openCancel(kioskId));
    card.querySelector(".booth-answer").addEventListener("click", () => answerHelp(kioskId));
    $("booths").append(card);
  }
  return card;
}

function detailText(b) {
  if (b.state === "waiting" && b.position) return i18n.t("officer.detail.position", { position: b.position });
  if (b.state === "free") return i18n.t("officer.detail.free");
  if (b.state === "offline") return i18n.t(b.session_id ? "officer.detail.offline_session" : "officer.detail.offline");
  if (b.state === "requested") return i18n.t("officer.detail.requested");
  if (b.state === "connecting") return i18n.t("officer.detail.connecting");
  if (b.state === "talking") return i18n.t("officer.detail.talking");
  if (b.state === "on_hold") return i18n.t("officer.detail.on_hold");
  if (b.state === "wrap_up") return i18n.t("officer.detail.wrap_up");
  return "";
}

function renderBooth(b) {
  const card = cardFor(b.kiosk_id);
  card.dataset.state = b.state;
  card.dataset.help = b.needs_help ? "1" : "0";
  card.dataset.online = b.online ? "1" : "0";
  card.dataset.sessionId = b.session_id || "";
  card.dataset.pending = app.pending.has(b.kiosk_id) ? "1" : "0";
  card.querySelector(".booth-num").textContent = b.booth;
  card.querySelector(".booth-name").textContent = boothName(b);
  const pill = card.querySelector(".booth-state");
  pill.className = `pill booth-state ${STATE_PILL[b.state] || "neutral"}`;
  card.querySelector(".booth-state-text").textContent = i18n.t(`officer.state.${b.state}`);
  card.querySelector(".booth-service").textContent = b.service ? i18n.t(`service.${b.service}`) : "";
  card.querySelector(".booth-detail").textContent = detailText(b);

  const timer = card.querySelector(".booth-timer");
  timer.hidden = !b.since;
  timer.dataset.since = b.since || "";
  timer.title = i18n.t("officer.timer");

  // The booth's network is poor (branch.state booths[n].network): a mark, no numbers.
  card.dataset.network = b.network || "";
  card.querySelector(".booth-network").hidden = b.network !== "poor";
  i18n.bind(card.querySelector(".booth-network-text"), "officer.network.poor");

  const help = card.querySelector(".booth-help");
  help.hidden = !b.needs_help;
  help.dataset.since = b.help_since || "";

  const start = card.querySelector(".booth-start");
  start.hidden = !(b.state === "free" && b.online);
  i18n.bind(start, "officer.action.start");
  const cancel = card.querySelector(".booth-cancel");
  cancel.hidden = !(b.session_id && (CANCELLABLE.has(b.state) || (b.state === "offline")));
  i18n.bind(cancel, "officer.action.cancel");
  const answer = card.querySelector(".booth-answer");
  answer.hidden = !b.needs_help;
  i18n.bind(answer, "officer.action.answer");
  for (const btn of [start, cancel, answer]) btn.disabled = app.pending.has(b.kiosk_id);
}

function renderBanners() {
  const wrap = $("help-banners");
  const calling = (app.branch?.booths || []).filter((b) => b.needs_help).sort((a, b) => (a.help_since || 0) - (b.help_since || 0));
  document.body.dataset.help = calling.length ? "1" : "0";
  const keep = new Set();
  for (const b of calling) {
    keep.add(b.kiosk_id);
    let banner = wrap.querySelector(`.help-banner[data-kiosk="${CSS.escape(b.kiosk_id)}"]`);
    if (!banner) {
      banner = document.createElement("div");
      banner.className = "help-banner";
      banner.dataset.kiosk = b.kiosk_id;
      banner.setAttribute("role", "alert");
      banner.append(
        el("span", { class: "help-icon", "aria-hidden": "true", text: "!" }),
        el("div", { class: "help-text" }, el("div", { class: "help-title" }), el("div", { class: "help-since" })),
        el("button", { class: "btn help-answer", type: "button" }),
      );
      banner.querySelector(".help-answer").addEventListener("click", () => answerHelp(b.kiosk_id));
      wrap.append(banner);
    }
    banner.querySelector(".help-title").textContent = i18n.t("officer.help.title", { booth: b.booth });
    banner.dataset.since = b.help_since || now();
    banner.querySelector(".help-answer").textContent = i18n.t("officer.help.answer");
    banner.querySelector(".help-answer").disabled = app.pending.has(b.kiosk_id);
  }
  for (const banner of [...wrap.querySelectorAll(".help-banner")]) {
    if (!keep.has(banner.dataset.kiosk)) banner.remove();
  }
}

function renderSummary() {
  const booths = app.branch?.booths || [];
  const count = (pred) => booths.filter(pred).length;
  $("count-free").textContent = count((b) => b.state === "free");
  $("count-waiting").textContent = count((b) => b.state === "waiting" || b.state === "requested");
  $("count-serving").textContent = count((b) => SERVING.has(b.state));
  $("count-offline").textContent = count((b) => b.state === "offline");
}

function render() {
  const booths = app.branch?.booths || [];
  if (app.branch) $("branch-name").textContent = app.branch.name || app.branch.branch;
  const ids = new Set(booths.map((b) => b.kiosk_id));
  for (const card of [...document.querySelectorAll(".booth")]) {
    if (!ids.has(card.dataset.kiosk)) card.remove();
  }
  for (const b of booths) renderBooth(b);
  // Keep booth order stable: by booth number.
  const container = $("booths");
  for (const b of booths) container.append(cardFor(b.kiosk_id));
  $("no-booths").hidden = !app.branch || booths.length > 0;
  renderBanners();
  renderSummary();
  tick();
}

function tick() {
  const t = now();
  for (const timer of document.querySelectorAll(".booth-timer")) {
    if (timer.dataset.since) timer.textContent = fmtDuration(t - Number(timer.dataset.since));
  }
  for (const help of document.querySelectorAll(".booth-help")) {
    if (!help.hidden) {
      help.querySelector(".booth-help-text").textContent =
        i18n.t("officer.help.card", { time: fmtDuration(t - Number(help.dataset.since || t)) });
    }
  }
  for (const banner of document.querySelectorAll(".help-banner")) {
    banner.querySelector(".help-since").textContent =
      i18n.t("officer.help.since", { time: fmtDuration(t - Number(banner.dataset.since || t)) });
  }
  chimeIfCalling();
}
setInterval(tick, 1000);
i18n.onChange(() => { render(); renderConn(); renderSound(); });

// ------------------------------------------------------------------ actions

function errorMessage(action, ack) {
  const code = ack.error?.code || "internal";
  const key = `officer.error.${action}.${code}`;
  const text = i18n.t(key);
  if (text !== key) return text;
  const generic = `officer.error.${code}`;
  const g = i18n.t(generic);
  return g !== generic ? g : i18n.t("officer.error.internal");
}

async function send(kioskId, action, event, payload) {
  if (!app.connected) {
    toast(i18n.t("officer.error.offline"));
    return { ok: false };
  }
  app.pending.add(kioskId);
  render();
  const ack = await request(app.socket, event, payload);
  app.pending.delete(kioskId);
  if (!ack.ok) {
    app.errors.push({ event, payload, error: ack.error });
    toast(errorMessage(action, ack));
  }
  render();
  return ack;
}

function booth(kioskId) {
  return (app.branch?.booths || []).find((b) => b.kiosk_id === kioskId);
}

function openStart(kioskId) {
  const b = booth(kioskId);
  if (!b) return;
  app.startFor = kioskId;
  $("start-title").textContent = i18n.t("officer.start.title", { booth: b.booth });
  const dialog = $("start-dialog");
  dialog.querySelector('input[name="member-lang"][value="id"]').checked = true;
  dialog.showModal();
}

for (const btn of document.querySelectorAll("#start-dialog [data-service]")) {
  btn.addEventListener("click", async () => {
    const kioskId = app.startFor;
    const language = document.querySelector('#start-dialog input[name="member-lang"]:checked')?.value || "id";
    $("start-dialog").close();
    app.startFor = null;
    if (!kioskId) return;
    const ack = await send(kioskId, "start", "session.start", { kiosk_id: kioskId, service: btn.dataset.service, language });
    if (ack.ok) {
      const b = booth(kioskId);
      toast(i18n.t("officer.started", { booth: b ? b.booth : "", service: i18n.t(`service.${btn.dataset.service}`) }), "ok");
    }
  });
}

function openCancel(kioskId) {
  const b = booth(kioskId);
  if (!b || !b.session_id) return;
  app.cancelFor = { kioskId, sessionId: b.session_id };
  $("cancel-title").textContent = i18n.t("officer.cancel.title", { booth: b.booth });
  $("cancel-dialog").returnValue = "";
  $("cancel-dialog").showModal();
}

$("cancel-dialog").addEventListener("close", async () => {
  const target = app.cancelFor;
  app.cancelFor = null;
  if ($("cancel-dialog").returnValue !== "confirm" || !target) return;
  await send(target.kioskId, "cancel", "session.cancel", { session_id: target.sessionId });
});

async function answerHelp(kioskId) {
  const ack = await send(kioskId, "answer", "help.answer", { kiosk_id: kioskId });
  if (ack.ok) {
    const b = booth(kioskId);
    toast(i18n.t("officer.help.answered", { booth: b ? b.booth : "" }), "ok");
  }
}

// ------------------------------------------------------------------ socket

function connect() {
  const socket = io("/officer", { transports: ["websocket", "polling"] });
  app.socket = socket;
  socket.on("connect", () => { app.connected = true; renderConn(); });
  socket.on("disconnect", () => { app.connected = false; renderConn(); });
  socket.on("connect_error", (err) => {
    app.connected = false;
    renderConn();
    if (err && err.data && err.data.code === "unauthorized") {
      location.href = "/login?next=/officer";
    }
  });
  socket.on("branch.state", (data) => {
    app.branch = data;
    render();
  });
  socket.on("help.call", (data) => {
    app.helpCalls += 1;
    lastChime = now();
    chime();
    const card = document.querySelector(`.booth[data-kiosk="${CSS.escape(data.kiosk_id)}"]`);
    if (card) {
      card.classList.remove("flash");
      void card.offsetWidth; // restart the animation
      card.classList.add("flash");
    }
  });
  // A booth connected again from another device or tab: the old connection was closed.
  socket.on("booth.replaced", (data) => {
    app.replaced = (app.replaced || 0) + 1;
    toast(i18n.t("officer.booth_replaced", { booth: data.booth }), "bad");
  });
  socket.on("error", (data) => app.errors.push(data));
  watchService(socket, i18n, "service.down.officer");
}

renderConn();
renderSound();
ensureAudio();
connect();
