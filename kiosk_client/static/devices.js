// The kiosk's camera and microphone: opening them, the device check before a
// session, and letting them go.

import { levelMeter, mediaErrorKind } from "/static/common/rtc.js";
import { $, MEDIA_CONSTRAINTS, app, i18n, note, playQuietly, setState } from "/static/kiosk/page.js";

let stopMeter = null;

export async function openDevices() {
  if (app.localStream && app.localStream.getTracks().some((t) => t.readyState === "live")) {
    return { stream: app.localStream, problem: null };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia(MEDIA_CONSTRAINTS);
    return { stream, problem: null };
  } catch (err) {
    note("getUserMedia", err && err.name);
    // Carry on with whatever device works, and say which one does not.
    for (const only of [{ audio: MEDIA_CONSTRAINTS.audio }, { video: MEDIA_CONSTRAINTS.video }]) {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(only);
        return { stream, problem: mediaErrorKind(err) };
      } catch (e) { /* try the next */ }
    }
    return { stream: null, problem: mediaErrorKind(err) };
  }
}

export async function deviceCheck(service) {
  app.service = service;
  setState("check");
  const status = $("check-status");
  status.classList.remove("problem", "ready");
  i18n.bind(status, "kiosk.check.starting");
  $("check-continue").disabled = true;
  $("check-retry").hidden = true;
  const { stream, problem } = await openDevices();
  if (app.state !== "check") { if (stream && stream !== app.localStream) stopStream(stream); return; }
  app.localStream = stream;
  const video = stream && stream.getVideoTracks()[0];
  const audio = stream && stream.getAudioTracks()[0];
  $("check-video").srcObject = video ? stream : null;
  $("check-no-video").hidden = Boolean(video);
  playQuietly($("check-video"));
  if (stopMeter) stopMeter();
  stopMeter = audio ? levelMeter(audio, (v) => { $("mic-meter").style.width = `${Math.round(v * 100)}%`; }) : null;
  if (problem) {
    status.classList.add("problem");
    i18n.bind(status, `kiosk.check.${problem}`);
    $("check-retry").hidden = false;
  } else {
    status.classList.add("ready");
    i18n.bind(status, "kiosk.check.ready");
  }
  // A member can still be served with audio only (the agent guides them).
  $("check-continue").disabled = !audio;
}

export function stopStream(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}

export function releaseDevices() {
  if (stopMeter) { stopMeter(); stopMeter = null; }
  stopStream(app.localStream);
  app.localStream = null;
  $("check-video").srcObject = null;
  $("self-video").srcObject = null;
}
/** Stop the microphone level meter of the device check (the session starts). */
export function stopLevelMeter() {
  if (stopMeter) { stopMeter(); stopMeter = null; }
}
