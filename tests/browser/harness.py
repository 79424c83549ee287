"""Browser test harness shared by the browser tests and scripts/screenshots.py.

Chromium's location and flags, the fake-microphone init script (a WebAudio
oscillator per page), the FFT of what a page receives, video frame and
outbound-rtp checks, and small polling helpers. No pytest in here.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field

from signaling.core.daytime import RunningClock, wib

#: The browser binary. LAPAK_CHROMIUM may name another, e.g. a wrapper script that
#: unsets LD_PRELOAD/FAKETIME so a faked clock stays in the tests and out of Chromium.
CHROMIUM = os.environ.get("LAPAK_CHROMIUM", "/usr/lib/chromium/chromium")
#: What time it is for every test server unless a test says otherwise (``Config.clock``):
#: a Monday morning in WIB, inside service hours, whatever the machine's clock, date or zone.
TEST_TIME = wib("2026-11-30 10:30")
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    # The server offers only loopback ICE candidates in tests.
    "--allow-loopback-in-peer-connection",
    # Pages in background tabs must keep their timers and media running.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]

#: Tone of each simulated person (Hz). Chosen away from the hold melody's
#: notes (523, 659, 784 Hz) and their first harmonics.
AGENT_TONE = 380
KIOSK_TONES = (700, 950, 1200, 1450, 1800, 2200)
HOLD_NOTES = (523.25, 659.25, 783.99)

# Replace the microphone by an oscillator (no echo cancellation, noise
# suppression or gain control: it never goes through the audio pipeline).
TONE_INIT_SCRIPT = """
(() => {
  const FREQ = %(freq)s;
  const md = navigator.mediaDevices;
  if (!md || md.__lapakTone) return;
  const original = md.getUserMedia.bind(md);
  let dest = null, ctx = null;
  function toneTrack() {
    if (!dest) {
      ctx = new AudioContext({ sampleRate: 48000 });
      const osc = ctx.createOscillator();
      osc.type = "sine";
      osc.frequency.value = FREQ;
      const gain = ctx.createGain();
      gain.gain.value = 0.4;
      dest = ctx.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
    }
    ctx.resume().catch(() => {});
    return dest.stream.getAudioTracks()[0].clone();
  }
  md.getUserMedia = async (constraints) => {
    const c = constraints || {};
    const out = new MediaStream();
    if (c.video) {
      const v = await original({ video: c.video });
      for (const t of v.getVideoTracks()) out.addTrack(t);
    }
    if (c.audio) out.addTrack(toneTrack());
    return out;
  };
  md.__lapakTone = FREQ;
})();
"""

# Spectrum of what a page *receives*: WebAudio AnalyserNode FFT over `ms`.
# Returns the linear magnitude around each asked frequency and the median
# magnitude of the 100-4000 Hz band (the noise floor).
SPECTRUM_JS = """
async ({ selector, freqs, ms }) => {
  const el = document.querySelector(selector);
  const stream = el && el.srcObject;
  if (!stream || !stream.getAudioTracks().length) return { error: "no audio stream" };
  const ctx = new AudioContext({ sampleRate: 48000 });
  await ctx.resume();
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  an.smoothingTimeConstant = 0;
  src.connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  const acc = new Float64Array(an.frequencyBinCount);
  let n = 0;
  const end = performance.now() + ms;
  await new Promise((r) => setTimeout(r, 120));
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 40));
    an.getFloatFrequencyData(bins);
    for (let i = 0; i < bins.length; i++) acc[i] += Math.pow(10, bins[i] / 20);
    n++;
  }
  const hz = ctx.sampleRate / an.fftSize;
  const mag = (i) => acc[i] / Math.max(1, n);
  const level = (f) => {
    const b = Math.round(f / hz);
    let m = 0;
    for (let i = b - 2; i <= b + 2; i++) m = Math.max(m, mag(i));
    return m;
  };
  const band = [];
  for (let i = Math.round(100 / hz); i < Math.round(4000 / hz); i++) band.push(mag(i));
  band.sort((a, b) => a - b);
  src.disconnect();
  await ctx.close();
  const levels = {};
  for (const f of freqs) levels[String(f)] = level(f);
  return { levels, floor: band[Math.floor(band.length / 2)] || 1e-9, frames: n };
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]





async def spectrum(page, freqs, ms=900, selector="#remote-audio"):
    result = await page.evaluate(SPECTRUM_JS, {"selector": selector, "freqs": list(freqs), "ms": ms})
    assert "error" not in result, result
    return result


#: A received tone is "heard" above this magnitude (the analyser's linear
#: units; a tone sent at gain 0.4 arrives at about 0.08) and "absent" below
#: ABSENT (about 32 dB under it). Codec noise and harmonics stay far below.
HEARD = 0.01
ABSENT = 0.002


def heard(result, freq) -> bool:
    """The tone at freq is clearly in the received audio."""
    level = result["levels"][str(freq)]
    return level > HEARD and level > 20 * result["floor"]


def absent(result, freq) -> bool:
    """The tone at freq is not in the received audio."""
    return result["levels"][str(freq)] < ABSENT


def hears_hold_music(result) -> bool:
    """At least one note of the hold melody is in the received audio."""
    return any(heard(result, f) for f in HOLD_NOTES)


async def wait_for(predicate, timeout=15.0, interval=0.1, message="condition"):
    """Poll an async or plain predicate until it is truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        last = predicate()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {message} (last: {last!r})")


async def frames_advancing(page, selector, ms=700) -> bool:
    """True when the <video> at selector decodes new frames within ms."""
    return await page.evaluate(
        """async ({ selector, ms }) => {
          const v = document.querySelector(selector);
          if (!v || !v.srcObject) return false;
          const q0 = v.getVideoPlaybackQuality().totalVideoFrames;
          await new Promise((r) => setTimeout(r, ms));
          const q1 = v.getVideoPlaybackQuality().totalVideoFrames;
          return q1 > q0 && v.videoWidth > 0;
        }""",
        {"selector": selector, "ms": ms},
    )


async def outbound_video(page, pc_expr="window.lapakKiosk.pc"):
    """outbound-rtp video stats of the page's peer connection."""
    return await page.evaluate(
        f"""async () => {{
          const pc = {pc_expr};
          if (!pc) return null;
          const stats = await pc.getStats();
          for (const s of stats.values()) {{
            if (s.type === "outbound-rtp" && s.kind === "video") {{
              return {{ frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
                        framesEncoded: s.framesEncoded || 0, bytesSent: s.bytesSent || 0 }};
            }}
          }}
          return null;
        }}"""
    )


async def body_state(page) -> str:
    return await page.evaluate("document.body.dataset.state")


@dataclass
class Server:
    """A running Lapak app on a free loopback port, with its tokens."""

    url: str
    app: object
    runner: object
    config: object
    kiosk_tokens: list = field(default_factory=list)
    agent_tokens: list = field(default_factory=list)

    def kiosk_url(self, n: int, lang: str = "id") -> str:
        return f"{self.url}/kiosk?token={self.kiosk_tokens[n]}&lang={lang}"

    def agent_url(self, n: int = 0, lang: str = "id") -> str:
        return f"{self.url}/agent?token={self.agent_tokens[n]}&lang={lang}"

    @property
    def hub(self):
        from server.appkeys import HUB

        return self.app[HUB]

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_server(data_dir, reconnect_grace: float = 30.0, clock=None, media_workers: int = 0) -> Server:
    """create_app() with six booths and two agents on 127.0.0.1, at ``clock`` (default: TEST_TIME), media in-process by default."""
    from aiohttp import web

    from server.app import create_app
    from server.config import Config
    from signaling.core.vocabulary import AgentIdentity, KioskIdentity

    kiosks = {
        f"kiosk-token-{i}": KioskIdentity(kiosk_id=f"kiosk-{i}", branch="KC Jakarta Salemba", booth=i)
        for i in range(1, 7)
    }
    agents = {
        "agent-token-1": AgentIdentity(agent_id="agent-1", name="Siti Rahmawati"),
        "agent-token-2": AgentIdentity(agent_id="agent-2", name="Budi Santoso"),
    }
    config = Config(
        data_dir=data_dir,
        kiosk_tokens=kiosks,
        agent_tokens=agents,
        ice_addresses=["127.0.0.1"],
        reconnect_grace=reconnect_grace,
        clock=clock or RunningClock(TEST_TIME),
        media_workers=media_workers,
    )
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return Server(f"http://127.0.0.1:{port}", app, runner, config, list(kiosks), list(agents))


async def launch_browser(pw):
    return await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@dataclass
class Pages:
    """Opens pages, each in its own browser context with its own tone."""

    browser: object
    contexts: list = field(default_factory=list)
    verbose: bool = True

    async def open(self, url: str, tone: float, viewport=(1280, 800), init_script: str | None = None):
        ctx = await self.browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            permissions=["camera", "microphone"],
        )
        self.contexts.append(ctx)
        await ctx.add_init_script(TONE_INIT_SCRIPT % {"freq": tone})
        if init_script:
            await ctx.add_init_script(init_script)
        page = await ctx.new_page()
        if self.verbose:
            page.on("console", lambda m: m.type == "error" and print(f"[{tone} Hz console] {m.text}"))
            page.on("pageerror", lambda e: print(f"[{tone} Hz pageerror] {e}"))
        await page.goto(url)
        return page

    async def close(self):
        for ctx in self.contexts:
            try:
                await ctx.close()
            except Exception:
                pass
        self.contexts.clear()


# ---------------------------------------------------------------- page actions


async def start_session(kiosk, service: str = "jht") -> None:
    """The member picks a service, passes the device check, joins the queue."""
    await kiosk.click(f"[data-service={service}]")
    await kiosk.wait_for_selector("#check-continue:not([disabled])", timeout=10000)
    await kiosk.click("#check-continue")


async def wait_state(page, *states, timeout=20.0):
    """Wait until the kiosk page shows one of states (body[data-state])."""
    return await wait_for(
        lambda: page.evaluate("(s) => s.includes(document.body.dataset.state) && document.body.dataset.state", list(states)),
        timeout=timeout,
        message=f"kiosk state in {states}",
    )


async def agent_ready(agent, timeout=20.0):
    await wait_for(
        lambda: agent.evaluate("document.body.dataset.media === 'connected'"), timeout=timeout, message="agent media"
    )


async def tile_sessions(agent) -> list:
    """The session id on each of the agent's six tiles ('' when empty)."""
    return await agent.evaluate(
        "[1,2,3,4,5,6].map((n) => document.getElementById('tile-' + n).dataset.sessionId || '')"
    )
