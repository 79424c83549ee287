"""Reports for supervisors: the history of closed sessions, CSV export, the day's curve, metrics.

History rows join each session with the times of its transitions (when it
was first assigned, when it ended), so waiting and handling times come from
the stored record, not from memory: a restart loses none of it. "Now" is
always ``Config.clock()`` and days are WIB days (:mod:`signaling.core.daytime`), so
neither the machine's clock nor its time zone decides what a report shows.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from signaling.core.daytime import BUCKET_MINUTES, CLOSING_HOUR, LOCAL, OPENING_HOUR, board_window, day_bounds, early_span
from signaling.core.quality import LEVELS
from signaling.core.vocabulary import SERVICES
from signaling.views import network_of

from . import appkeys, csv_export, metrics_access
from .audit import act
from .auth import require_role, request_user
from .database import Database

ENDED = ("closed", "cancelled", "abandoned", "failed")

HISTORY_COLUMNS = (
    "session_id", "created_at", "branch", "booth", "kiosk_id", "service", "agent_id", "state",
    "outcome", "wait_seconds", "handling_seconds", "rating", "ended_at",
)

_HISTORY_SQL = """
SELECT s.session_id, s.created_at, s.branch, s.booth, s.kiosk_id, s.service, s.agent_id, s.state, s.outcome,
       s.queued_at, s.rating,
       (SELECT MIN(at) FROM transitions t WHERE t.session_id = s.session_id AND t.to_state = 'assigned') AS assigned_at,
       (SELECT MIN(at) FROM transitions t WHERE t.session_id = s.session_id AND t.to_state = 'active') AS active_at,
       (SELECT MAX(at) FROM transitions t WHERE t.session_id = s.session_id
          AND t.to_state IN ('closed', 'cancelled', 'abandoned', 'failed')) AS ended_at
FROM sessions s
WHERE s.state IN ('closed', 'cancelled', 'abandoned', 'failed')
"""


def history(database: Database, filters: dict[str, str]) -> list[dict]:
    """Closed sessions matching ``filters`` (from, to: dates; branch, service, agent, outcome)."""
    sql = _HISTORY_SQL
    args: dict = {}
    if filters.get("from"):
        sql += " AND s.created_at >= :from_at"
        args["from_at"] = day_bounds(filters["from"])[0]
    if filters.get("to"):
        sql += " AND s.created_at < :to_at"
        args["to_at"] = day_bounds(filters["to"])[1]
    for key, column in (("branch", "s.branch"), ("service", "s.service"), ("agent", "s.agent_id"), ("outcome", "s.outcome")):
        if filters.get(key):
            sql += f" AND {column} = :{key}"
            args[key] = filters[key]
    sql += " ORDER BY s.created_at DESC LIMIT 5000"
    rows = []
    for r in database.rows(sql, args):
        (sid, created, branch, booth, kiosk, service, agent, state, outcome, queued, rating, assigned, active, ended) = r
        rows.append(
            {
                "session_id": sid,
                "created_at": created,
                "branch": branch,
                "booth": booth,
                "kiosk_id": kiosk,
                "service": service,
                "agent_id": agent,
                "state": state,
                "outcome": outcome,
                "wait_seconds": round(assigned - (queued or created), 1) if assigned else None,
                "handling_seconds": round(ended - active, 1) if active and ended else None,
                "rating": rating,
                "ended_at": ended,
            }
        )
    return rows


def day_series(database: Database, start: float, end: float, now: float, bucket_minutes: int = BUCKET_MINUTES) -> dict:
    """Waiting members, sessions in progress and mean wait per bucket from ``start`` to ``end``.

    Each bucket is sampled at its start; buckets after ``now`` are the
    future and hold None.
    """
    step = bucket_minutes * 60
    times = [start + i * step for i in range(int((end - start) // step))]
    spans: dict[str, dict[str, float]] = {}
    ended = ", ".join(f"'{state}'" for state in ENDED)
    for sid, to_state, at in database.rows(
        "SELECT session_id, to_state, at FROM transitions WHERE at < :end AND session_id IN "
        f"(SELECT session_id FROM sessions WHERE COALESCE(updated_at, created_at) >= :start OR state NOT IN ({ended})) "
        "ORDER BY id",
        {"end": end, "start": start},
    ):
        span = spans.setdefault(sid, {})
        span.setdefault(to_state, at)
        if to_state in ENDED:
            span["end"] = at
    waiting: list[int | None] = []
    busy: list[int | None] = []
    mean_wait: list[float | None] = []
    for t in times:
        if t > now:
            waiting.append(None)
            busy.append(None)
            mean_wait.append(None)
            continue
        w = b = 0
        waits = []
        for span in spans.values():
            q, a, e = span.get("queued"), span.get("assigned"), span.get("end", float("inf"))
            if q is not None and q <= t < min(a or float("inf"), e):
                w += 1
            if a is not None and a <= t < e:
                b += 1
            if q is not None and a is not None and t <= a < t + step:
                waits.append(a - q)
        waiting.append(w)
        busy.append(b)
        mean_wait.append(round(sum(waits) / len(waits), 1) if waits else None)
    return {
        "day": datetime.fromtimestamp(start, LOCAL).strftime("%Y-%m-%d"),
        "start": start,
        "end": end,
        "now": now,
        "service_hours": [OPENING_HOUR, CLOSING_HOUR],
        "bucket_minutes": bucket_minutes,
        "times": times,
        "waiting": waiting,
        "in_progress": busy,
        "mean_wait_seconds": mean_wait,
    }


def board_series(database: Database, now: float) -> dict:
    """The board chart's series: :func:`signaling.core.daytime.board_window` at ``now``."""
    early_from, early_to = early_span(now)
    earliest = database.scalar(
        "SELECT MIN(at) FROM transitions WHERE at >= :early_from AND at < :early_to",
        {"early_from": early_from, "early_to": early_to},
    )
    start, end = board_window(now, earliest)
    return day_series(database, start, end, now)


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query[k][:40] for k in ("from", "to", "branch", "service", "agent", "outcome") if request.query.get(k)}


def _checked_filters(request: web.Request) -> dict[str, str]:
    filters = _filters(request)
    try:
        for key in ("from", "to"):
            if key in filters:
                day_bounds(filters[key])
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": {"code": "invalid_payload", "message": "Dates are YYYY-MM-DD."}}',
            content_type="application/json",
        ) from None
    if filters.get("service") and filters["service"] not in SERVICES:
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": {"code": "invalid_payload", "message": "Unknown service."}}',
            content_type="application/json",
        )
    return filters


@require_role("supervisor")
async def history_json(request: web.Request) -> web.Response:
    filters = _checked_filters(request)
    rows = history(request.app[appkeys.HUB].storage.database, filters)
    return web.json_response({"sessions": rows, "monitoring": monitoring_spans(request, filters)})


def monitoring_spans(request: web.Request, filters: dict[str, str]) -> list[dict]:
    """Supervisors' monitoring spans in the history's days (and of its agent, if one is chosen)."""
    spans = request.app[appkeys.HUB].spans
    if spans is None:
        return []
    since = day_bounds(filters["from"])[0] if filters.get("from") else None
    until = day_bounds(filters["to"])[1] if filters.get("to") else None
    return [s for s in spans.spans(since, until) if not filters.get("agent") or s["agent_id"] == filters["agent"]]


@require_role("supervisor")
async def history_csv(request: web.Request) -> web.Response:
    filters = _checked_filters(request)
    rows = history(request.app[appkeys.HUB].storage.database, filters)
    act(request, "history.export", "history.csv", rows=len(rows), **filters)

    def when(at: float | None) -> str:
        return datetime.fromtimestamp(at, LOCAL).isoformat(timespec="seconds") if at else ""

    stamped = ({**dict(row), "created_at": when(row["created_at"]), "ended_at": when(row["ended_at"])} for row in rows)
    return csv_export.download(
        "lapak-sessions",
        request.app[appkeys.CONFIG].clock(),
        HISTORY_COLUMNS,
        ([row.get(column) for column in HISTORY_COLUMNS] for row in stamped),
    )


@require_role("supervisor")
async def day_json(request: web.Request) -> web.Response:
    """The board's chart (no ``day``), or one whole WIB day (``?day=YYYY-MM-DD``)."""
    db = request.app[appkeys.HUB].storage.database
    now = request.app[appkeys.CONFIG].clock()
    day = request.query.get("day")
    if not day:
        return web.json_response(board_series(db, now))
    try:
        start, end = day_bounds(day[:40])
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"ok": false, "error": {"code": "invalid_payload", "message": "Dates are YYYY-MM-DD."}}',
            content_type="application/json",
        ) from None
    return web.json_response(day_series(db, start, end, now))


async def metrics(request: web.Request) -> web.Response:
    """OpenMetrics text for operations: the scraper's token, the metrics listener, or supervisors."""
    metrics_access.check(request)
    hub = request.app[appkeys.HUB]
    lines = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        lines.append(f"# TYPE {name} {kind}")
        lines.append(f"# HELP {name} {help_text}")
        for labels, value in samples:
            label = ",".join(f'{k}="{v}"' for k, v in labels.items())
            suffix = "_total" if kind == "counter" else ""
            lines.append(f"{name}{suffix}{{{label}}} {value}" if label else f"{name}{suffix} {value}")

    now = request.app[appkeys.CONFIG].clock()
    metric("lapak_queue_waiting", "gauge", "Members waiting, per service.",
           [({"service": s}, len(hub.state.waiting(s))) for s in SERVICES])
    metric("lapak_queue_longest_wait_seconds", "gauge", "Longest current wait, per service.",
           [({"service": s}, round(max([now - (x.queued_at or now) for x in hub.state.waiting(s)] or [0]), 1))
            for s in SERVICES])
    metric("lapak_agent_sessions", "gauge", "Sessions in progress, per agent.",
           [({"agent": a.agent_id}, len(a.sessions)) for a in hub.state.agents()])
    metric("lapak_agent_capacity", "gauge", "Session capacity, per agent.",
           [({"agent": a.agent_id}, a.capacity) for a in hub.state.agents()])
    states: dict[str, int] = {}
    for s in hub.state.sessions():
        states[s.state] = states.get(s.state, 0) + 1
    metric("lapak_sessions", "gauge", "Sessions known to the hub, per state.", [({"state": k}, v) for k, v in states.items()])
    stats = await hub.router.stats()
    peers = [p for room in stats["rooms"].values() for p in room["peers"].values()]
    metric("lapak_router_peers", "gauge", "Peer connections at the media router.", [({}, len(peers))])
    packets_in = {"audio": 0, "video": 0}
    packets_out = {"audio": 0, "video": 0}
    frames_out = 0
    for p in peers:
        for kind, counters in p["in"].items():
            packets_in[kind] += counters["packets"]
        for out in p["out"]:
            packets_out[out["kind"]] += out["packets"]
            frames_out += out["frames"]
    metric("lapak_router_packets_received", "counter", "RTP packets received by the router.",
           [({"kind": k}, v) for k, v in packets_in.items()])
    metric("lapak_router_packets_forwarded", "counter", "RTP packets sent by the router.",
           [({"kind": k}, v) for k, v in packets_out.items()])
    metric("lapak_router_frames_forwarded", "counter", "Video frames sent by the router.", [({}, frames_out)])
    refusals = request.app[appkeys.SIGNALING].refusals.counts
    metric("lapak_socket_refused_packets", "counter",
           "Socket.io packets refused before any handler (undecodable, binary, too large); each dropped its connection.",
           [({"reason": r}, n) for r, n in sorted(refusals.items())])
    fanout = getattr(request.app[appkeys.SIGNALING].manager, "stats", None)
    if fanout is not None:  # several nodes: what this node received on the shared socket.io channel
        metric("lapak_fanout_messages", "counter", "socket.io messages received from the shared Redis channel.",
               [({}, fanout.received)])
        metric("lapak_fanout_unused", "counter", "Emits from other nodes with no socket in their room here.",
               [({}, fanout.unused)])
        metric("lapak_fanout_seconds", "counter", "CPU seconds the shared channel costs: decoding every message, handling those with no socket here.",
               [({}, round(fanout.seconds, 6))])
    network_metrics(metric, hub.state.sessions())
    lines.append("# EOF")
    return web.Response(text="\n".join(lines) + "\n", content_type="application/openmetrics-text")


def network_metrics(metric, sessions) -> None:
    """Each booth's network quality (docs/operations.md): level 0 good, 1 fair, 2 poor; loss, jitter, round trip."""
    measured = [(s, q) for s in sessions if (q := network_of(s)) is not None and q.get("level") in LEVELS]
    who = [({"kiosk": s.kiosk_id, "branch": s.branch}, q) for s, q in measured]
    metric("lapak_booth_network_level", "gauge", "A booth's network quality: 0 good, 1 fair, 2 poor.",
           [(labels, LEVELS.index(q["level"])) for labels, q in who])
    for name, help_text, keys, scale in (
        ("lapak_booth_network_loss_ratio", "Fraction of a booth's packets lost", ("loss_up", "loss_down"), 1),
        ("lapak_booth_network_jitter_seconds", "Interarrival jitter of a booth's audio", ("jitter_up_ms", "jitter_down_ms"),
         0.001),
    ):
        metric(name, "gauge", f"{help_text}, up (booth to server) and down (server to booth).",
               [({**labels, "direction": d}, round(q[k] * scale, 4))
                for labels, q in who for d, k in zip(("up", "down"), keys) if q.get(k) is not None])
    metric("lapak_booth_network_rtt_seconds", "gauge", "Round trip between a booth and the server.",
           [(labels, round(q["rtt_ms"] / 1000, 4)) for labels, q in who if q.get("rtt_ms") is not None])


def setup(app: web.Application) -> None:
    app.router.add_get("/api/history", history_json)
    app.router.add_get("/api/history.csv", history_csv)
    app.router.add_get("/api/day", day_json)
    app.router.add_get("/metrics", metrics)
    metrics_access.serve_separately(app, metrics)
