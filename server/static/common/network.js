// Network quality as the server measures it (docs/protocol.md, "Network quality"):
// {level: "good"|"fair"|"poor", loss_up, loss_down, jitter_up_ms, jitter_down_ms, rtt_ms}.
// Shared by the agent console's tiles and the booth's badge.

export const NETWORK_LEVELS = ["good", "fair", "poor"];

const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
const ms = (v) => (v === null || v === undefined ? "–" : `${Math.round(v)} ms`);

// The numbers in one line, in the page's language.
export function networkNumbers(i18n, network) {
  return i18n.t("net.numbers", {
    loss_up: pct(network.loss_up), loss_down: pct(network.loss_down),
    jitter_up: ms(network.jitter_up_ms), jitter_down: ms(network.jitter_down_ms), rtt: ms(network.rtt_ms),
  });
}

// A known level, or null.
export function networkLevel(network) {
  return network && NETWORK_LEVELS.includes(network.level) ? network.level : null;
}
