// WebRTC helpers shared by the kiosk page and the agent console.
// The server's media router (aiortc) does not trickle ICE: offers are sent
// complete, after gathering has finished.

export const PC_CONFIG = { bundlePolicy: "max-bundle", iceServers: [] };

export function waitIceComplete(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      pc.removeEventListener("icecandidate", onCandidate);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const onCandidate = (ev) => { if (!ev.candidate) done(); };
    // Without STUN/TURN, host candidates are all there is: never wait forever.
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
    pc.addEventListener("icecandidate", onCandidate);
  });
}

// Put `mime` (e.g. "video/VP8", "audio/opus") first, keeping the rest
// (rtx/red/fec) after it. The router forwards encoded media, so every peer
// must agree on VP8 and Opus.
export function preferCodec(transceiver, kind, mime) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver?.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return;
  const wanted = mime.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== wanted);
  if (!first.length) return;
  try { transceiver.setCodecPreferences([...first, ...rest]); } catch (e) { console.warn("codec preference", e); }
}

// Offer only `mime` (and its retransmission) on this transceiver: a short m-line, for a
// client that offers many (the agent's guest lines; the whole offer must stay under 64 KiB).
export function onlyCodec(transceiver, kind, mime) {
  if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver?.getCapabilities) return;
  const codecs = (RTCRtpReceiver.getCapabilities(kind)?.codecs || [])
    .filter((c) => [mime.toLowerCase(), `${kind}/rtx`].includes(c.mimeType.toLowerCase()));
  if (!codecs.some((c) => c.mimeType.toLowerCase() === mime.toLowerCase())) return;
  try { transceiver.setCodecPreferences(codecs); } catch (e) { console.warn("codec preference", e); }
}

// Create the offer, wait for complete ICE gathering, return the full SDP.
export async function completeOffer(pc) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await waitIceComplete(pc);
  return pc.localDescription.sdp;
}

// socket.io emit with acknowledgement, as a promise of the ack object.
export function request(socket, event, payload, timeoutMs = 15000) {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err, ack) => {
      if (err) resolve({ ok: false, error: { code: "timeout", message: `no answer to ${event}` } });
      else resolve(ack && typeof ack === "object" ? ack : { ok: false, error: { code: "bad_ack", message: String(ack) } });
    });
  });
}

// Apply a `media.quality` request to a video sender (own encoder scales, the
// server never transcodes).
export async function applyQuality(sender, quality) {
  if (!sender) return false;
  const params = sender.getParameters();
  if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
  const enc = params.encodings[0];
  const scale = Number(quality.scale_resolution_down_by) || 1;
  enc.scaleResolutionDownBy = Math.max(1, scale);
  if (quality.max_bitrate) enc.maxBitrate = Number(quality.max_bitrate);
  else delete enc.maxBitrate;
  // Members show ID cards and documents: keep the asked resolution and drop
  // frame rate instead when CPU or bandwidth run short.
  params.degradationPreference = "maintain-resolution";
  try {
    await sender.setParameters(params);
    return true;
  } catch (e) {
    console.warn("setParameters", e);
    return false;
  }
}

// Level meter for a local audio track (the device check's "your voice" bar).
export function levelMeter(track, onLevel) {
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const an = ctx.createAnalyser();
  an.fftSize = 1024;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    const rms = Math.sqrt(sum / buf.length);
    onLevel(Math.min(1, rms * 4));
    setTimeout(tick, 100);
  };
  ctx.resume().catch(() => {});
  tick();
  return () => { stopped = true; ctx.close().catch(() => {}); };
}

export function mediaErrorKind(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "missing";
  return "failed";
}
