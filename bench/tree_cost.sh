#!/usr/bin/env bash
# What a large tree costs jobwarden, in a cgroup leaf (run as root):
#   6. jobwarden's own CPU while it supervises 1000 sleeping processes for 10 s
#      (perf stat --no-inherit -p: its task-clock only, not the step's), beside
#      the host's floor for it: a process that only wakes as often as
#      jobwarden samples (jw-tree-helper tick 250), measured the same way;
#   7. grace end -> empty tree: 1000 processes ignoring SIGTERM, every 4th in a
#      session of its own (jw-tree-helper --ignore-term wide 1000), grace 1 s.
#      From the report: total_seconds - (the SIGTERM's at_seconds + grace).
#      Beside it, the kernel's floor: the same tree in a fresh leaf of our own
#      cgroup, cgroup.kill written, until cgroup.events says "populated 0"
#      (woken by POLLPRI; the orphans go to init, which reaps them): what the
#      kill takes with no jobwarden at all. jobwarden's overhead is the
#      difference.
# Both are run as they are, and once more under SCHED_FIFO (chrt -f 20: the
# step and jobwarden ahead of every ordinary task, which shields the figure
# from the rest of a shared host's load; the real product runs under CFS).
# Usage: bench/tree_cost.sh [JOBWARDEN TREE_HELPER] (default: build-bench/).
# Called by bench/run.sh; writes its table under bench/out/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
JW=${1:-$PWD/build-bench/jobwarden}
HELPER=${2:-$PWD/build-bench/tests/jw-tree-helper}
OUT=bench/out
mkdir -p "$OUT"

python3 - "$JW" "$HELPER" <<'PY' | tee "$OUT/tree_cost.md"
import json, os, select, signal, statistics, subprocess, sys, tempfile, time
jw, helper = sys.argv[1], sys.argv[2]

def load():
    return open("/proc/loadavg").read().split()[0]

def wait_for_line(proc, text, limit=120):
    buf, end = b"", time.monotonic() + limit
    while text.encode() not in buf:
        if time.monotonic() > end or proc.poll() is not None:
            raise SystemExit(f"no '{text}' from the step")
        if select.select([proc.stdout], [], [], 1)[0]:
            buf += os.read(proc.stdout.fileno(), 65536)

def task_clock_ms_per_s(pid):
    r = subprocess.run(["perf", "stat", "--no-inherit", "-x,", "-e", "task-clock", "-p", str(pid),
                        "--", "sleep", "10"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return next(float(l.split(",")[0]) for l in r.stderr.splitlines() if "task-clock" in l) / 10.0

def wake_floor(prefix):
    """The task-clock of a process that only wakes every 250 ms (jobwarden's window), in ms per second."""
    p = subprocess.Popen(prefix + [helper, "tick", "250"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        wait_for_line(p, "ticker")
        return task_clock_ms_per_s(p.pid)
    finally:
        p.kill()
        p.wait()

def supervision_cpu(prefix):
    """jobwarden's task-clock over 10 s beside 1000 sleeping processes, in ms per second."""
    p = subprocess.Popen(prefix + [jw, "run", "--quiet", "--ci", "generic", "--timeout", "60s", "--grace", "1s", "--",
                                   helper, "wide", "1000"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        wait_for_line(p, "all-ready 1000")
        return task_clock_ms_per_s(p.pid)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait()

def grace_end_to_empty(prefix):
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "r.json")
        r = subprocess.run(prefix + [jw, "run", "--ci", "generic", "--timeout", "3s", "--grace", "1s",
                                     "--report", report, "--", helper, "--ignore-term", "wide", "1000"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert "all-ready 1000" in r.stdout, "tree not complete before the deadline"
        a = json.load(open(report))["attempts"][0]
        term = a["signals_sent"][0]
        assert term["signal"] == "SIGTERM" and term["targets"] == 1001
        return (a["total_seconds"] - term["at_seconds"] - 1.0) * 1000.0

def v2_leaf_parent():
    mount = next(l.split()[4] for l in open("/proc/self/mountinfo") if l.split(" - ")[1].startswith("cgroup2 "))
    own = next(l.strip()[3:] for l in open("/proc/self/cgroup") if l.startswith("0::"))
    return mount + own.rstrip("/")

def kernel_floor(prefix):
    """The same tree in a fresh leaf: cgroup.kill written -> populated 0, in ms."""
    leaf = f"{v2_leaf_parent()}/jw-bench-floor-{os.getpid()}"
    os.mkdir(leaf)
    try:
        join = lambda: open(f"{leaf}/cgroup.procs", "w").write("0")
        p = subprocess.Popen(prefix + [helper, "--ignore-term", "wide", "1000"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, preexec_fn=join)
        wait_for_line(p, "all-ready 1000")
        events = os.open(f"{leaf}/cgroup.events", os.O_RDONLY)
        populated = lambda: b"populated 1" in os.pread(events, 256, 0)
        watch = select.poll()
        watch.register(events, select.POLLPRI)
        assert populated()
        if prefix:  # the waiter as the step: under SCHED_FIFO too
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(20))
        try:
            t0 = time.monotonic()
            with open(f"{leaf}/cgroup.kill", "w") as kill:
                kill.write("1")
            while populated():
                watch.poll(1000)
            t1 = time.monotonic()
        finally:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        os.close(events)
        p.wait()
        p.stdout.close()
        return (t1 - t0) * 1000.0
    finally:
        os.rmdir(leaf)

def row(figure, label, prefix, measure, runs, unit, digits):
    """One table row: `measure(prefix)` `runs` times, with the load average before."""
    before = load()
    got = [measure(prefix) for _ in range(runs)]
    print(f"| {figure} | {label} | {runs} | {statistics.median(got):.{digits}f} {unit} "
          f"| {min(got):.{digits}f} | {max(got):.{digits}f} | {before} |")

print(f"| figure | scheduling | runs | median | min | max | load average (1 min) before |")
print("|---|---|---|---|---|---|---|")
schedulings = [("as is (CFS)", []), ("SCHED_FIFO 20", ["chrt", "-f", "20"])]
for label, prefix in schedulings:
    row("own CPU, 1000 sleeping processes, 10 s", label, prefix, supervision_cpu, 3, "ms/s", 2)
    row("floor: a process waking every 250 ms, nothing else, 10 s", label, prefix, wake_floor, 3, "ms/s", 2)
for label, prefix in schedulings:
    row("grace end -> empty tree, 1001 processes", label, prefix, grace_end_to_empty, 10, "ms", 1)
    row("kernel floor: cgroup.kill -> populated 0, same tree, no jobwarden", label, prefix, kernel_floor, 10, "ms", 1)
PY
