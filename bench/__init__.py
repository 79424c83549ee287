"""``lapak bench``: rooms per core, forwarding against transcoding and Janus, and latencies.

See ``docs/performance.md``. Modules:

- :mod:`bench.media` — pre-encoded VP8/Opus clips made at run time with PyAV;
- :mod:`bench.rtp` — a cheap RTP pump and RTP-level receive counters;
- :mod:`bench.loadgen` — a load-generator process (headless kiosks and agents);
- :mod:`bench.janus` — Janus in a network namespace, and its VideoRoom client;
- :mod:`bench.transcode` — the transcoding baseline router;
- :mod:`bench.instrumented` — the forwarding router, plus a stats file;
- :mod:`bench.run` — the orchestration of one benchmark run;
- :mod:`bench.report` — table, plot, JSON;
- :mod:`bench.cli` — the command line.
"""
