// A document's photo at the booth: one still at the camera's full resolution,
// and its upload to the session's documents (docs/protocol.md, "Self-service").

/**
 * One JPEG still from the camera track, at the track's own frame size (the
 * track is captured at full resolution even while the encoder sends a smaller
 * picture to the agent). `video` is a playing element showing the track, used
 * where ImageCapture is missing. Returns the blob and what was captured.
 */
export async function grabStill(track, video, note) {
  if (!track) throw new Error("no camera");
  let source = null, width = 0, height = 0;
  if ("ImageCapture" in window) {
    try {
      const bmp = await new ImageCapture(track).grabFrame();
      source = bmp; width = bmp.width; height = bmp.height;
    } catch (e) { note("grabFrame", String(e)); }
  }
  if (!source) {
    if (!video.videoWidth) await new Promise((r) => video.addEventListener("loadeddata", r, { once: true }));
    source = video; width = video.videoWidth; height = video.videoHeight;
  }
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  canvas.getContext("2d").drawImage(source, 0, 0, width, height);
  const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.92));
  const settings = track.getSettings();
  const info = { width, height, bytes: blob.size, type: blob.type, track: { width: settings.width, height: settings.height } };
  return { blob, info };
}

/** Upload a still for a document request; resolves to {status, body}, status 0 when offline. */
export async function uploadStill(sessionId, token, requestId, blob) {
  const fd = new FormData();
  fd.append("request_id", requestId);
  fd.append("file", blob, "document.jpg");
  try {
    const r = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}/documents`, {
      method: "POST", body: fd, headers: { Authorization: `Bearer ${token}` },
    });
    return { status: r.status, body: await r.json().catch(() => ({})) };
  } catch (e) {
    return { status: 0, body: { error: { message: String(e) } } };
  }
}
