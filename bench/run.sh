#!/usr/bin/env bash
# jobwarden benchmarks, side by side with GNU timeout and direct execution.
# Run as root on Debian 12: installs hyperfine, perf and python3 if missing,
# builds a Release jobwarden in build-bench/, prints every figure and writes
# them to bench/out/. Benchmarks never fail on a number; they record it.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-build-deps.sh hyperfine linux-perf python3
packaging/build.sh build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
JW=$PWD/build-bench/jobwarden
HELPER=$PWD/build-bench/tests/jw-tree-helper
OUT=bench/out
mkdir -p "$OUT"

machine() {
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs online)"
  echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- jobwarden $("$JW" --version | awk '{print $2}') (Release build), GNU timeout $(timeout --version | head -1 | awk '{print $NF}')"
}

echo "## Machine"; machine | tee "$OUT/machine.md"

echo "## 1. Start-up: supervising \`true\`"
# The last row without the per-attempt cgroup (features.cgroup: off): what
# creating, joining and removing the leaf costs on this host.
printf 'version: 1\nfeatures: {cgroup: off}\n' >"$OUT/admin-no-cgroup.yaml"
hyperfine -N --warmup 20 --runs 300 --export-markdown "$OUT/startup.md" \
  'true' 'timeout 60 true' "$JW --version" "$JW run --quiet --ci generic -- true" \
  "$JW run --quiet --ci generic --admin-config $OUT/admin-no-cgroup.yaml -- true" >/dev/null
cat "$OUT/startup.md"

echo "## 2. Throughput: 1 GiB through the step to /dev/null"
# hyperfine sends the measured command's stdout to /dev/null.
hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/throughput.md" \
  'dd if=/dev/zero bs=1M count=1024 status=none' \
  'timeout 60 dd if=/dev/zero bs=1M count=1024 status=none' \
  'dd if=/dev/zero bs=1M count=1024 status=none | cat' \
  "$JW run --quiet --ci generic -- dd if=/dev/zero bs=1M count=1024 status=none" \
  'head -c 1073741824 /dev/zero' \
  'head -c 1073741824 /dev/zero | cat' \
  "$JW run --quiet --ci generic -- head -c 1073741824 /dev/zero" \
  "sh -c '$JW run --quiet --ci generic -- head -c 1073741824 /dev/zero >/dev/null 2>&1'" >/dev/null
cat "$OUT/throughput.md"  # the last row: stdout and stderr one description, so one pipe for the step

echo "## 3. Supervision CPU: the supervisor's own CPU time while the step is \`sleep 10\`"
cpu_of() {  # task-clock of the named process only (--no-inherit: not its children)
  perf stat --no-inherit -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {printf "%.2f ms\n", $1}'
}
{
  echo "| supervisor | own CPU time |"
  echo "|---|---|"
  echo "| GNU timeout 60 sleep 10 | $(cpu_of timeout 60 sleep 10) |"
  echo "| jobwarden run -- sleep 10 | $(cpu_of "$JW" run --quiet --ci generic -- sleep 10) |"
} | tee "$OUT/supervision_cpu.md"

echo "## 4. Peak RSS of jobwarden while relaying 1 GiB"
python3 - "$JW" <<'PY' | tee "$OUT/rss.md"
import subprocess, sys, time
jw = sys.argv[1]
p = subprocess.Popen([jw, "run", "--quiet", "--ci", "generic", "--", "head", "-c", "1073741824", "/dev/zero"],
                     stdout=subprocess.DEVNULL)
hwm = 0
while p.poll() is None:
    try:
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.002)
print(f"| jobwarden peak RSS (VmHWM, sampled every 2 ms) | {hwm / 1024:.1f} MiB |")
PY

echo "## 5. Deadline to empty tree: 500 processes, every 4th in its own session"
python3 - "$JW" "$HELPER" <<'PY' | tee "$OUT/kill_tree.md"
import re, subprocess, sys, statistics
jw, helper = sys.argv[1], sys.argv[2]
def run(extra, grace):
    r = subprocess.run([jw, "run", "--ci", "generic", "--timeout", "2s", "--grace", grace, "--",
                        helper, *extra, "wide", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "all-ready 500" in r.stdout, "tree not complete before the deadline"
    m = re.search(r"(\d+) killed \(tree empty ([0-9.]+)s after the first signal\)", r.stderr)
    return int(m.group(1)), float(m.group(2))
print("| tree | processes killed | deadline -> empty tree (median of 5) |")
print("|---|---|---|")
for label, extra, grace, note in [("obeys SIGTERM", [], "10s", ""),
                                  ("ignores SIGTERM (grace 1s, then SIGKILL)", ["--ignore-term"], "1s", " (includes the 1 s grace)")]:
    runs = [run(extra, grace) for _ in range(5)]
    print(f"| {label} | {runs[0][0]} | {statistics.median(t for _, t in runs) * 1000:.1f} ms{note} |")
PY
survivors=$( (timeout 2s "$HELPER" wide 500 >/dev/null || true; pgrep -c -f "jw-tree-helper wide" || true) | tail -1)
echo "| GNU timeout 2s on the same tree | leaves $survivors setsid'd members running |" | tee -a "$OUT/kill_tree.md"
pkill -KILL -f "jw-tree-helper wide" || true

echo "## 6-7. A 1000-process tree in a cgroup leaf: supervision CPU, grace end -> empty tree"
bench/tree_cost.sh "$JW" "$HELPER"
