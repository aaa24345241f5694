// jobwarden(Map args): runs one shell script under `jobwarden run --ci jenkins`
// in a Pipeline `sh` step and turns jobwarden's exit code into the build result.
//
//   jobwarden(script: 'make test', step: 'unit', policy: '.jobwarden.yml',
//             timeout: '20m', label: 'unit tests', binary: '/usr/local/bin/jobwarden')
//
// Arguments: script (required), step ('default'), policy, timeout, label (the
// `sh` step's name in the Pipeline views; default "jobwarden <step>"), binary
// ('jobwarden'). Any other key is an error, so a typo cannot be ignored.
//
// Result: 0 -> returns 0; 79 (unstable) -> unstable(...) and returns 79;
// 75 (system failure) -> error('jobwarden: system failure: ...'), which
// jobwardenNode retries on a fresh node; any other code N ->
// error('jobwarden: step <step> failed with exit code N').
//
// Every argument is shell-quoted and options are passed as --name=value, so no
// quote, $, backtick, newline or leading dash in any value can change the
// command that `sh` runs.

import groovy.transform.Field

@Field final List<String> KNOWN_ARGS = ['script', 'step', 'policy', 'timeout', 'label', 'binary']
@Field final int EXIT_UNSTABLE = 79
@Field final int EXIT_SYSTEM_FAILURE = 75
@Field final String SYSTEM_FAILURE_PREFIX = 'jobwarden: system failure: '

def call(Map args) {
  Map a = args == null ? [:] : args
  String problem = argumentProblem(a)
  if (problem != null) {
    error("jobwarden: ${problem}")
  }
  String step = a.step == null ? 'default' : a.step.toString()
  String label = a.label == null ? "jobwarden ${step}" : a.label.toString()
  int rc = sh(returnStatus: true, label: label, script: commandLine(a))
  if (rc == 0) {
    return 0
  }
  if (rc == EXIT_UNSTABLE) {
    unstable("jobwarden: step ${step} is unstable (exit code ${rc})")
    return rc
  }
  if (rc == EXIT_SYSTEM_FAILURE) {
    error("${SYSTEM_FAILURE_PREFIX}step ${step} (exit code ${rc}): the host or the infrastructure failed, not the step")
  }
  error("jobwarden: step ${step} failed with exit code ${rc}")
}

// True for the failure call() raises for exit code 75 (jobwardenNode's cue).
boolean isSystemFailure(Throwable e) {
  return e != null && e.message != null && e.message.startsWith(SYSTEM_FAILURE_PREFIX)
}

// The exact `sh` script for these arguments (arguments already validated).
String commandLine(Map a) {
  List<String> words = [a.binary == null ? 'jobwarden' : a.binary.toString(), 'run', '--ci', 'jenkins',
                        '--step=' + (a.step == null ? 'default' : a.step.toString())]
  if (a.policy != null) {
    words.add('--policy=' + a.policy.toString())
  }
  if (a.timeout != null) {
    words.add('--timeout=' + a.timeout.toString())
  }
  words.addAll(['--', 'bash', '-c', a.script.toString()])
  List<String> quoted = []
  for (String w : words) {
    quoted.add(shellQuote(w))
  }
  return quoted.join(' ')
}

// POSIX shell quoting: words made only of safe characters stay bare (readable
// in the `sh -x` trace); anything else is single-quoted, a ' inside becoming
// '\''. Inside single quotes nothing is special, newlines included. '=' is not
// safe: a bare first word a=b would be an assignment, not a command.
String shellQuote(String word) {
  if (word ==~ /[A-Za-z0-9_@%+:,.\/-]+/) {
    return word
  }
  return "'" + word.replace("'", "'\\''") + "'"
}

// null when the arguments are usable, else what is wrong with them.
String argumentProblem(Map a) {
  for (Object key : a.keySet()) {
    if (!KNOWN_ARGS.contains(key.toString())) {
      return "unknown argument '${key}' (known: ${KNOWN_ARGS.join(', ')})"
    }
  }
  if (a.script == null || a.script.toString().trim().isEmpty()) {
    return 'the script argument is required (the shell script to run)'
  }
  for (String key : KNOWN_ARGS) {
    if (a.containsKey(key) && a[key] != null) {
      String value = a[key].toString()
      if (value.indexOf('\u0000') >= 0) {
        return "argument ${key} contains a NUL character"
      }
      if (key != 'script' && key != 'label' && value.isEmpty()) {
        return "argument ${key} is empty"
      }
    }
  }
  return null
}
