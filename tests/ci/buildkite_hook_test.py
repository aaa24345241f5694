"""The Buildkite agent `command` hook (packaging/buildkite/hooks/command), run
for real with the built binary, the way the agent runs a hook.

The agent copies the hook's #! line into a wrapper script that dumps the
environment, sources the hook, records $? and dumps the environment again, and
runs that wrapper in a session of its own with the job's BUILDKITE_* variables;
without a command hook it would run `$BUILDKITE_SHELL "$BUILDKITE_COMMAND"`
(default shell `/bin/bash -e -c`), or `./file` when the command names a file
of the checkout. Cancellation is SIGTERM to the job's process group.
"""

import os
import pty
import select
import signal
import time
import unittest
from pathlib import Path

from ci_support import (BINARY, FLAKY_COMMAND, HANG_LIMIT, SOURCE_DIR, TEST_POLICY, TREE_COMMAND, CiTestCase,
                        cancel_tree, clean_env, fresh_dir, plain, run)

HOOK = SOURCE_DIR / "packaging" / "buildkite" / "hooks" / "command"

WRAPPER = """{shebang}
env -0 > {before}
. {hook}
export BUILDKITE_HOOK_EXIT_STATUS=$?
export BUILDKITE_HOOK_WORKING_DIR="${{PWD}}"
env -0 > {after}
exit $BUILDKITE_HOOK_EXIT_STATUS
"""



def agent_group_alive(pgid):
    """True while a process of the group lives (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except OSError:
            continue
        if int(group) == pgid and state != "Z":
            return True
    return False


class BuildkiteHookTest(CiTestCase):
    def setUp(self):
        super().setUp()
        self.dir = fresh_dir("buildkite/" + self.id().rsplit(".", 1)[1])
        self.checkout = self.dir / "checkout"
        self.checkout.mkdir()
        (self.checkout / ".jobwarden.yml").write_text(TEST_POLICY)
        self.wrapper = self.dir / "hook-script-wrapper"
        shebang = HOOK.read_text().splitlines()[0]
        self.wrapper.write_text(WRAPPER.format(shebang=shebang, hook=HOOK, before=self.dir / "before",
                                               after=self.dir / "after"))
        self.wrapper.chmod(0o700)

    def env(self, command, **extra):
        values = dict(BUILDKITE="true", BUILDKITE_COMMAND=command, BUILDKITE_JOB_ID="0190-job",
                      BUILDKITE_LABEL=":test_tube: unit tests", BUILDKITE_STEP_KEY="unit",
                      BUILDKITE_SHELL="/bin/bash -e -c", BUILDKITE_COMMAND_EVAL="true",
                      JOBWARDEN_BINARY=BINARY)
        values.update(extra)
        return clean_env(**values)

    def hook(self, command, **extra):
        return run([str(self.wrapper)], self.env(command, **extra), self.checkout)

    def agent(self, command, **extra):
        """What the agent itself would run without the hook."""
        return run(["/bin/bash", "-e", "-c", command], self.env(command, **extra), self.checkout)

    def step_output(self, log):
        """The step's own lines: the log without jobwarden's lines and group markers."""
        return [line for line in log.splitlines() if not line.startswith(("jobwarden: ", "--- ", "^^^ "))]

    def test_exit_codes_pass_through(self):
        for code in (0, 1, 2, 3, 64, 124, 127, 255):
            with self.subTest(code=code):
                r = self.hook(f"echo before; exit {code}")
                self.assertEqual(r.returncode, code, r.stdout)
                self.assertIn("before", r.stdout)
                self.assertIn("jobwarden: verdict: ", r.stdout)

    def test_annotation_through_buildkite_agent(self):
        """With buildkite-agent on PATH (here a stand-in that records its
        arguments and the body on stdin), the verdict becomes an annotation."""
        bin_dir = self.dir / "agent-bin"
        bin_dir.mkdir()
        agent = bin_dir / "buildkite-agent"
        agent.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {self.dir}/annotate.args\ncat > {self.dir}/annotate.body\n")
        agent.chmod(0o755)
        env_path = f"{bin_dir}:{clean_env()['PATH']}"
        r = self.hook("echo failing; exit 3", PATH=env_path)
        self.assertEqual(r.returncode, 3, r.stdout)
        args = (self.dir / "annotate.args").read_text().split("\n")
        self.assertEqual(args[:5], ["annotate", "--style", "error", "--context", "jobwarden-unit"], args)
        self.assertIn("| attempt | outcome |", (self.dir / "annotate.body").read_text())
        r = self.hook("true", PATH=env_path)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("success", (self.dir / "annotate.args").read_text().split("\n"))

    def test_exit_125_is_never_passed_on(self):
        r = self.hook("exit 125")
        self.assertEqual(r.returncode, 1, r.stdout)
        # jobwarden --ci buildkite maps the step's 125 itself (and says so);
        # the hook's own mapping stays for a 125 of jobwarden's.
        self.assertIn("exit code 1 (the step's 125 would read as -1, agent lost, in Buildkite)", r.stdout)

    def test_unstable_and_system_failure_codes(self):
        r = self.hook(FLAKY_COMMAND)
        self.assertEqual(r.returncode, 79, r.stdout)  # soft_fail: [{exit_status: 79}]
        r = self.hook("exit 42")
        self.assertEqual(r.returncode, 75, r.stdout)  # retry: automatic: [{exit_status: 75}]

    def test_command_runs_as_the_agent_runs_it(self):
        commands = [
            "echo \"it's\" '$HOME' `echo backtick` $((6 * 7)) \"$BUILDKITE_STEP_KEY\"",
            "printf '%s|' a\\ b \"c  d\" 'e\nf'; echo",
            "x=1\nif [ $x = 1 ]; then\n  echo multi-line\nfi\ncat <<'END'\n$not_expanded `neither`\nEND",
            "false\necho 'not reached: the job shell has -e'",
            "echo $0 \"$@\"; set -o | grep -E '^errexit'",
            "--version",
            "echo \"'; exit 0; '\" && exit 3",
        ]
        for command in commands:
            with self.subTest(command=command):
                expected = self.agent(command)
                actual = self.hook(command)
                self.assertEqual(actual.returncode, expected.returncode, actual.stdout)
                self.assertEqual(self.step_output(actual.stdout), expected.stdout.splitlines())

    def test_job_shell_from_buildkite_shell(self):
        r = self.hook("echo $0; set -o | grep -E '^(errexit|xtrace) '", BUILDKITE_SHELL="/bin/sh -e -x -c")
        self.assertEqual(r.returncode, 0, r.stdout)
        # The trace goes to stderr, the rest to stdout: check each, not their interleaving.
        self.assertRegex(r.stdout, r"(?m)^xtrace +on$")
        self.assertRegex(r.stdout, r"(?m)^errexit +on$")
        self.assertIn("/bin/sh\n", r.stdout)

    def test_script_path_runs_as_a_file(self):
        scripts = self.checkout / "ci"
        scripts.mkdir()
        (scripts / "test.sh").write_text("#!/bin/sh\necho \"script $0 ran\"\nexit 4\n")  # not executable
        r = self.hook("ci/test.sh")
        self.assertEqual(r.returncode, 4, r.stdout)
        self.assertIn("script ./ci/test.sh ran", r.stdout)
        self.assertTrue(os.access(scripts / "test.sh", os.X_OK))

    def test_no_command_eval_refuses_commands_and_outside_scripts(self):
        r = self.hook("touch evaluated", BUILDKITE_COMMAND_EVAL="false")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("does not evaluate commands", r.stdout)
        self.assertFalse((self.checkout / "evaluated").exists())
        outside = self.dir / "outside.sh"
        outside.write_text("#!/bin/sh\ntouch evaluated\n")
        outside.chmod(0o755)
        (self.checkout / "link.sh").symlink_to(outside)
        r = self.hook("link.sh", BUILDKITE_COMMAND_EVAL="false")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("only runs scripts inside the checkout", r.stdout)
        self.assertFalse((self.checkout / "evaluated").exists())
        (self.checkout / "inside.sh").write_text("#!/bin/sh\necho inside\n")
        (self.checkout / "inside.sh").chmod(0o755)
        r = self.hook("inside.sh", BUILDKITE_COMMAND_EVAL="false")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("inside", r.stdout)

    def test_empty_command(self):
        r = self.hook(" \n ")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("jobwarden hook: the step has no command to run", r.stdout)

    def test_step_name_key_label_override(self):
        r = self.hook("true")
        self.assertIn("jobwarden: step 'unit' attempt 1", r.stdout)
        self.assertIn("--- ", r.stdout)  # Buildkite log group per attempt
        r = self.hook("true", BUILDKITE_STEP_KEY="")
        self.assertIn("jobwarden: step ':test_tube: unit tests' attempt 1", r.stdout)
        r = self.hook("true", JOBWARDEN_STEP="$(touch pwned) 'x'")
        self.assertIn("jobwarden: step '$(touch pwned) 'x'' attempt 1", r.stdout)
        self.assertFalse((self.checkout / "pwned").exists())

    def test_hook_leaves_the_environment_alone(self):
        r = self.hook("true")
        self.assertEqual(r.returncode, 0, r.stdout)
        before = set((self.dir / "before").read_bytes().split(b"\0"))
        after = set((self.dir / "after").read_bytes().split(b"\0"))
        ignored = (b"BUILDKITE_HOOK_EXIT_STATUS=", b"BUILDKITE_HOOK_WORKING_DIR=", b"_=")
        self.assertEqual({v for v in after - before if not v.startswith(ignored)}, set())

    def test_missing_binary_is_127_not_125(self):
        r = self.hook("true", JOBWARDEN_BINARY=str(self.dir / "no-such-jobwarden"))
        self.assertEqual(r.returncode, 127, r.stdout)

    def test_in_a_pty_like_the_agent_default(self):
        """The agent runs jobs in a PTY by default (the wrapper leads a session
        whose controlling terminal it is). The step gets /dev/null as stdin, so a
        read cannot stop it (SIGTTIN) or hang; its output still reaches the PTY."""
        command = "if read -r line; then echo \"read: $line\"; else echo 'stdin: end of file'; fi; exit 5"
        pid, fd = pty.fork()
        if pid == 0:  # the child: session leader with the PTY as its terminal
            try:
                os.chdir(self.checkout)
                os.execve(str(self.wrapper), [str(self.wrapper)], self.env(command))
            finally:
                os._exit(127)
        out = b""
        deadline = time.monotonic() + HANG_LIMIT
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 1.0)
                if not ready:
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: every writer of the PTY is gone
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(fd)
        finished, status = os.waitpid(pid, os.WNOHANG)
        while not finished and time.monotonic() < deadline:  # the PTY closes a moment before the exit
            time.sleep(0.05)
            finished, status = os.waitpid(pid, os.WNOHANG)
        if not finished:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail(f"the hook did not finish in a PTY; output: {out!r}")
        text = plain(out.decode(errors="replace"))
        self.assertEqual(os.waitstatus_to_exitcode(status), 5, text)
        self.assertIn("stdin: end of file", text)
        self.assertIn("jobwarden: verdict: fail", text)

    def test_cancel_kills_the_whole_tree(self):
        def agent_cancel(proc):
            os.killpg(proc.pid, signal.SIGTERM)  # the agent's cancel: its signal to the job's group
        rest = cancel_tree(self, [str(self.wrapper)], self.env(TREE_COMMAND), self.checkout, agent_cancel)
        self.assertIn("jobwarden: verdict: fail", rest)

    def test_the_agents_whole_cancel_sequence_leaves_nothing(self):
        """The agent's escalation on the job's process group: SIGTERM, then
        SIGKILL after its cancel grace (BUILDKITE_CANCEL_SIGNAL_TIMEOUT, 10 s by
        default). jobwarden must be done before that SIGKILL (which would orphan
        the step's session), the TERM-ignoring member included."""
        def agent_sequence(proc):
            os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10.0
            while time.monotonic() < deadline and agent_group_alive(proc.pid):
                time.sleep(0.05)
            if agent_group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
        cancel_tree(self, [str(self.wrapper)], self.env(TREE_COMMAND, BUILDKITE_CANCEL_SIGNAL_TIMEOUT="10s"),
                    self.checkout, agent_sequence)


if __name__ == "__main__":
    unittest.main(verbosity=2)
