"""Python peer of bench_metrics.c: the same work with prometheus_client.

Run with Debian's /usr/bin/python3 and python3-prometheus-client (0.16)
in multiprocess mode, the way a prefork Python service would export
metrics.  Prints one "name value" line per measurement, in nanoseconds:

    counter_inc_ns_1p, counter_inc_ns_2p     Counter.inc() per call
    hist_observe_ns_1p, hist_observe_ns_2p   Histogram.observe() per call
    render_1000_ns                           MultiProcessCollector +
                                             generate_latest, 1,000 series

With two processes the figure is the mean of each process's own time per
call while both run at once.
"""

import os
import shutil
import sys
import tempfile
import time

COUNTER_OPS = 200000
OBSERVE_OPS = 100000
RENDER_STEPS = 200
RENDER_STATUSES = ("STARTED", "IN_PROGRESS", "COMPLETED", "FAILED",
                   "COMPENSATING")
RENDER_ROUNDS = 20
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
           2.5, 5, 10)

# The client reads the directory when a metric is created.
WORKDIR = tempfile.mkdtemp(prefix="bench-metrics-py-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = WORKDIR

from prometheus_client import (CollectorRegistry, Counter,  # noqa: E402
                               Histogram, generate_latest)
from prometheus_client.multiprocess import \
    MultiProcessCollector  # noqa: E402


def clear_dir():
    for name in os.listdir(WORKDIR):
        os.unlink(os.path.join(WORKDIR, name))


def values(n):
    """Latencies spread over the buckets, as in the C benchmark."""
    return [BUCKETS[i % len(BUCKETS)] * 0.9 for i in range(n)]


def run_counter(ops):
    c = Counter("bench_counter", "bench", registry=None)
    inc = c.inc
    start = time.perf_counter_ns()
    for _ in range(ops):
        inc()
    return (time.perf_counter_ns() - start) / ops


def run_observe(ops):
    h = Histogram("bench_hist", "bench", buckets=BUCKETS, registry=None)
    obs = h.observe
    vals = values(64)
    start = time.perf_counter_ns()
    for i in range(ops):
        obs(vals[i & 63])
    return (time.perf_counter_ns() - start) / ops


def in_processes(nproc, work, ops):
    """Run work(ops) in nproc forked children started together."""
    go_r, go_w = os.pipe()
    res_r, res_w = os.pipe()
    pids = []
    for _ in range(nproc):
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.read(go_r, 1)
            ns = work(ops)
            os.write(res_w, ("%f\n" % ns).encode())
            os._exit(0)
        pids.append(pid)
    os.close(go_r)
    os.close(go_w)
    os.close(res_w)
    for pid in pids:
        os.waitpid(pid, 0)
    with os.fdopen(res_r) as f:
        results = [float(line) for line in f]
    clear_dir()
    return sum(results) / len(results)


def run_render():
    c = Counter("saga_events_processed", "Saga events applied.",
                ["step", "status"], registry=None)
    for i in range(RENDER_STEPS):
        for status in RENDER_STATUSES:
            c.labels("STEP_%03d" % i, status).inc()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    text = generate_latest(registry)
    assert text.count(b"saga_events_processed_total{") == \
        RENDER_STEPS * len(RENDER_STATUSES)
    best = None
    for _ in range(RENDER_ROUNDS):
        start = time.perf_counter_ns()
        generate_latest(registry)
        ns = time.perf_counter_ns() - start
        best = ns if best is None or ns < best else best
    return best


def main():
    try:
        for nproc in (1, 2):
            print("counter_inc_ns_%dp %.1f" %
                  (nproc, in_processes(nproc, run_counter, COUNTER_OPS)))
            print("hist_observe_ns_%dp %.1f" %
                  (nproc, in_processes(nproc, run_observe, OBSERVE_OPS)))
        print("render_1000_ns %.0f" % run_render())
    finally:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
