// Shared by the staff pages (sign-in, officer console, supervisor board,
// history, admin): the text catalogue, the language toggle, small helpers.

import { I18n } from "/static/common/i18n.js";
import { el } from "/static/common/dom.js";

export { el };

export const boot = JSON.parse(document.getElementById("lapak-boot").textContent);
export const i18n = I18n.fromPage(boot.lang);
export const $ = (id) => document.getElementById(id);

// Server time: the page carries the server's clock, so durations are right on
// a tablet whose own clock is off.
const clockOffset = typeof boot.now === "number" ? boot.now - Date.now() / 1000 : 0;
export const serverNow = () => Date.now() / 1000 + clockOffset;

// Language toggle: switch without reload, remember it for the next page.
const toggle = $("lang-toggle");
if (toggle && !toggle.dataset.bound) {
  toggle.dataset.bound = "1";
  toggle.addEventListener("click", () => {
    const next = i18n.lang === "id" ? "en" : "id";
    i18n.setLang(next);
    document.cookie = `lapak_lang=${next}; path=/; max-age=31536000; samesite=strict`;
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", next);
      history.replaceState(null, "", url);
    }
  });
}

export function toast(message, kind = "bad") {
  const el = $("toast");
  if (!el) return;
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, kind === "bad" ? 8000 : 4000);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${String(m).padStart(2, "0")}:${ss}`;
}

// Minutes for longer spans ("12 mnt" / "12 min"), seconds below a minute.
export function fmtMinutes(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 60) return i18n.t("board.unit.seconds", { n: Math.round(seconds) });
  return i18n.t("board.unit.minutes", { n: Math.round(seconds / 60) });
}

// Local time of the branches (WIB).
export const TIME_ZONE = "Asia/Jakarta";

export function fmtClock(unix, withSeconds = false) {
  const opts = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TIME_ZONE };
  if (withSeconds) opts.second = "2-digit";
  return new Intl.DateTimeFormat(i18n.lang === "en" ? "en-GB" : "id-ID", opts).format(new Date(unix * 1000));
}

export function fmtDateTime(unix) {
  return new Intl.DateTimeFormat(i18n.lang === "en" ? "en-GB" : "id-ID", {
    day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: TIME_ZONE,
  }).format(new Date(unix * 1000));
}

// JSON API call: {ok, status, data}. A lost sign-in goes back to /login.
export async function api(path, { method = "GET", body } = {}) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, data: { error: { code: "network", message: i18n.t("admin.error.network") } } };
  }
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    return { ok: false, status: 401, data: {} };
  }
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return { ok: response.ok && data.ok !== false, status: response.status, data };
}

export function errorText(result) {
  const err = (result.data && result.data.error) || {};
  return err.message || i18n.t("admin.error.generic");
}

// Run fn now and whenever the language changes.
export function onLang(fn) {
  i18n.onChange(fn);
}

