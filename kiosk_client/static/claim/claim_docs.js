// Documents of an online claim: each required kind from the phone's camera or a file, checked by
// the server (type, size, readability, blur) as it arrives; a refused photo is simply taken again.
const ALLOWED = ["image/jpeg", "image/png", "application/pdf"];
const MAX_BYTES = 8 * 1024 * 1024;
let camera = null;  // { stream, kind, app }

function stopCamera(app) {
  if (camera) for (const t of camera.stream.getTracks()) t.stop();
  camera = null;
  app.$("camera").hidden = true;
}

async function upload(app, kind, blob, source, name) {
  const row = document.querySelector(`.c-doc[data-kind="${kind}"]`);
  const note = row && row.querySelector(".c-doc-note");
  if (note) note.textContent = app.i18n.t("claim.docs.sending");
  const form = new FormData();
  form.append("kind", kind);
  form.append("source", source);
  form.append("file", blob, name);
  const data = await app.api("POST", `/api/claim/${encodeURIComponent(app.token)}/documents`, form);
  if (!data.ok) {
    app.error(data.error);
    if (row) { row.dataset.status = "error"; row.dataset.error = data.error.code; }
    if (note) note.textContent = data.error.message;
    return;
  }
  app.show(data);
}

async function openCamera(app, kind) {
  stopCamera(app);
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1920 }, height: { ideal: 1080 } }, audio: false });
    camera = { stream, kind };
    const video = app.$("camera-video");
    video.srcObject = stream;
    app.$("camera").hidden = false;
    app.$("camera").dataset.kind = kind;
    await video.play().catch(() => {});
  } catch (err) {
    app.error({ code: "camera", message: app.i18n.t("claim.interview.check_failed") });
  }
}

export function setupCamera(app) {
  app.$("camera-snap").addEventListener("click", async () => {
    if (!camera) return;
    const video = app.$("camera-video");
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const kind = camera.kind;
    stopCamera(app);
    const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.92));
    await upload(app, kind, blob, "camera", `${kind}.jpg`);
  });
}

// Render one row per document kind into `box`; `draft`: every kind may be (re)sent, else only those asked again.
export function renderDocuments(app, box, draft) {
  const t = (k, p) => app.i18n.t(k, p);
  const claim = app.status.claim;
  const kinds = [...claim.required];
  if (claim.outcome === "more_documents" && !kinds.includes("other")) kinds.push("other");
  box.replaceChildren();
  for (const kind of kinds) {
    const doc = claim.documents[kind];
    const status = doc ? doc.status : "missing";
    const open = draft || status === "rejected" || (claim.state === "documents_requested" && kind === "other" && claim.outcome === "more_documents");
    const row = document.createElement("div");
    row.className = "c-doc";
    row.dataset.kind = kind;
    row.dataset.status = status === "pending" ? "ok" : status;
    const title = document.createElement("b");
    title.textContent = t(`doc.kind.${kind}`);
    const note = document.createElement("div");
    note.className = "c-doc-note";
    note.textContent = status === "missing" ? t("claim.docs.pending") : status === "accepted" ? t("claim.docs.accepted")
      : status === "rejected" ? t("claim.docs.rejected", { reason: doc.reason || "" }) : t("claim.docs.ok");
    row.append(title, note);
    if (open && claim.state !== "submitted") {
      const actions = document.createElement("div");
      actions.className = "c-actions";
      const cam = document.createElement("button");
      cam.type = "button"; cam.className = "c-btn doc-camera"; cam.textContent = t("claim.docs.camera");
      cam.addEventListener("click", () => openCamera(app, kind));
      const pick = document.createElement("input");
      pick.type = "file"; pick.accept = ALLOWED.join(","); pick.hidden = true; pick.className = "doc-file-input";
      pick.addEventListener("change", () => {
        const file = pick.files[0];
        if (!file) return;
        if (file.size > MAX_BYTES) { app.error({ code: "too_large", message: t("claim.error.too_large") }); return; }
        if (file.type && !ALLOWED.includes(file.type)) { app.error({ code: "unsupported_type", message: t("claim.error.unsupported_type") }); return; }
        upload(app, kind, file, "file", file.name);
      });
      const file = document.createElement("button");
      file.type = "button"; file.className = "c-btn doc-file"; file.textContent = t("claim.docs.file");
      file.addEventListener("click", () => pick.click());
      actions.append(cam, file, pick);
      row.append(actions);
    }
    box.append(row);
  }
  const submit = app.$("submit");
  submit.disabled = !kinds.every((k) => claim.documents[k]) || claim.state !== "draft";
}
