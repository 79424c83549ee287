// What the agent sees: availability, the six tiles, their timers and levels,
// drawn from the last room.state.

import { $, TILES, app, boot, i18n, note, tileEl } from "/static/agent/page.js";
import { homeTile } from "/static/agent/claims/home_tile.js";
import { renderPeople } from "/static/agent/people.js";
import { renderNetwork } from "/static/agent/network.js";

function fmtDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${String(m).padStart(2, "0")}:${ss}`;
}

export function renderAvailability() {
  const el = $("availability");
  const used = app.tiles.filter(Boolean).length;
  let kind = "online";
  if (!app.socketConnected) kind = "offline";
  else if (app.availability && app.availability !== "available") kind = "away";
  else if (used >= app.capacity) kind = "full";
  el.dataset.availability = kind;
  el.className = `pill ${kind === "online" ? "" : kind === "full" || kind === "away" ? "warn" : "bad"}`;
  i18n.bind($("availability-text"), `agent.status.${kind}`);
  if (app.socketConnected) i18n.bind($("slots"), "agent.status.slots", { used, capacity: app.capacity });
  else $("slots").textContent = "";
  const media = $("media-status");
  const ok = app.mediaState === "connected";
  media.dataset.media = app.mediaState;
  media.className = `pill ${ok ? "" : app.mediaState === "new" || app.mediaState === "connecting" ? "neutral" : "bad"}`;
  i18n.bind($("media-text"), ok ? "agent.media.connected"
    : app.mediaState === "new" || app.mediaState === "connecting" ? "agent.status.connecting" : "agent.media.disconnected");
}

function renderTile(n) {
  const el = tileEl(n);
  const t = app.tiles[n - 1];
  const prev = el.dataset.sessionId || "";
  renderNetwork(el, t ? t.network : null, i18n);
  if (!t) {
    homeTile(el, null, i18n);
    el.dataset.state = "empty";
    el.dataset.focused = "0";
    el.dataset.sessionId = "";
    el.querySelector(".tile-note").value = "";
    return;
  }
  el.dataset.sessionId = t.session_id;
  const focused = app.focus.includes(t.session_id);
  const state = t.state || (focused ? "talking" : "on_hold");
  el.dataset.state = state;
  el.dataset.focused = focused ? "1" : "0";
  i18n.bind(el.querySelector(".tile-state-text"), `agent.tile.state.${state}`);
  i18n.bind(el.querySelector(".tile-booth"), "agent.booth", { booth: t.booth ?? "?" });
  el.querySelector(".tile-branch").textContent = t.branch || "";
  homeTile(el, t, i18n, boot.token);  // a member at home: badge and claim file (claims/home_tile.js)
  i18n.bind(el.querySelector(".tile-service"), `service.${t.service}`);
  if (prev !== t.session_id) {
    // A new member on this tile: their own note, nothing carried over.
    el.querySelector(".tile-note").value = app.notes[t.session_id] || "";
  }
  el.querySelector(".tile-timer").textContent = fmtDuration(Date.now() / 1000 - (t.since || Date.now() / 1000));
}

export function renderTiles() {
  for (let n = 1; n <= TILES; n++) renderTile(n);
  renderPeople();
  renderAvailability();
}

export function tick() {
  const now = Date.now() / 1000;
  for (let n = 1; n <= TILES; n++) {
    const t = app.tiles[n - 1];
    if (t) tileEl(n).querySelector(".tile-timer").textContent = fmtDuration(now - (t.since || now));
  }
}

export function onRoomState(room) {
  note("room.state", room);
  app.room = room;
  if (room.capacity) app.capacity = room.capacity;
  const tiles = Array(TILES).fill(null);
  for (const t of room.tiles || []) {
    if (t && t.tile >= 1 && t.tile <= TILES) tiles[t.tile - 1] = t;
  }
  app.tiles = tiles;
  app.focus = Array.isArray(room.focus) ? room.focus.slice() : [];
  app.availability = room.availability || "available";
  $("availability-select").value = app.availability;
  // Forget notes of sessions that are gone.
  const live = new Set(tiles.filter(Boolean).map((t) => t.session_id));
  for (const id of Object.keys(app.notes)) if (!live.has(id)) delete app.notes[id];
  renderTiles();
}

export function onLevels(msg) {
  // Placeholder for a future server event: {levels: {session_id: 0..1}}.
  const levels = (msg && msg.levels) || {};
  for (let n = 1; n <= TILES; n++) {
    const t = app.tiles[n - 1];
    const v = t ? Number(levels[t.session_id] || 0) : 0;
    tileEl(n).querySelector(".tile-level-fill").style.width = `${Math.round(Math.min(1, v) * 100)}%`;
  }
}
