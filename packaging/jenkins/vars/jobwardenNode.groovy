// jobwardenNode(Map args, Closure body): runs body() inside node(label) and,
// when it fails with a jobwarden system failure (exit 75: the host or the
// infrastructure failed, not the step), waits and runs it again inside a fresh
// node(label), so Jenkins may allocate another agent.
//
//   jobwardenNode(label: 'linux', attempts: 3, delay: 30) {
//     checkout scm
//     jobwarden(script: 'make test', step: 'unit')
//   }
//
// Arguments: label (node label expression; none = any agent), attempts (3, in
// total), delay (30 seconds before the second attempt, doubling before each
// further one). Any other failure of the body propagates at once; after the
// last attempt the system failure propagates. Returns what body() returned.

def call(Map args, Closure body) {
  Map a = args == null ? [:] : args
  String problem = argumentProblem(a, body)
  if (problem != null) {
    error("jobwardenNode: ${problem}")
  }
  String label = a.label == null ? null : a.label.toString()
  int attempts = a.containsKey('attempts') ? (a.attempts as int) : 3
  int delay = a.containsKey('delay') ? (a.delay as int) : 30
  for (int attempt = 1; ; attempt++) {
    try {
      return node(label) {
        body()
      }
    } catch (Exception e) {
      if (!jobwarden.isSystemFailure(e) || attempt >= attempts) {
        throw e
      }
      long wait = ((long) delay) << (attempt - 1)
      echo("jobwardenNode: attempt ${attempt} of ${attempts} on node(${label ?: 'any'}) ended in a system failure " +
           "(${e.message}); attempt ${attempt + 1} on a fresh node in ${wait} s")
      sleep(time: wait, unit: 'SECONDS')
    }
  }
}

String argumentProblem(Map a, Closure body) {
  List<String> known = ['label', 'attempts', 'delay']
  for (Object key : a.keySet()) {
    if (!known.contains(key.toString())) {
      return "unknown argument '${key}' (known: ${known.join(', ')})"
    }
  }
  if (body == null) {
    return 'a body { ... } is required'
  }
  if (a.containsKey('attempts') && !(a.attempts instanceof Integer && a.attempts >= 1 && a.attempts <= 10)) {
    return "attempts must be a whole number from 1 to 10, not '${a.attempts}'"
  }
  if (a.containsKey('delay') && !(a.delay instanceof Integer && a.delay >= 0 && a.delay <= 3600)) {
    return "delay must be a whole number of seconds from 0 to 3600, not '${a.delay}'"
  }
  return null
}
