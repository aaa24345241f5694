"""Shared helpers of the CI-integration tests (tests/ci/*_test.py).

ctest passes the built binary in JW_TEST_BINARY and a scratch directory in
JW_TEST_WORK. Every child runs with a clean environment (no JOBWARDEN_* or CI
variables of the machine running the tests), and every wait has a generous
deadline that only detects hangs.
"""

import os
import re
import select
import shutil
import signal
import subprocess
import time
import unittest
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("JW_TEST_BINARY", "")
WORK = Path(os.environ.get("JW_TEST_WORK", "/tmp/jobwarden-ci-tests"))
HANG_LIMIT = 120.0  # seconds; only catches hangs

# Exit 9 is a flake (retried; a pass after it is unstable, 79); exit 42 is the
# host's fault (system failure, 75).
TEST_POLICY = """version: 1
defaults: {backoff: {initial: 10ms, max: 10ms, jitter: 0}}
rules:
  - name: flaky
    when: {outcome: red, exit_codes: [9]}
    retry: 2
    then: fail
  - name: host
    when: {outcome: red, exit_codes: [42]}
    then: system_failure
flaky: unstable
"""
FLAKY_COMMAND = "if [ -e marker ]; then echo second; else touch marker; exit 9; fi"

# A step that leaves a background child, a setsid daemon and a child that
# ignores SIGTERM, prints their pids, then a line that is not in its own
# command line (jobwarden echoes that).
TREE_COMMAND = ("sleep 300 & echo \"bg $!\"; setsid sleep 301 & echo \"daemon $!\"; "
                "(trap '' TERM; exec sleep 302) & echo \"stubborn $!\"; "
                "echo \"set-$((6 * 7))-up\"; wait")
TREE_MEMBERS = {"bg": "sleep 300", "daemon": "sleep 301", "stubborn": "sleep 302"}


ANSI_SEQUENCE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def plain(text):
    """The text without ANSI colour sequences (CI logs render them; tests read words)."""
    return ANSI_SEQUENCE.sub("", text)


def clean_env(**extra):
    """PATH, HOME and a UTF-8 locale, plus `extra`; nothing else leaks in."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


def fresh_dir(name):
    path = WORK / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def run(argv, env, cwd, timeout=HANG_LIMIT):
    """Runs to completion in a session of its own; stdout+stderr merged, as CI logs are,
    colour sequences removed."""
    r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, start_new_session=True, text=True, errors="replace")
    r.stdout = plain(r.stdout)
    return r


def read_until(proc, needle, limit=HANG_LIMIT):
    """Reads proc.stdout (bytes) until `needle` appears; returns what was read."""
    seen = b""
    deadline = time.monotonic() + limit
    while needle.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {needle!r} within {limit}s; output: {seen!r}")
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"EOF before {needle!r}; output: {seen!r}")
            seen += chunk
    return seen.decode(errors="replace")


def alive(pid, cmdline_part):
    """True while pid exists and is still the process we started (not a reused pid, not a zombie)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return cmdline_part in cmdline and state != "Z"


def eventually(predicate, what, limit=HANG_LIMIT):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {limit}s: {what}")
        time.sleep(0.05)


class CiTestCase(unittest.TestCase):
    def setUp(self):
        if not BINARY or not os.access(BINARY, os.X_OK):
            self.fail(f"JW_TEST_BINARY is not an executable: {BINARY!r}")


def cancel_tree(test, argv, env, cwd, cancel):
    """Starts argv (running TREE_COMMAND) in a session of its own, calls
    cancel(proc) once the tree is up, reads the log to EOF (jobwarden has
    exited), and checks the exit is not 0 and that every member of the tree is
    gone. Returns the log after the cancel, colour sequences removed. Whatever
    the outcome, nothing it started is left running."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    pids = {}
    try:
        log = read_until(proc, "set-42-up")
        pids = {line.split()[0]: int(line.split()[1]) for line in log.splitlines()
                if line.split(" ", 1)[0] in TREE_MEMBERS}
        for role, cmdline in TREE_MEMBERS.items():  # forked at once, exec'd a moment later
            eventually(lambda: alive(pids[role], cmdline), f"{role} ({cmdline}) up: {log}")
        cancel(proc)
        rest = proc.stdout.read().decode(errors="replace")
        proc.wait(timeout=HANG_LIMIT)
        test.assertNotEqual(proc.returncode, 0, log + rest)
        for role, cmdline in TREE_MEMBERS.items():
            eventually(lambda: not alive(pids[role], cmdline), f"{role} ({cmdline}) gone")
        return plain(rest)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        for role, pid in pids.items():
            if alive(pid, TREE_MEMBERS[role]):
                os.kill(pid, signal.SIGKILL)
