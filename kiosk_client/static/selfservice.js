// Kiosk page, self-service: the claim form with its on-screen keyboard,
// document capture at the camera's full resolution, consent to record,
// the recording indicator and the claim's reference number with its QR code.
// Protocol: docs/protocol.md ("Self-service"). The server holds the form:
// every key sends the field's whole new value (form.edit) and the page shows
// what the server says back (form.state).

import { request } from "/static/common/rtc.js";
import { el } from "/static/common/dom.js";
import { grabStill, uploadStill } from "/static/kiosk/still.js";

const NUMERIC = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", ""];
const LETTERS = ["QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"];
const EMAIL_ROWS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];


export function attachSelfService(app, i18n, boot) {
  const socket = app.socket;
  const body = document.body;
  const schemas = boot.forms || {};
  const ss = {
    form: null,          // last form.state
    values: {},          // what the page shows (server's values, plus keys not yet answered)
    pending: {},         // field -> edits in flight
    selected: null,
    shift: false,
    doc: null,           // {request_id, kind, phase: frame|preview|uploading|sent|accepted, retake, error}
    captures: [],        // what was taken: {width, height, bytes, type}
    uploads: [],
    consentAsked: false,
    recording: false,
    claim: null,
    log: [],
  };
  app.ss = ss;
  const note = (...a) => { ss.log.push([Date.now(), ...a]); if (ss.log.length > 200) ss.log.shift(); };
  const lang = () => i18n.lang;
  const tr = (obj) => (obj && (obj[lang()] || obj.id || obj.en)) || "";

  // ---------------------------------------------------------------- DOM

  const recBadge = el("span", { id: "ss-rec", class: "pill bad ss-rec", hidden: true, "data-i18n": "rec.on", text: i18n.t("rec.on") });
  document.querySelector(".topbar-right").prepend(recBadge);

  const fieldsBox = el("div", { id: "ss-fields", class: "ss-fields" });
  const formStatus = el("div", { id: "ss-form-status", class: "ss-form-status" });
  const keyboard = el("div", { id: "ss-kb", class: "ss-kb", hidden: true });
  const formTitle = el("h2", { id: "ss-form-title" });
  const formPane = el("div", { id: "ss-form", class: "ss-pane ss-form" },
    el("div", { class: "ss-form-head" }, formTitle, formStatus),
    el("p", { class: "ss-tap", "data-i18n": "form.tap", text: i18n.t("form.tap") }),
    fieldsBox, keyboard);

  const docVideo = el("video", { id: "ss-doc-video", autoplay: true, playsinline: true, muted: true });
  const docImg = el("img", { id: "ss-doc-img", alt: "" });
  const docTitle = el("h2", { id: "ss-doc-title" });
  const docMsg = el("p", { id: "ss-doc-msg", class: "ss-doc-msg" });
  const btnCapture = el("button", { id: "ss-doc-capture", class: "btn btn-primary big", type: "button", "data-i18n": "doc.capture", text: i18n.t("doc.capture") });
  const btnUse = el("button", { id: "ss-doc-use", class: "btn btn-primary big", type: "button", "data-i18n": "doc.use", text: i18n.t("doc.use") });
  const btnRetake = el("button", { id: "ss-doc-retake", class: "btn btn-secondary big", type: "button", "data-i18n": "doc.retake", text: i18n.t("doc.retake") });
  const docPane = el("div", { id: "ss-doc", class: "ss-pane ss-doc" }, docTitle,
    el("div", { class: "ss-doc-stage" }, docVideo, el("div", { class: "ss-guide", "aria-hidden": "true" }), docImg),
    docMsg, el("div", { class: "ss-doc-actions" }, btnCapture, btnUse, btnRetake));

  const consentPane = el("div", { id: "ss-consent", class: "ss-pane ss-consent" },
    el("h2", { "data-i18n": "consent.title", text: i18n.t("consent.title") }),
    el("p", { class: "lead", "data-i18n": "consent.body", text: i18n.t("consent.body") }),
    el("div", { class: "ss-consent-actions" },
      el("button", { id: "ss-consent-yes", class: "btn btn-primary big", type: "button", "data-i18n": "consent.yes", text: i18n.t("consent.yes") }),
      el("button", { id: "ss-consent-no", class: "btn btn-secondary big", type: "button", "data-i18n": "consent.no", text: i18n.t("consent.no") })));

  const claimRef = el("div", { id: "ss-claim-ref", class: "ss-claim-ref" });
  const claimQr = el("img", { id: "ss-claim-qr", class: "ss-claim-qr", alt: "QR" });
  const claimPane = el("div", { id: "ss-claim", class: "ss-pane ss-claim" },
    el("div", { class: "hero-icon ok", text: "✓" }),
    el("h2", { "data-i18n": "claim.title", text: i18n.t("claim.title") }),
    el("div", { class: "ss-claim-label", "data-i18n": "claim.reference", text: i18n.t("claim.reference") }),
    claimRef, claimQr,
    el("p", { class: "note", "data-i18n": "claim.qr", text: i18n.t("claim.qr") }));

  const panel = el("section", { id: "ss", class: "ss card" }, formPane, docPane, consentPane, claimPane);
  document.getElementById("screens").append(panel);

  // ---------------------------------------------------------------- mode

  function mode() {
    if (ss.consentAsked) return "consent";
    if (ss.doc && ss.doc.phase !== "done") return "doc";
    if (ss.claim) return "claim";
    if (ss.form && ss.form.open) return "form";
    return "";
  }

  function render() {
    const m = mode();
    body.dataset.ss = m;
    recBadge.hidden = !ss.recording;
    body.dataset.recording = ss.recording ? "1" : "0";
    formPane.hidden = m !== "form";
    docPane.hidden = m !== "doc";
    consentPane.hidden = m !== "consent";
    claimPane.hidden = m !== "claim";
    if (m === "form") renderForm();
    if (m === "doc") renderDoc();
    if (m === "claim") renderClaim();
  }

  function reset() {
    Object.assign(ss, { form: null, values: {}, pending: {}, selected: null, doc: null, consentAsked: false, recording: false, claim: null });
    docVideo.srcObject = null;
    render();
  }

  // ---------------------------------------------------------------- form

  function schema() { return ss.form ? schemas[ss.form.service] : null; }

  function renderForm() {
    const sc = schema();
    if (!sc) return;
    formTitle.textContent = tr(sc.title);
    const missing = (ss.form.missing || []).length + Object.keys(ss.form.errors || {}).length;
    formStatus.textContent = ss.form.complete ? i18n.t("form.complete") : i18n.t("form.incomplete", { count: missing });
    formStatus.dataset.complete = ss.form.complete ? "1" : "0";
    if (fieldsBox.dataset.service !== ss.form.service || fieldsBox.dataset.lang !== lang()) buildFields(sc);
    for (const f of sc.fields) {
      const row = fieldsBox.querySelector(`[data-field="${f.name}"]`);
      const value = ss.values[f.name] ?? "";
      row.querySelector(".ss-value-text").textContent = f.type === "choice" ? optionLabel(f, value) : value;
      row.dataset.selected = ss.selected === f.name ? "1" : "0";
      row.dataset.pointed = ss.form.pointed === f.name ? "1" : "0";
      const err = (ss.form.errors || {})[f.name];
      row.dataset.error = err ? err.code : "";
      row.querySelector(".ss-error").textContent = err ? (err[lang()] || err.id) : "";
    }
    renderKeyboard();
  }

  function optionLabel(f, value) {
    const o = (f.options || []).find((x) => x.value === value);
    return o ? tr(o.label) : value;
  }

  function buildFields(sc) {
    fieldsBox.textContent = "";
    fieldsBox.dataset.service = ss.form.service;
    fieldsBox.dataset.lang = lang();
    for (const f of sc.fields) {
      const row = el("div", { class: "ss-field", "data-field": f.name, "data-keyboard": f.keyboard || "text" },
        el("div", { class: "ss-label" }, el("span", { text: tr(f.label) }),
          f.required === false ? el("span", { class: "ss-opt", text: ` (${i18n.t("form.optional")})` }) : null),
        el("div", { class: "ss-value", role: "textbox", "aria-readonly": "true" }, el("span", { class: "ss-value-text" }), el("span", { class: "ss-caret" })),
        f.hint ? el("div", { class: "ss-hint", text: tr(f.hint) }) : null,
        el("div", { class: "ss-pointed", text: "☛ " + i18n.t("form.pointed") }),
        el("div", { class: "ss-error", role: "alert" }));
      row.addEventListener("click", () => { ss.selected = f.name; ss.shift = false; renderForm(); });
      fieldsBox.append(row);
    }
  }

  function fieldDef(name) { const sc = schema(); return sc && sc.fields.find((f) => f.name === name); }

  function key(label, onPress, cls = "", keyName = label) {
    const b = el("button", { class: `btn ss-key ${cls}`, type: "button", "data-key": keyName, text: label });
    b.addEventListener("click", (ev) => { ev.stopPropagation(); onPress(); });
    return b;
  }

  function renderKeyboard() {
    const f = ss.selected && fieldDef(ss.selected);
    keyboard.hidden = !f;
    if (!f) return;
    const kind = f.keyboard || "text";
    const sig = `${f.name}|${kind}|${ss.shift}|${lang()}`;
    if (keyboard.dataset.sig === sig) return;
    keyboard.dataset.sig = sig;
    keyboard.dataset.kind = kind;
    keyboard.textContent = "";
    const type = (ch) => () => edit(f, (ss.values[f.name] || "") + ch);
    const controls = el("div", { class: "ss-kb-row ss-kb-controls" },
      key(i18n.t("form.key.backspace"), () => edit(f, (ss.values[f.name] || "").slice(0, -1)), "wide", "Backspace"),
      key(i18n.t("form.key.clear"), () => edit(f, ""), "wide", "Clear"),
      key(i18n.t("form.key.done"), () => { ss.selected = nextField(f.name); renderForm(); }, "wide btn-primary", "Done"));
    if (kind === "choice") {
      const grid = el("div", { class: "ss-kb-choices" });
      for (const o of f.options || []) {
        const b = key(tr(o.label), () => { edit(f, o.value); }, ss.values[f.name] === o.value ? "chosen" : "", o.value);
        grid.append(b);
      }
      keyboard.append(grid, el("div", { class: "ss-kb-row ss-kb-controls" },
        key(i18n.t("form.key.done"), () => { ss.selected = nextField(f.name); renderForm(); }, "wide btn-primary", "Done")));
      keyboard.dataset.sig = "";  // the chosen option changes its look
      return;
    }
    if (kind === "numeric" || kind === "date" || kind === "phone") {
      const pad = el("div", { class: "ss-kb-pad" });
      NUMERIC.forEach((d, i) => {
        if (d) {
          const press = kind === "date" ? () => {
            let v = (ss.values[f.name] || "") + d;
            if (v.length === 2 || v.length === 5) v += "-";
            edit(f, v);
          } : type(d);
          pad.append(key(d, press, "digit"));
        } else if (i === 9 && kind === "phone") pad.append(key("+", type("+"), "digit"));
        else if (i === 9 && kind === "date") pad.append(key("-", type("-"), "digit"));
        else pad.append(el("span"));
      });
      keyboard.append(pad, controls);
      return;
    }
    const rows = kind === "email" ? EMAIL_ROWS : LETTERS;
    for (const r of rows) {
      const row = el("div", { class: "ss-kb-row" });
      for (const ch of r) {
        const c = kind === "email" ? ch : (ss.shift ? ch.toLowerCase() : ch);
        row.append(key(c, type(c), "letter"));
      }
      keyboard.append(row);
    }
    const extras = kind === "email" ? ["@", ".", "_", "-"] : ["'", "-", ".", ","];
    const last = el("div", { class: "ss-kb-row" });
    if (kind !== "email") last.append(key(i18n.t("form.key.shift"), () => { ss.shift = !ss.shift; renderKeyboard(); }, "", "Shift"));
    for (const ch of extras) last.append(key(ch, type(ch), "letter"));
    if (kind !== "email") last.append(key(i18n.t("form.key.space"), type(" "), "space", " "));
    keyboard.append(last, controls);
  }

  function nextField(name) {
    const sc = schema();
    const i = sc.fields.findIndex((f) => f.name === name);
    const next = sc.fields.slice(i + 1).find((f) => !(ss.values[f.name] || "").length);
    return next ? next.name : null;
  }

  async function edit(f, value) {
    if (value.length > (f.max_length || 100)) return;  // the field is full
    if (!ss.form) return;
    ss.values[f.name] = value;
    ss.pending[f.name] = (ss.pending[f.name] || 0) + 1;
    renderForm();
    const ack = await request(socket, "form.edit", { session_id: ss.form.session_id, field: f.name, value });
    ss.pending[f.name] -= 1;
    note("form.edit", f.name, ack.ok, ack.error);
    if (ack.ok && ack.form) applyForm(ack.form);
    else if (!ack.ok && !ss.pending[f.name] && ss.form) { ss.values[f.name] = ss.form.fields[f.name] || ""; renderForm(); }
  }

  function applyForm(state) {
    if (!state || (app.sessionId && state.session_id !== app.sessionId)) return;
    if (ss.form && ss.form.session_id === state.session_id && state.revision < ss.form.revision) return;
    const pointedChanged = !ss.form || ss.form.pointed !== state.pointed;
    ss.form = state;
    for (const [name, value] of Object.entries(state.fields || {})) {
      if (!ss.pending[name]) ss.values[name] = value;
    }
    if (pointedChanged && state.pointed) {
      ss.selected = state.pointed;
      requestAnimationFrame(() => {
        const row = fieldsBox.querySelector(`[data-field="${state.pointed}"]`);
        if (row) row.scrollIntoView({ block: "center", behavior: "smooth" });
      });
    }
    render();
  }

  // ---------------------------------------------------------------- documents

  function renderDoc() {
    const d = ss.doc;
    const kindText = i18n.t(`doc.kind.${d.kind}`);
    docTitle.textContent = i18n.t("doc.show", { kind: kindText });
    docPane.dataset.phase = d.phase;
    const live = d.phase === "frame";
    if (live && docVideo.srcObject !== app.localStream) {
      docVideo.srcObject = app.localStream;
      docVideo.play().catch(() => {});
    }
    btnCapture.hidden = !live;
    btnUse.hidden = d.phase !== "preview";
    btnRetake.hidden = d.phase !== "preview";
    btnUse.disabled = false;
    const msg = d.error ? i18n.t("doc.failed", { message: d.error })
      : d.phase === "uploading" ? i18n.t("doc.uploading")
        : d.phase === "sent" ? i18n.t("doc.sent")
          : d.phase === "accepted" ? i18n.t("doc.accepted")
            : d.retake && live ? i18n.t("doc.retake_asked") : "";
    docMsg.textContent = msg;
  }

  async function capture() {
    if (!ss.doc || ss.doc.phase !== "frame") return;
    ss.doc.phase = "capturing";
    try {
      const stream = app.localStream;
      const { blob, info } = await grabStill(stream && stream.getVideoTracks()[0], docVideo, note);
      ss.captures.push(info);
      ss.doc.blob = blob;
      if (docImg.src) URL.revokeObjectURL(docImg.src);
      docImg.src = URL.createObjectURL(blob);
      ss.doc.phase = "preview";
      ss.doc.error = null;
    } catch (e) {
      ss.doc.phase = "frame";
      ss.doc.error = String(e.message || e);
    }
    render();
  }

  async function useStill() {
    const d = ss.doc;
    if (!d || d.phase !== "preview" || !d.blob) return;
    d.phase = "uploading";
    render();
    const result = await uploadStill(app.sessionId, boot.token, d.request_id, d.blob);
    ss.uploads.push({ status: result.status, document: result.body.document || null });
    if (ss.doc !== d) return;
    if (result.status === 201) { d.phase = "sent"; d.error = null; }
    else { d.phase = "preview"; d.error = (result.body.error && result.body.error.message) || String(result.status); }
    render();
  }

  // ---------------------------------------------------------------- claim

  function renderClaim() {
    claimRef.textContent = ss.claim.reference;
    if (claimQr.getAttribute("src") !== ss.claim.qr) claimQr.setAttribute("src", ss.claim.qr);
  }

  // ---------------------------------------------------------------- events

  const mine = (m) => m && (!app.sessionId || m.session_id === app.sessionId);

  socket.on("form.state", (m) => { note("form.state", m && m.revision); if (mine(m)) applyForm(m); });
  socket.on("doc.request", (m) => {
    note("doc.request", m);
    if (!mine(m)) return;
    ss.doc = { request_id: m.request_id, kind: m.kind, phase: "frame", retake: Boolean(m.retake), error: null };
    render();
  });
  socket.on("doc.capture", (m) => {
    note("doc.capture", m);
    if (mine(m) && ss.doc && ss.doc.request_id === m.request_id) capture();
  });
  socket.on("doc.reviewed", (m) => {
    note("doc.reviewed", m);
    if (!mine(m) || !ss.doc || ss.doc.request_id !== m.request_id) return;
    if (m.accepted) {
      ss.doc.phase = "accepted";
      const d = ss.doc;
      setTimeout(() => { if (ss.doc === d) { ss.doc = null; render(); } }, 2500);
    }
    render();
  });
  socket.on("consent.request", (m) => { if (mine(m)) { ss.consentAsked = true; render(); } });
  socket.on("rec.state", (m) => { if (mine(m)) { ss.recording = Boolean(m.recording); render(); } });
  socket.on("claim.done", (m) => { if (mine(m)) { ss.claim = { reference: m.reference, qr: m.qr }; render(); } });
  socket.on("session.state", (m) => {
    if (!m || m.state === "ended" || m.state === "idle" || (ss.form && m.session_id !== ss.form.session_id)) reset();
  });

  async function answerConsent(yes) {
    const ack = await request(socket, "consent.answer", { session_id: app.sessionId, recording: yes });
    note("consent.answer", yes, ack.ok);
    if (ack.ok) { ss.consentAsked = false; render(); }
  }

  btnCapture.addEventListener("click", capture);
  btnUse.addEventListener("click", useStill);
  btnRetake.addEventListener("click", () => { if (ss.doc) { ss.doc.phase = "frame"; ss.doc.error = null; render(); } });
  document.getElementById("ss-consent-yes").addEventListener("click", () => answerConsent(true));
  document.getElementById("ss-consent-no").addEventListener("click", () => answerConsent(false));
  i18n.onChange(() => { keyboard.dataset.sig = ""; fieldsBox.dataset.lang = ""; render(); });
  render();
}
