"""http_server: a loopback HTTP server with /cpu and /io handlers, driven for --duration seconds.

The server listens on 127.0.0.1 on a free port: a ThreadingHTTPServer in this process (--executor
thread), or --threads single-threaded HTTPServer child processes sharing one listening socket (--executor
process). A load generator in a separate process opens --threads concurrent client connections (one
request per connection, HTTP/1.0) alternating /cpu (sum of squares below --size, checked by the client)
and /io (sleeps --io-ms). Bounded in time (--duration, at most 30 s) and in requests (--max-requests);
loopback only. scaling is "none": the figures are requests completed and requests/s per endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import signal
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any

import _protocol as proto

HOST = "127.0.0.1"  # loopback only, by design
POLL_S = 0.05
CLIENT_TIMEOUT_S = 5.0  # one request may never hang a client longer than this


def squares_below(n: int) -> int:
    """sum(i*i for i in range(n))."""
    return (n - 1) * n * (2 * n - 1) // 6


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=float, default=3.0, help="seconds of load, 0 < d <= 30 (default 3)"
    )
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="upper bound on requests in total (default 200000)"
    )
    parser.add_argument("--io-ms", type=float, default=5.0, help="sleep of one /io request in ms (default 5)")
    parser.add_argument(
        "--endpoints",
        choices=("both", "cpu", "io"),
        default="both",
        help="what the clients request (default both)",
    )


def check(args: argparse.Namespace) -> None:
    if not 0 < args.duration <= 30:
        raise proto.UsageError(f"--duration must be in (0, 30], got {args.duration}")
    if args.max_requests < 1:
        raise proto.UsageError(f"--max-requests must be at least 1, got {args.max_requests}")
    if not 0 <= args.io_ms <= 1000:
        raise proto.UsageError(f"--io-ms must be in [0, 1000], got {args.io_ms}")


# --------------------------------------------------------------------------- server side


class Handler(BaseHTTPRequestHandler):
    """/cpu computes, /io sleeps; anything else is 404."""

    protocol_version = "HTTP/1.0"  # one request per connection, so connections spread over server processes
    timeout = CLIENT_TIMEOUT_S

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        server: Any = self.server
        if self.path == "/cpu":
            total = 0
            for i in range(server.cpu_n):
                total += i * i
            body = str(total).encode()
        elif self.path == "/io":
            time.sleep(server.io_s)
            body = b"ok"
        else:
            self.send_error(404)
            return
        server.count(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        pass  # one line per request on stderr would drown the diagnostics


class _Counting:
    """Mixin: per-endpoint request counts and quiet error handling."""

    def setup_counting(self, args: argparse.Namespace) -> None:
        self.cpu_n = args.size
        self.io_s = args.io_ms / 1000.0
        self.counts = {"/cpu": 0, "/io": 0}
        self.handler_errors = 0
        self.count_lock = threading.Lock()

    def count(self, path: str) -> None:
        with self.count_lock:
            self.counts[path] += 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.handler_errors += 1  # a client that went away mid-response; counted, not printed


class ThreadedServer(_Counting, ThreadingHTTPServer):
    daemon_threads = True  # a stuck handler must never hold up our exit


class SerialServer(_Counting, HTTPServer):
    pass


def _server_main(
    sock: socket.socket, index: int, args: argparse.Namespace, messages: Any, stop: Any, parent_pid: int
) -> None:
    """One server process of the process executor: serves the shared socket until `stop`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto.apply_switch_interval(args)
    halt = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: halt.set())
    # the short accept timeout turns "another process took the connection" into a harmless OSError
    sock.settimeout(POLL_S)
    server = SerialServer((HOST, 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.setup_counting(args)

    def watch() -> None:
        while not (halt.is_set() or stop.is_set()):
            if os.getppid() != parent_pid:
                os._exit(proto.EXIT_FAILED)
            time.sleep(proto.WATCHDOG_INTERVAL_S)
        server.shutdown()

    threading.Thread(target=watch, name="server-watchdog", daemon=True).start()
    messages.put(("ready", "server", index))
    cpu0 = time.process_time()
    server.serve_forever(poll_interval=POLL_S)
    messages.put(
        ("server_done", index, dict(server.counts), server.handler_errors, time.process_time() - cpu0)
    )


# --------------------------------------------------------------------------- load generator


def _client(
    i: int,
    args: argparse.Namespace,
    port: int,
    t_go: float,
    halt: threading.Event,
    messages: Any,
    out: list[Any],
    origin_ns: int,
) -> None:
    """One client connection slot: request after request until the deadline, the budget or a stop.

    Its timeline: each request (connect, send, wait for and read the answer) is a blocked span.
    """
    paths = {"both": ["/cpu", "/io"], "cpu": ["/cpu"], "io": ["/io"]}[args.endpoints]
    expected = {"/cpu": str(squares_below(args.size)).encode(), "/io": b"ok"}
    budget = max(1, args.max_requests // args.threads)
    deadline = t_go + args.duration
    total_ms = int(args.duration * 1000)
    stats: dict[str, Any] = {p: {"requests": 0, "bad": 0, "latencies": []} for p in paths}
    sent = 0
    last_report = 0.0
    cpu0 = proto.thread_cpu()
    timer = None
    if proto.timeline_enabled():
        timer = proto.SliceTimer(i, origin_ns, lambda w, on, off: messages.put(("slices", w, on, off)))
    while sent < budget and not halt.is_set():
        now = time.monotonic()
        if now >= deadline:
            break
        path = paths[(sent + i) % len(paths)]
        sent += 1
        t0 = time.perf_counter()
        began = timer.block() if timer is not None else 0
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT_S)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                good = resp.status == 200 and resp.read() == expected[path]
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            good = False
        if timer is not None:
            timer.unblock(began)
        entry = stats[path]
        if good:
            entry["requests"] += 1
            entry["latencies"].append(time.perf_counter() - t0)
        else:
            entry["bad"] += 1
        if now - last_report >= proto.PROGRESS_INTERVAL_S:
            last_report = now
            messages.put(("progress", i, min(total_ms, int((now - t_go) * 1000)), total_ms))
    end = time.monotonic()
    cpu1 = proto.thread_cpu()
    if timer is not None:
        timer.close()
    messages.put(("progress", i, total_ms, total_ms))
    done = sum(s["requests"] for s in stats.values())
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    messages.put(("client_done", i, end, cpu, done))
    out[i] = stats


def _percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _loadgen_main(
    port: int, args: argparse.Namespace, messages: Any, go: Any, stop: Any, parent_pid: int, origin_ns: int
) -> None:
    """The load generator process: --threads client threads released together by `go`.

    Its clients time themselves from the parent's origin_ns, so their slices are in the run's clock.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    proto.apply_switch_interval(args)
    halt = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: halt.set())

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(proto.EXIT_FAILED)
            if stop.is_set():
                halt.set()
            time.sleep(proto.WATCHDOG_INTERVAL_S)

    threading.Thread(target=watch, name="loadgen-watchdog", daemon=True).start()
    try:
        messages.put(("ready", "loadgen", 0))
        while not go.wait(POLL_S):
            if halt.is_set():
                return
        t_go = time.monotonic()
        cpu0 = time.process_time()
        out: list[Any] = [None] * args.threads
        clients = [
            threading.Thread(
                target=_client, args=(i, args, port, t_go, halt, messages, out, origin_ns), daemon=True
            )
            for i in range(args.threads)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        endpoints: dict[str, Any] = {}
        for stats in out:
            for path, s in (stats or {}).items():
                agg = endpoints.setdefault(path, {"requests": 0, "bad": 0, "latencies": []})
                agg["requests"] += s["requests"]
                agg["bad"] += s["bad"]
                agg["latencies"].extend(s["latencies"])
        summary = {}
        for path, agg in endpoints.items():
            lat = sorted(agg.pop("latencies"))
            agg["mean_ms"] = 1000 * sum(lat) / len(lat) if lat else None
            p50, p99 = _percentile(lat, 0.5), _percentile(lat, 0.99)
            agg["p50_ms"] = None if p50 is None else 1000 * p50
            agg["p99_ms"] = None if p99 is None else 1000 * p99
            summary[path.strip("/")] = agg
        messages.put(("loadgen_done", 0, summary, time.process_time() - cpu0, halt.is_set()))
    except BaseException:
        messages.put(("error", "loadgen", traceback.format_exc()))


# --------------------------------------------------------------------------- orchestration


class _Failed(Exception):
    pass


def _wait_ready(run: proto.Run, messages: Any, who: str, count: int, procs: list[Any]) -> None:
    """Wait until `count` children of kind `who` reported ready (or the run stops, or one fails)."""
    seen = 0
    deadline = time.monotonic() + 30.0
    while seen < count:
        if run.stop.is_set():
            return
        if time.monotonic() > deadline or any(p.exitcode is not None for p in procs):
            raise _Failed(f"{who} process(es) did not start")
        try:
            msg = messages.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if msg[0] == "ready" and msg[1] == who:
            seen += 1
        elif msg[0] == "error":
            raise _Failed(f"{msg[1]} failed:\n{msg[2]}")


def execute(run: proto.Run, args: argparse.Namespace) -> int:
    run.start_line(dict(vars(args)), "none", proto.timeline_info(1, "requests"))
    mp = proto.spawn_context()
    messages, go, stop = mp.Queue(), mp.Event(), mp.Event()
    server: ThreadedServer | None = None
    servers: list[Any] = []
    if args.executor == "thread":
        server = ThreadedServer((HOST, 0), Handler)
        server.setup_counting(args)
        port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True).start()
    else:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        for i in range(args.threads):
            p = mp.Process(
                target=_server_main, args=(listener, i, args, messages, stop, os.getpid()), daemon=True
            )
            run.children.append(p)
            p.start()
            servers.append(p)
        listener.close()  # the children hold their own copies
        _wait_ready(run, messages, "server", args.threads, servers)
    loadgen = mp.Process(
        target=_loadgen_main, args=(port, args, messages, go, stop, os.getpid(), proto.START_NS), daemon=True
    )
    run.children.append(loadgen)
    loadgen.start()
    _wait_ready(run, messages, "loadgen", 1, [loadgen])

    t0 = time.monotonic()
    cpu0 = proto.own_cpu()
    ready_s = t0 - proto.START
    go.set()
    ends: dict[int, float] = {}
    server_done: dict[int, Any] = {}
    child_cpu = 0.0
    load: dict[str, Any] | None = None
    deadline = t0 + args.duration + 10.0
    abort_deadline: float | None = None
    while load is None:
        if run.stop.is_set():
            if abort_deadline is None:
                stop.set()
                abort_deadline = time.monotonic() + proto.ABORT_GRACE_S
            elif time.monotonic() > abort_deadline:
                break
        if time.monotonic() > deadline:
            raise _Failed("the load generator did not finish in time")
        try:
            msg = messages.get(timeout=POLL_S)
        except queue.Empty:
            if loadgen.exitcode is not None and load is None and not run.stop.is_set():
                raise _Failed(f"the load generator exited with code {loadgen.exitcode}") from None
            continue
        kind = msg[0]
        if kind == "progress":
            run.emitter.emit("progress", worker=msg[1], done=msg[2], total=msg[3])
        elif kind == "slices":
            run.emit_slices(msg[1], msg[2], msg[3])
        elif kind == "client_done":
            ends[msg[1]] = msg[2]
            if not run.stop.is_set():
                run.emitter.emit(
                    "worker_done", worker=msg[1], duration_s=msg[2] - t0, cpu_s=msg[3], result=msg[4]
                )
        elif kind == "loadgen_done":
            load = msg[2]
            child_cpu += msg[3]
        elif kind == "server_done":  # a server may stop (on abort) before the load generator reports
            server_done[msg[1]] = msg
        elif kind == "error":
            raise _Failed(f"{msg[1]} failed:\n{msg[2]}")
    end = max(ends.values()) if ends and not run.aborted else time.monotonic()
    wall = max(0.0, end - t0)
    loadgen_cpu = child_cpu

    # shut the server(s) down and collect what they counted
    server_counts = {"/cpu": 0, "/io": 0}
    server_cpu = 0.0
    stop.set()
    if server is not None:
        server.shutdown()
        server.server_close()
        server_counts = dict(server.counts)
    else:
        until = time.monotonic() + 1.0
        while len(server_done) < len(servers) and time.monotonic() < until:
            try:
                msg = messages.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if msg[0] == "server_done":
                server_done[msg[1]] = msg
        for msg in server_done.values():
            for path, c in msg[2].items():
                server_counts[path] += c
            server_cpu += msg[4]
    run.kill_children(grace_s=0.3)
    own = proto.own_cpu() - cpu0
    cpu_s = own + loadgen_cpu + server_cpu
    if server is not None:
        server_cpu = own  # the server threads are this process

    if run.aborted or load is None:
        return proto.finish(run, wall, cpu_s, proto.Outcome(None, None, False), ready_s)
    bad = sum(e["bad"] for e in load.values())
    completed = sum(e["requests"] for e in load.values())
    metrics: dict[str, Any] = {
        "requests": completed,
        "requests_per_s": completed / wall if wall > 0 else None,
        "endpoints": {
            name: dict(e, requests_per_s=e["requests"] / wall if wall > 0 else None)
            for name, e in load.items()
        },
        "served": {k.strip("/"): v for k, v in server_counts.items()},
        "server_cpu_s": server_cpu,
        "loadgen_cpu_s": loadgen_cpu,
        "port": port,
    }
    ok = bad == 0 and completed >= 1 and all(e["requests"] >= 1 for e in load.values())
    return proto.finish(run, wall, cpu_s, proto.Outcome(bad, 0, ok, metrics), ready_s)


def main() -> int:
    wl = proto.Workload(
        name="http_server",
        description=__doc__.splitlines()[0],
        scaling="none",
        size_help="loop length of one /cpu request (sum of squares below size)",
        default_size=20_000,
        work=lambda *a: None,
        combine=lambda *a: proto.Outcome(None, None, False),
        add_arguments=add_arguments,
        check=check,
    )
    run = proto.Run(wl.name)
    try:
        args = wl.parse(None)
    except proto.UsageError as exc:
        run.emitter.error(f"{wl.name}: {exc}")
        return proto.EXIT_USAGE
    try:
        run.install()
        proto.apply_switch_interval(args)
        return execute(run, args)
    except _Failed as exc:
        run.emitter.error(str(exc).splitlines()[0], str(exc))
        return proto.EXIT_FAILED
    except BaseException as exc:
        run.emitter.error(f"http_server: {type(exc).__name__}: {exc}", traceback.format_exc())
        return proto.EXIT_FAILED
    finally:
        run.stop.set()
        run.kill_children(grace_s=0.2)
        run.run_cleanups()


if __name__ == "__main__":
    raise SystemExit(main())
