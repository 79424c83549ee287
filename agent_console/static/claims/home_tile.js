// A home member's tile on the agent console: the "from home" badge in place of the booth, and the
// claim's file (documents, outcome buttons) one click away on /agent/claims?session=<id>.
export function homeTile(el, t, i18n, token) {
  const home = !!t && t.kind === "home";
  el.dataset.kind = home ? "home" : "booth";
  let link = el.querySelector(".tile-claim");
  if (!home) { if (link) link.hidden = true; return; }
  i18n.bind(el.querySelector(".tile-booth"), "claim.from_home");
  el.querySelector(".tile-branch").textContent = "";
  if (!link) {
    link = document.createElement("a");
    link.className = "tile-claim";
    link.target = "_blank";
    link.rel = "noopener";
    el.querySelector(".tile-who").append(" · ", link);
  }
  link.hidden = false;
  i18n.bind(link, "claim.documents_link");
  const q = new URLSearchParams({ session: t.session_id, lang: i18n.lang });
  if (token) q.set("token", token);
  link.href = `/agent/claims?${q}`;
}
