// Agent console, self-service: each member's claim form live as they type,
// fill or correct a field, point at one, confirm a checked mismatch; ask for
// documents, take the photo, accept or ask for a retake; ask consent, record;
// submit the claim. Protocol: docs/protocol.md ("Self-service").

import { request } from "/static/common/rtc.js";
import { el } from "/static/common/dom.js";

const DOC_KINDS = ["ktp", "kk", "bank_book", "resignation_letter", "death_certificate", "other"];


export function attachSelfService(app, i18n, boot) {
  const socket = app.socket;
  const schemas = boot.forms || {};
  const ss = {
    current: null,       // session id shown in the panel
    forms: {},           // session id -> form.state
    docs: {},            // session id -> doc.state
    received: [],        // doc.received events (newest last)
    consent: {},         // session id -> consent.state
    rec: {},             // session id -> bool
    claims: {},          // session id -> reference
    images: {},          // document id -> {url, width, height}
    pending: {},         // "sid|field" -> edits in flight
    log: [],
  };
  app.ss = ss;
  const note = (...a) => { ss.log.push([Date.now(), ...a]); if (ss.log.length > 300) ss.log.shift(); };
  const tr = (obj) => (obj && (obj[i18n.lang] || obj.id || obj.en)) || "";
  const t = (k, p) => i18n.t(k, p);

  async function send(event, payload) {
    const ack = await request(socket, event, payload);
    note(event, payload, ack.ok, ack.error);
    if (!ack.ok) showError((ack.error && (ack.error.message || ack.error.code)) || event);
    return ack;
  }

  // ---------------------------------------------------------------- DOM

  const panel = el("aside", { id: "ss-panel", class: "ss-panel card", hidden: true });
  document.body.append(panel);
  const head = el("div", { class: "ss-head" });
  const rec = el("span", { id: "ss-rec", class: "pill bad ss-rec", hidden: true });
  const errorBox = el("div", { id: "ss-error", class: "ss-error-box", hidden: true });
  const formBox = el("section", { id: "ss-formbox", class: "ss-section" });
  const docBox = el("section", { id: "ss-docbox", class: "ss-section" });
  const recBox = el("section", { id: "ss-recbox", class: "ss-section" });
  const claimBox = el("section", { id: "ss-claimbox", class: "ss-section" });
  panel.append(head, errorBox, formBox, docBox, recBox, claimBox);

  function showError(message) {
    errorBox.textContent = t("agent.error", { message });
    errorBox.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { errorBox.hidden = true; }, 6000);
  }

  function decorateTiles() {
    for (let n = 1; n <= (boot.tiles || 6); n++) {
      const tile = document.getElementById(`tile-${n}`);
      if (!tile || tile.querySelector(".tile-ss")) continue;
      const b = el("button", { class: "btn btn-secondary small tile-ss", type: "button", "data-i18n": "form.agent.open", text: t("form.agent.open") });
      b.addEventListener("click", () => { const id = tile.dataset.sessionId; if (id) openPanel(id); });
      tile.querySelector(".tile-controls").append(b);
      tile.querySelector(".tile-top").append(el("span", { class: "tile-rec pill bad", hidden: true, "data-i18n": "rec.on", text: t("rec.on") }));
    }
  }

  function tileOf(sessionId) {
    return (app.tiles || []).find((x) => x && x.session_id === sessionId) || null;
  }

  function openPanel(sessionId) {
    ss.current = sessionId;
    render();
  }

  // ---------------------------------------------------------------- rendering

  function render() {
    for (let n = 1; n <= (boot.tiles || 6); n++) {
      const tile = document.getElementById(`tile-${n}`);
      if (!tile) continue;
      const id = tile.dataset.sessionId;
      const badge = tile.querySelector(".tile-rec");
      if (badge) badge.hidden = !(id && ss.rec[id]);
      tile.dataset.ssOpen = id && id === ss.current ? "1" : "0";
    }
    const id = ss.current;
    const tile = id && tileOf(id);
    if (!id || !tile) { panel.hidden = true; document.body.dataset.ssPanel = "0"; return; }
    panel.hidden = false;
    panel.dataset.sessionId = id;
    document.body.dataset.ssPanel = "1";
    renderHead(tile);
    renderForm(id, tile);
    renderDocs(id);
    renderRec(id);
    renderClaim(id);
  }

  function renderHead(tile) {
    head.textContent = "";
    const close = el("button", { class: "btn btn-quiet small", type: "button", id: "ss-close", text: t("form.agent.close") });
    close.addEventListener("click", () => { ss.current = null; render(); });
    rec.hidden = !ss.rec[tile.session_id];
    rec.textContent = t("rec.on");
    head.append(el("h2", { text: `${t("form.agent.title")} · ${t("agent.booth", { booth: tile.booth })}` }), rec, close);
  }

  function renderForm(id, tile) {
    const form = ss.forms[id];
    const sc = schemas[(form && form.service) || tile.service];
    if (!form || !form.open) {
      formBox.textContent = "";
      const b = el("button", { class: "btn btn-primary", type: "button", id: "ss-open-form", text: t("form.agent.open_form") });
      b.addEventListener("click", () => send("form.open", { session_id: id }).then((ack) => ack.ok && applyForm(ack.form)));
      formBox.append(el("h3", { text: tr(sc && sc.title) }), b);
      formBox.dataset.built = "";
      return;
    }
    const sig = `${id}|${form.service}|${i18n.lang}`;
    if (formBox.dataset.built !== sig) buildForm(id, sc, sig);
    formBox.querySelector(".ss-status").textContent = form.submitted
      ? t("claim.agent.done", { reference: form.submitted })
      : form.complete ? t("form.complete") : t("form.incomplete", { count: form.missing.length + Object.keys(form.errors).length });
    formBox.querySelector(".ss-status").dataset.complete = form.complete ? "1" : "0";
    for (const f of sc.fields) {
      const row = formBox.querySelector(`[data-field="${f.name}"]`);
      const input = row.querySelector(".ss-input");
      const value = form.fields[f.name] || "";
      if (input.value !== value && !(document.activeElement === input && ss.pending[`${id}|${f.name}`])) input.value = value;
      input.disabled = Boolean(form.submitted);
      row.dataset.pointed = form.pointed === f.name ? "1" : "0";
      const err = form.errors[f.name];
      row.dataset.error = err ? err.code : "";
      row.querySelector(".ss-err").textContent = err ? (err[i18n.lang] || err.id) : "";
      const confirm = row.querySelector(".ss-confirm");
      confirm.hidden = !(err && err.confirmable);
      if (err && err.confirmable) confirm.dataset.check = err.confirmable;
      row.dataset.confirmed = (form.confirmed || []).some((c) => c === f.name) ? "1" : "0";
    }
  }

  function buildForm(id, sc, sig) {
    formBox.textContent = "";
    formBox.dataset.built = sig;
    formBox.append(el("div", { class: "ss-form-head" }, el("h3", { text: tr(sc.title) }), el("span", { class: "ss-status" })));
    const list = el("div", { class: "ss-fields" });
    for (const f of sc.fields) {
      let input;
      if (f.type === "choice") {
        input = el("select", { class: "ss-input", name: f.name }, el("option", { value: "", text: "—" }));
        for (const o of f.options) input.append(el("option", { value: o.value, text: tr(o.label) }));
      } else {
        input = el("input", { class: "ss-input", name: f.name, autocomplete: "off", maxlength: String(f.max_length || 100),
          inputmode: ["numeric", "date", "phone"].includes(f.keyboard) ? "numeric" : "text" });
      }
      const point = el("button", { class: "btn btn-quiet small ss-point", type: "button", title: t("form.agent.point"), text: "☛" });
      const confirm = el("button", { class: "btn btn-warn small ss-confirm", type: "button", hidden: true, text: t("form.agent.confirm") });
      const row = el("div", { class: "ss-row", "data-field": f.name },
        el("label", { class: "ss-label", text: tr(f.label) + (f.required === false ? ` (${t("form.optional")})` : "") }),
        el("div", { class: "ss-line" }, input, point),
        el("div", { class: "ss-err" }), confirm);
      const event = f.type === "choice" ? "change" : "input";
      input.addEventListener(event, () => editField(id, f.name, input.value));
      point.addEventListener("click", () => {
        const form = ss.forms[id];
        send("form.point", { session_id: id, field: form && form.pointed === f.name ? null : f.name }).then((a) => a.ok && applyForm(a.form));
      });
      confirm.addEventListener("click", () => send("form.confirm", { session_id: id, check: confirm.dataset.check }).then((a) => a.ok && applyForm(a.form)));
      list.append(row);
    }
    formBox.append(list);
  }

  async function editField(id, field, value) {
    const k = `${id}|${field}`;
    ss.pending[k] = (ss.pending[k] || 0) + 1;
    const ack = await send("form.edit", { session_id: id, field, value });
    ss.pending[k] -= 1;
    if (ack.ok) applyForm(ack.form);
    else render();
  }

  function applyForm(state) {
    if (!state) return;
    const old = ss.forms[state.session_id];
    if (old && state.revision < old.revision) return;
    ss.forms[state.session_id] = state;
    if (state.submitted) ss.claims[state.session_id] = state.submitted;
    if (state.session_id === ss.current) render();
  }

  function renderDocs(id) {
    docBox.textContent = "";
    const kind = el("select", { id: "ss-doc-kind" });
    for (const k of DOC_KINDS) kind.append(el("option", { value: k, text: t(`doc.kind.${k}`) }));
    const ask = el("button", { class: "btn btn-secondary small", type: "button", id: "ss-doc-request", text: t("doc.agent.request") });
    ask.addEventListener("click", () => send("doc.request", { session_id: id, kind: kind.value }));
    docBox.append(el("h3", { text: t("doc.title") }), el("div", { class: "ss-line" }, kind, ask));
    const state = ss.docs[id] || { requests: [], documents: [] };
    const list = el("div", { class: "ss-docs" });
    for (const r of state.requests) {
      const doc = state.documents.find((d) => d.document_id === r.document_id && d.status !== "replaced");
      const item = el("div", { class: "ss-doc", "data-request": r.request_id, "data-state": r.state },
        el("div", { class: "ss-doc-kind", text: t(`doc.kind.${r.kind}`) }));
      if (r.state === "open") {
        const cap = el("button", { class: "btn btn-primary small ss-doc-capture", type: "button", text: t("doc.agent.capture") });
        cap.addEventListener("click", () => send("doc.capture", { session_id: id, request_id: r.request_id }));
        item.append(el("div", { class: "ss-doc-wait", text: t("doc.agent.waiting") }), cap);
      }
      if (doc && r.state !== "open") {
        const img = el("img", { class: "ss-doc-img", alt: t(`doc.kind.${r.kind}`), "data-document": doc.document_id });
        loadImage(doc).then((info) => { if (info) img.src = info.url; });
        item.append(img, el("div", { class: "ss-doc-meta", text: `${doc.width}×${doc.height} · ${Math.round(doc.bytes / 1024)} KB · ${doc.status}` }));
        if (doc.status === "received") {
          const ok = el("button", { class: "btn btn-primary small ss-doc-accept", type: "button", text: t("doc.agent.accept") });
          const no = el("button", { class: "btn btn-danger small ss-doc-reject", type: "button", text: t("doc.agent.reject") });
          ok.addEventListener("click", () => send("doc.review", { session_id: id, document_id: doc.document_id, accepted: true }));
          no.addEventListener("click", () => send("doc.review", { session_id: id, document_id: doc.document_id, accepted: false }));
          item.append(el("div", { class: "ss-line" }, ok, no));
        }
      }
      list.append(item);
    }
    docBox.append(list);
  }

  async function loadImage(doc) {
    if (ss.images[doc.document_id]) return ss.images[doc.document_id];
    const headers = boot.token ? { Authorization: `Bearer ${boot.token}` } : {};
    try {
      const r = await fetch(doc.url, { headers, credentials: "same-origin" });
      if (!r.ok) { note("image", doc.document_id, r.status); return null; }
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      const dims = await new Promise((resolve) => {
        const im = new Image();
        im.onload = () => resolve({ width: im.naturalWidth, height: im.naturalHeight });
        im.onerror = () => resolve({ width: 0, height: 0 });
        im.src = url;
      });
      ss.images[doc.document_id] = { url, bytes: blob.size, ...dims };
      return ss.images[doc.document_id];
    } catch (e) {
      note("image", String(e));
      return null;
    }
  }

  function renderRec(id) {
    recBox.textContent = "";
    const c = ss.consent[id];
    const status = !c || c.recording === null ? t("consent.agent.none") : c.recording ? t("consent.agent.yes") : t("consent.agent.no");
    const ask = el("button", { class: "btn btn-secondary small", type: "button", id: "ss-consent-ask", text: t("consent.agent.ask") });
    ask.addEventListener("click", () => send("consent.request", { session_id: id }));
    const recording = Boolean(ss.rec[id]);
    const toggle = el("button", { class: `btn small ${recording ? "btn-danger" : "btn-primary"}`, type: "button", id: "ss-rec-toggle",
      text: recording ? t("rec.agent.stop") : t("rec.agent.start") });
    toggle.disabled = !recording && !(c && c.recording);
    toggle.addEventListener("click", () => send(recording ? "rec.stop" : "rec.start", { session_id: id }));
    recBox.append(el("div", { class: "ss-line" }, el("span", { id: "ss-consent-status", class: "ss-consent", text: status }), ask, toggle));
  }

  function renderClaim(id) {
    claimBox.textContent = "";
    const form = ss.forms[id];
    const reference = ss.claims[id];
    if (reference) {
      claimBox.append(el("div", { id: "ss-claim-ref", class: "ss-claim-ref", text: t("claim.agent.done", { reference }) }));
      return;
    }
    const b = el("button", { class: "btn btn-primary", type: "button", id: "ss-submit", text: t("claim.agent.submit") });
    b.disabled = !(form && form.complete);
    b.addEventListener("click", () => send("claim.submit", { session_id: id }));
    claimBox.append(b);
  }

  // ---------------------------------------------------------------- events

  socket.on("form.state", (m) => { note("form.state", m && m.session_id, m && m.revision); applyForm(m); });
  socket.on("doc.state", (m) => { ss.docs[m.session_id] = m; if (m.session_id === ss.current) render(); });
  socket.on("doc.received", (m) => { ss.received.push(m); loadImage(m).then(() => { if (m.session_id === ss.current) render(); }); });
  socket.on("consent.state", (m) => { ss.consent[m.session_id] = m; if (m.session_id === ss.current) render(); });
  socket.on("rec.state", (m) => { ss.rec[m.session_id] = Boolean(m.recording); render(); });
  socket.on("claim.done", (m) => { ss.claims[m.session_id] = m.reference; render(); });
  socket.on("room.state", () => {
    // After agent.js has drawn the tiles: a closed session's panel goes.
    setTimeout(() => {
      decorateTiles();
      if (ss.current && !tileOf(ss.current)) ss.current = null;
      render();
    }, 0);
  });
  i18n.onChange(() => { formBox.dataset.built = ""; render(); });
  decorateTiles();
}
