// The status page of an online claim: where it stands, the next step in one sentence, documents
// asked again, booking an interview slot (or joining now), and the private link with its QR code.
import { renderDocuments } from "./claim_docs.js";
import { startInterview } from "./claim_interview.js";

const WIB = "Asia/Jakarta";

function when(app, at) {
  return new Date(at * 1000).toLocaleString(app.i18n.lang === "id" ? "id-ID" : "en-GB",
    { timeZone: WIB, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

async function book(app, body) {
  const data = await app.api("POST", `/api/claim/${encodeURIComponent(app.token)}/book`, body);
  if (!data.ok) { app.error(data.error); return null; }
  app.show(data);
  return data;
}

export function renderStatus(app, data) {
  const { $, i18n } = app;
  const c = data.claim;
  document.body.dataset.claimState = c.state;
  $("reference").textContent = c.reference || "—";
  $("state-text").textContent = i18n.t(`claim.state.${c.state}`);
  $("next-text").textContent = i18n.t(c.next);
  $("reason").hidden = !c.reason;
  $("reason").textContent = c.reason ? i18n.t("claim.reason", { reason: c.reason }) : "";
  $("status-link").href = data.link;
  $("status-link").textContent = data.link;
  $("status-qr").src = data.qr;
  $("slot-text").hidden = !(c.state === "interview_booked" && c.slot);
  if (c.slot) $("slot-text").textContent = i18n.t("claim.slot.booked", { when: when(app, c.slot) });
  renderDocuments(app, $("status-docs"), false);

  const booking = c.state === "interview_to_book" || c.state === "interview_booked";
  $("slots").hidden = !booking;
  $("join-now").hidden = !(booking && data.join_now);
  const list = $("slot-list");
  list.replaceChildren();
  for (const s of (booking ? data.slots || [] : []).slice(0, 16)) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "c-btn slot";
    b.dataset.at = String(s.at);
    b.disabled = s.free < 1 || s.at === c.slot;
    b.textContent = `${when(app, s.at)} · ${i18n.t("claim.slots.free", { free: s.free })}`;
    b.addEventListener("click", () => book(app, { slot: s.at }));
    list.append(b);
  }
  // At the booked time (10 minutes early at most) the member starts the interview from here.
  const due = c.state === "interview_booked" && c.slot && data.now >= c.slot - 600 && data.now <= c.slot + 1800;
  $("interview-start").hidden = !due;
}

export function setupStatus(app) {
  app.$("join-now").addEventListener("click", async () => {
    const data = await book(app, { now: true });
    if (data) startInterview(app);
  });
  app.$("interview-start").addEventListener("click", () => startInterview(app));
}
