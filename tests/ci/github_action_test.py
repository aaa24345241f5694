"""The GitHub composite action (packaging/github/action.yml): its metadata is
parsed with a YAML parser and its one shell step runs for real, with the built
binary, the way the runner runs a `shell: bash` step: the script in a file,
`bash --noprofile --norc -e -o pipefail FILE`, the step's env: with the
inputs expressions evaluated, and GITHUB_* variables. A cancel is SIGINT to
that entry process only.
"""

import os
import re
import signal
import subprocess
import unittest

import yaml

from ci_support import (BINARY, FLAKY_COMMAND, SOURCE_DIR, TEST_POLICY, TREE_COMMAND, CiTestCase, cancel_tree,
                        clean_env, fresh_dir, run)

ACTION = SOURCE_DIR / "packaging" / "github" / "action.yml"
INPUT_EXPRESSION = re.compile(r"^\$\{\{ inputs\.([a-z_]+) \}\}$")



def load_action():
    with open(ACTION, encoding="utf-8") as f:
        return yaml.safe_load(f)


class ActionMetadataTest(unittest.TestCase):
    def test_inputs_and_composite_step(self):
        action = load_action()
        self.assertEqual(set(action["inputs"]), {"run", "step", "policy", "timeout"})
        self.assertTrue(action["inputs"]["run"]["required"])
        self.assertEqual(action["inputs"]["step"]["default"], "default")
        self.assertEqual(action["runs"]["using"], "composite")
        steps = action["runs"]["steps"]
        self.assertEqual(len(steps), 1)
        self.assertEqual(steps[0]["shell"], "bash")

    def test_inputs_reach_the_script_only_through_env(self):
        step = load_action()["runs"]["steps"][0]
        self.assertNotIn("${{", step["run"])  # no expression is pasted into the script text
        for name, value in step["env"].items():
            self.assertRegex(value, INPUT_EXPRESSION, name)

    def test_jobwarden_is_execed(self):
        lines = [line.strip() for line in load_action()["runs"]["steps"][0]["run"].splitlines() if line.strip()]
        self.assertTrue(lines[-1].startswith("exec jobwarden "), lines[-1])


class ActionRunTest(CiTestCase):
    def setUp(self):
        super().setUp()
        self.dir = fresh_dir("github/" + self.id().rsplit(".", 1)[1])
        self.workspace = self.dir / "workspace"
        self.workspace.mkdir()
        (self.dir / "bin").mkdir()
        (self.dir / "bin" / "jobwarden").symlink_to(BINARY)
        (self.workspace / "policy.yml").write_text(TEST_POLICY)
        self.step = load_action()["runs"]["steps"][0]
        self.script = self.dir / "step.sh"
        self.script.write_text(self.step["run"])
        self.summary = self.dir / "step_summary"
        self.summary.touch()

    def env(self, **inputs):
        """The step's environment: the runner's variables and the step's env: with inputs.* evaluated."""
        spec = load_action()["inputs"]
        values = {name: str(inputs.get(name, spec[name].get("default", ""))) for name in spec}
        step_env = {name: values[INPUT_EXPRESSION.match(expr).group(1)] for name, expr in self.step["env"].items()}
        env = clean_env(GITHUB_ACTIONS="true", CI="true", GITHUB_WORKSPACE=self.workspace,
                        GITHUB_STEP_SUMMARY=self.summary, GITHUB_OUTPUT=self.dir / "output", RUNNER_TEMP=self.dir,
                        RUNNER_TRACKING_ID="github_0a1b2c", GITHUB_RUN_ATTEMPT="1", **step_env)
        env["PATH"] = f"{self.dir / 'bin'}:{env['PATH']}"
        return env

    def argv(self):
        return ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(self.script)]

    def action(self, **inputs):
        return run(self.argv(), self.env(**inputs), self.workspace)

    def test_jobwarden_is_the_entry_process(self):
        proc = subprocess.Popen(self.argv(), env=self.env(run='echo "parent $PPID $(readlink /proc/$PPID/exe)"'),
                                cwd=self.workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, text=True)
        out, _ = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn(f"parent {proc.pid} {os.path.realpath(BINARY)}", out)

    def test_exit_codes_and_annotations(self):
        r = self.action(run="echo hello", step="unit")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("::group::", r.stdout)
        self.assertIn("::endgroup::", r.stdout)
        self.assertIn("jobwarden: step 'unit' attempt 1", r.stdout)
        summary = self.summary.read_text()  # the step summary: a table of the attempts
        self.assertIn("### jobwarden: step unit: pass", summary)
        self.assertIn("| attempt | outcome |", summary)
        r = self.action(run="exit 3")
        self.assertEqual(r.returncode, 3, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^::error")
        r = self.action(run=FLAKY_COMMAND, policy="policy.yml")
        self.assertEqual(r.returncode, 0, r.stdout)  # GitHub has no "unstable": 0 plus a warning
        self.assertRegex(r.stdout, r"(?m)^::warning")
        self.assertIn("### jobwarden: step default: unstable", self.summary.read_text())
        r = self.action(run="exit 42", policy="policy.yml")
        self.assertEqual(r.returncode, 75, r.stdout)

    def test_timeout_input(self):
        r = self.action(run="sleep 60", timeout="1s")
        self.assertEqual(r.returncode, 124, r.stdout)
        self.assertIn("timeout 1s reached", r.stdout)

    def test_run_is_a_bash_script_like_a_run_step(self):
        scripts = [
            "echo \"it's\" '$HOME' `echo backtick` $((6 * 7))\nprintf '%s|' a\\ b \"c  d\"; echo",
            "false\necho 'not reached: -e'",
            "false | true\necho 'not reached: pipefail'",
            "cat <<'END'\n$not_expanded `neither` ${{ inputs.run }}\nEND",
            "echo \"'; touch pwned; '\" \"$(echo '\"')\"",
        ]
        for script in scripts:
            with self.subTest(script=script):
                expected = run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
                               self.env(), self.workspace)
                actual = self.action(run=script)
                self.assertEqual(actual.returncode, expected.returncode, actual.stdout)
                step_lines = [line for line in actual.stdout.splitlines() if not line.startswith(("jobwarden: ", "::"))]
                self.assertEqual(step_lines, expected.stdout.splitlines())
                self.assertFalse((self.workspace / "pwned").exists())

    def test_hostile_inputs_stay_data(self):
        hostile = "$(touch pwned) `touch pwned` '; touch pwned; '\n--version"
        r = self.action(run="echo ok", step=hostile)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("jobwarden: step '$(touch pwned)", r.stdout)
        r = self.action(run="echo ok", policy=hostile)
        self.assertEqual(r.returncode, 78, r.stdout)  # no such policy file: a configuration error
        r = self.action(run="echo ok", timeout=hostile)
        self.assertEqual(r.returncode, 64, r.stdout)  # not a duration: a usage error
        self.assertFalse((self.workspace / "pwned").exists())

    def test_step_environment(self):
        r = self.action(run="env")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("JOBWARDEN_INPUT_", r.stdout)
        self.assertIn("RUNNER_TRACKING_ID=github_0a1b2c", r.stdout)  # the runner's own orphan sweep still works
        self.assertIn(f"GITHUB_STEP_SUMMARY={self.summary}", r.stdout)

    def test_cancel_sigint_to_the_entry_process_kills_the_tree(self):
        def runner_cancel(proc):
            os.kill(proc.pid, signal.SIGINT)  # the runner signals the entry pid only
        rest = cancel_tree(self, self.argv(), self.env(run=TREE_COMMAND), self.workspace, runner_cancel)
        self.assertIn("cancel", rest)

    def test_the_runners_whole_cancel_sequence_leaves_nothing(self):
        """The runner's escalation on the entry pid: SIGINT, 7.5 s later SIGTERM,
        2.5 s later SIGKILL. jobwarden must be done before the SIGKILL (which
        would orphan the step's session), the TERM-ignoring member included."""
        def runner_sequence(proc):
            for sig, wait in ((signal.SIGINT, 7.5), (signal.SIGTERM, 2.5)):
                os.kill(proc.pid, sig)
                try:
                    proc.wait(timeout=wait)
                    return
                except subprocess.TimeoutExpired:
                    pass
            os.kill(proc.pid, signal.SIGKILL)
        cancel_tree(self, self.argv(), self.env(run=TREE_COMMAND), self.workspace, runner_sequence)


if __name__ == "__main__":
    unittest.main(verbosity=2)
