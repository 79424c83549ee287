"""``lapak bench``: rooms per core, forwarding against transcoding and Janus, and latencies.

See ``docs/performance.md`` ("How the benchmark is organised"). Modules, from
the command line down; none imports one above it:

- :mod:`bench.cli` — the command line;
- :mod:`bench.run` — one benchmark run: start the peer under test, ramp rooms;
- :mod:`bench.measure` — one measured step (a window) and a series of steps;
- :mod:`bench.report` — table, plot, JSON;
- :mod:`bench.lapak_server` — ``lapak serve`` under test; :mod:`bench.janus` — Janus
  in a network namespace (:mod:`bench.netns`), and its HTTP session;
- :mod:`bench.control` — the run's side of a load-generator process;
- :mod:`bench.procs`, :mod:`bench.progress` — CPU and memory of processes; progress lines;
- :mod:`bench.loadgen` — a load-generator process (JSON lines on stdin/stdout);
- :mod:`bench.generator` — what one generator holds: clips, pump, rooms, samples;
- :mod:`bench.lapak_room` — a room of the project's own headless clients
  (:mod:`kiosk_client.client`, :mod:`agent_console.client`), media pumped;
- :mod:`bench.janus_room` — the same room as Janus VideoRoom clients;
- :mod:`bench.pumped` — a client's media sent by the pump, counted per m-line;
- :mod:`bench.probes` — latency probes (tone detector, first decoded frame);
- :mod:`bench.rtp` — the RTP pump and RTP-level receive counters;
- :mod:`bench.media` — pre-encoded VP8/Opus clips made at run time with PyAV;
- :mod:`bench.instrumented`, :mod:`bench.transcode` — the routers under test
  (forwarding plus a stats file; the transcoding baseline);
- :mod:`bench.scaling`, :mod:`bench.profile` — CPU quotas per worker; py-spy;
- :mod:`bench.queue_day` — a simulated day of queues (dispatcher), no media.
"""
