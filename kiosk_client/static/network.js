// The booth's own network quality (media.network): a badge in the top bar while
// the member is with an agent, and, when it is fair or poor, a plain sentence that
// the stutter is the network (docs/protocol.md, "Network quality").

import { networkLevel, networkNumbers } from "/static/common/network.js";
import { $, app, i18n, note } from "/static/kiosk/page.js";

const PILL = { good: "", fair: "warn", poor: "bad" };

export function onNetwork(msg) {
  if (!msg || (app.sessionId && msg.session_id && msg.session_id !== app.sessionId)) return;
  note("media.network", msg.level);
  app.network = msg;
  renderNetwork();
}

export function renderNetwork() {
  const level = networkLevel(app.network);
  const badge = $("network");
  const line = $("network-note");
  document.body.dataset.network = level || "";
  badge.hidden = !level;
  line.hidden = !level || level === "good";
  if (!level) return;
  badge.className = `pill net-badge ${PILL[level]}`;
  i18n.bind($("network-text"), `net.${level}`);
  badge.title = networkNumbers(i18n, app.network);
  if (level !== "good") i18n.bind(line, `net.${level}.member`);
}

// A session that ends (or a new one) forgets the last measurement.
export function forgetNetwork() {
  app.network = null;
  renderNetwork();
}
