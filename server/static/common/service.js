// The service's status on every screen (service.status, docs/protocol.md): while this
// node takes no new sessions (its shared state or its records are away), a banner at
// the top says so in the page's language; it goes when the service is back.

const STYLE = "position:sticky;top:0;z-index:1000;padding:.75rem 1rem;background:#b3261e;color:#fff;" +
  "font-weight:600;text-align:center";

// Show `key`'s text while the service refuses new sessions; `socket` is the page's socket.io client.
export function watchService(socket, i18n, key) {
  let banner = null;
  socket.on("service.status", (msg) => {
    const down = !!msg && msg.accepting === false;
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "service-banner";
      banner.setAttribute("role", "alert");
      banner.style.cssText = STYLE;
      document.body.prepend(banner);
    }
    banner.hidden = !down;
    document.body.dataset.service = down ? "down" : "";
    if (down) i18n.bind(banner, key);
  });
}
