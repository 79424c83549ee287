// Each tile's network quality (room.state tiles[n].network): a badge good / fair /
// poor on the tile, the numbers on hover (title) or on tap (toggles a line under it).

import { networkLevel, networkNumbers } from "/static/common/network.js";

const PILL = { good: "", fair: "warn", poor: "bad" };

export function renderNetwork(tile, network, i18n) {
  const badge = tile.querySelector(".tile-network");
  const line = tile.querySelector(".tile-network-numbers");
  const level = networkLevel(network);
  tile.dataset.network = level || "";
  badge.hidden = !level;
  if (!level) { line.hidden = true; return; }
  badge.className = `pill tile-network ${PILL[level]}`;
  i18n.bind(badge.querySelector(".tile-network-text"), `net.${level}`);
  const numbers = networkNumbers(i18n, network);
  badge.title = numbers;
  line.textContent = numbers;
  if (!badge.dataset.wired) {
    badge.dataset.wired = "1";
    badge.addEventListener("click", (e) => { e.stopPropagation(); line.hidden = !line.hidden; });
  }
}
