// Tests of the Jenkins shared library (packaging/jenkins/vars) in one JVM:
//   groovy jenkins_library_test.groovy LIBRARY_DIR JOBWARDEN_BINARY WORK_DIR
// The library's scripts run as Jenkins runs a global variable's call(), with
// the pipeline steps they use (sh, unstable, error, node, sleep, echo)
// replaced by stand-ins that record every call. Some cases hand `sh` a fixed
// exit code; others run the produced command line for real, as the Pipeline
// `sh` step does (`sh -xe script` with output to one log), with a stand-in
// binary that records its argv or with the real jobwarden binary.
// Prints one line per case and "N passed, N failed"; exits 1 on any failure.

class StepError extends RuntimeException {
  StepError(String message) { super(message) }
}

class Pipeline {
  List<List> calls = []
  Closure shImpl = { Map m -> 0 }

  List<Object> of(String name) { calls.findAll { it[0] == name }.collect { it[1] } }
  List<String> names() { calls.collect { it[0] as String } }
}

libDir = new File(args[0])
realBinary = args[1]
work = new File(args[2])
work.deleteDir()
work.mkdirs()
passed = 0
failed = 0

Script loadVar(String name, Pipeline p, Map<String, Object> globals = [:]) {
  Binding b = new Binding()
  b.setVariable('sh', { Map m -> p.calls << ['sh', m]; p.shImpl(m) })
  b.setVariable('unstable', { msg -> p.calls << ['unstable', msg.toString()]; null })
  b.setVariable('error', { msg -> p.calls << ['error', msg.toString()]; throw new StepError(msg.toString()) })
  b.setVariable('echo', { msg -> p.calls << ['echo', msg.toString()]; null })
  b.setVariable('sleep', { Map m -> p.calls << ['sleep', m]; null })
  b.setVariable('node', { label, Closure body -> p.calls << ['node', label]; body() })
  globals.each { k, v -> b.setVariable(k, v) }
  return new GroovyShell(this.class.classLoader, b).parse(new File(libDir, "vars/${name}.groovy"))
}

void check(String name, Closure body) {
  try {
    body()
    passed++
    println "ok     ${name}"
  } catch (Throwable t) {
    failed++
    println "FAILED ${name}: ${t}"
  }
}

void expectEq(Object actual, Object expected, String what = '') {
  if (actual != expected) {
    throw new AssertionError("${what}: expected <${expected}> but was <${actual}>")
  }
}

// Runs `closure`, expects a StepError (the stand-in error step) and returns its message.
String expectError(Closure closure) {
  try {
    closure()
  } catch (StepError e) {
    return e.message
  }
  throw new AssertionError('expected error(...) to be called')
}

// The Pipeline `sh` step: the script goes to a file, runs as `<shell> -xe file`
// in WORK_DIR with stdout and stderr in one log; returns the exit status.
Map runShell(String shell, String script, Map<String, String> env = [:]) {
  File dir = new File(work, "sh-${System.nanoTime()}")
  dir.mkdirs()
  File file = new File(dir, 'script.sh')
  file.text = script
  ProcessBuilder pb = new ProcessBuilder(shell, '-xe', file.path).directory(work).redirectErrorStream(true)
  pb.redirectOutput(new File(dir, 'jenkins-log.txt'))
  pb.environment().keySet().removeIf { String k -> k.startsWith('JOBWARDEN_') }  // only what the test says
  pb.environment().putAll(env)
  int rc = pb.start().waitFor()
  return [rc: rc, log: new File(dir, 'jenkins-log.txt').text]
}

// ---------------------------------------------------------------- command lines

// A stand-in binary that writes its argv, NUL-separated, to $ARGV_OUT.
File binDir = new File(work, "bin dir with 'quote' and \$dollar")
binDir.mkdirs()
File printer = new File(binDir, "it's jobwarden")
printer.text = '#!/bin/bash\nprintf \'%s\\0\' "$@" > "$ARGV_OUT"\n'
printer.setExecutable(true)

List<String> argvOf(String commandLine, String shell) {
  File out = new File(work, 'argv.out')
  out.delete()
  Map r = runShell(shell, commandLine, [ARGV_OUT: out.path])
  expectEq(r.rc, 0, "exit status of ${shell} (log: ${r.log})")
  String text = out.getText('UTF-8')
  return text.isEmpty() ? [] : text.substring(0, text.length() - 1).split('\u0000', -1) as List
}

List<String> expectedArgv(Map a) {
  List<String> argv = ['run', '--ci', 'jenkins', '--step=' + (a.step ?: 'default')]
  if (a.policy != null) argv << '--policy=' + a.policy
  if (a.timeout != null) argv << '--timeout=' + a.timeout
  argv + ['--', 'bash', '-c', a.script]
}

String nasty = "it's \"double\" \$(touch PWNED) `touch PWNED` \${HOME} \\ ; touch PWNED && x || y | z > PWNED < /dev/null & \n" +
               "second line\t'; touch PWNED; '\r * ? [a] ~root !! # ünï ☃"
List<Map> argumentSets = [
  [script: 'make test'],
  [script: 'make test', step: 'unit'],
  [script: 'make test', step: 'unit', policy: 'ci/.jobwarden.yml', timeout: '20m'],
  [script: "echo \"it's\"\nprintf '%s\\n' `date` \$HOME\n", step: 'multi-line script'],
  [script: nasty, step: nasty, policy: nasty, timeout: nasty],
  [script: 'x', step: '--policy=/etc/shadow', timeout: '-5'],
  [script: 'x', step: 'a=b', policy: '~', timeout: '*'],
  [script: "'", step: "'", policy: "''", timeout: '"'],
  [script: '$(touch PWNED)', step: '`touch PWNED`', policy: '$PATH', timeout: "\n"],
  [script: ' true ', step: '-', policy: '--', timeout: '--timeout=1s'],
]

argumentSets.eachWithIndex { Map a, int i ->
  ['sh', 'bash'].each { String shell ->
    check("command line, argument set ${i}, run by ${shell} -xe") {
      Pipeline p = new Pipeline()
      String produced = null
      p.shImpl = { Map m -> produced = m.script; 0 }
      Script jw = loadVar('jobwarden', p)
      expectEq(jw.call(a + [binary: printer.path]), 0, 'result')
      expectEq(p.of('sh').size(), 1, 'sh calls')
      expectEq(p.of('sh')[0].returnStatus, true, 'returnStatus')
      expectEq(p.of('sh')[0].label, "jobwarden ${a.step ?: 'default'}".toString(), 'label')
      List<String> argv = argvOf(produced, shell)
      expectEq(argv, expectedArgv(a), "argv of: ${produced}")
      expectEq(new File(work, 'PWNED').exists(), false, 'PWNED created')
    }
  }
}

check('command line: readable for plain arguments, the binary named first') {
  Pipeline p = new Pipeline()
  loadVar('jobwarden', p).call(script: 'make test', step: 'unit', timeout: '20m', binary: '/usr/local/bin/jobwarden')
  expectEq(p.of('sh')[0].script,
           "/usr/local/bin/jobwarden run --ci jenkins '--step=unit' '--timeout=20m' -- bash -c 'make test'", 'script')
}

check('label argument names the sh step') {
  Pipeline p = new Pipeline()
  loadVar('jobwarden', p).call(script: 'true', step: 'unit', label: 'Unit tests (jobwarden)')
  expectEq(p.of('sh')[0].label, 'Unit tests (jobwarden)', 'label')
}

// ---------------------------------------------------------------- argument errors

[
  [args: [:], message: 'jobwarden: the script argument is required (the shell script to run)'],
  [args: [script: '  '], message: 'jobwarden: the script argument is required (the shell script to run)'],
  [args: [script: 'x', stpe: 'unit'], message: "jobwarden: unknown argument 'stpe' (known: script, step, policy, timeout, label, binary)"],
  [args: [script: 'x', step: ''], message: 'jobwarden: argument step is empty'],
  [args: [script: 'x', binary: ''], message: 'jobwarden: argument binary is empty'],
  [args: [script: 'x', step: 'a\u0000b'], message: 'jobwarden: argument step contains a NUL character'],
  [args: [script: 'echo \u0000'], message: 'jobwarden: argument script contains a NUL character'],
].each { Map c ->
  check("argument error: ${c.message}") {
    Pipeline p = new Pipeline()
    expectEq(expectError { loadVar('jobwarden', p).call(c.args) }, c.message, 'message')
    expectEq(p.of('sh'), [], 'sh must not run')
  }
}

// ---------------------------------------------------------------- exit codes

check('exit 0: returns 0, nothing else') {
  Pipeline p = new Pipeline()
  p.shImpl = { Map m -> 0 }
  expectEq(loadVar('jobwarden', p).call(script: 'x', step: 'unit'), 0, 'result')
  expectEq(p.names(), ['sh'], 'steps called')
}

check('exit 79: unstable naming the step, returns 79') {
  Pipeline p = new Pipeline()
  p.shImpl = { Map m -> 79 }
  expectEq(loadVar('jobwarden', p).call(script: 'x', step: 'unit'), 79, 'result')
  expectEq(p.names(), ['sh', 'unstable'], 'steps called')
  expectEq(p.of('unstable')[0], 'jobwarden: step unit is unstable (exit code 79)', 'message')
}

check('exit 75: error as a system failure') {
  Pipeline p = new Pipeline()
  p.shImpl = { Map m -> 75 }
  Script jw = loadVar('jobwarden', p)
  String message = expectError { jw.call(script: 'x', step: 'unit') }
  expectEq(message, 'jobwarden: system failure: step unit (exit code 75): the host or the infrastructure failed, not the step', 'message')
  expectEq(jw.isSystemFailure(new StepError(message)), true, 'isSystemFailure')
  expectEq(p.names(), ['sh', 'error'], 'steps called')
}

[1, 2, 64, 70, 78, 124, 126, 127, 137, 143, 255, -1, -2].each { int rc ->
  check("exit ${rc}: error naming the step and the code") {
    Pipeline p = new Pipeline()
    p.shImpl = { Map m -> rc }
    Script jw = loadVar('jobwarden', p)
    String message = expectError { jw.call(script: 'x', step: 'unit') }
    expectEq(message, "jobwarden: step unit failed with exit code ${rc}".toString(), 'message')
    expectEq(jw.isSystemFailure(new StepError(message)), false, 'isSystemFailure')
    expectEq(p.names(), ['sh', 'error'], 'steps called')
  }
}

// ---------------------------------------------------------------- the real binary

File policies = new File(work, 'policies')
policies.mkdirs()
File flakyPolicy = new File(policies, 'flaky.yml')
flakyPolicy.text = '''version: 1
defaults: {backoff: {initial: 10ms, max: 10ms, jitter: 0}}
rules:
  - name: flaky-exit-9
    when: {outcome: red, exit_codes: [9]}
    retry: 2
    then: fail
  - name: host-exit-42
    when: {outcome: red, exit_codes: [42]}
    then: system_failure
flaky: unstable
'''

// `sh` runs the produced script for real (Jenkins' `sh -xe file`), with `env`
// added to the environment as withEnv(...) would.
Pipeline realPipeline(Map<String, String> env = [:]) {
  Pipeline p = new Pipeline()
  p.shImpl = { Map m ->
    Map r = runShell('sh', m.script, env)
    p.calls << ['log', r.log]
    r.rc
  }
  return p
}

check('real binary: success returns 0 and the log carries the step and the verdict') {
  Pipeline p = realPipeline()
  expectEq(loadVar('jobwarden', p).call(script: 'echo "hello from the step"', step: 'real', binary: realBinary), 0, 'result')
  String log = p.of('log')[0]
  assert log.contains('hello from the step') : log
  assert log.contains("+ ${realBinary} run --ci jenkins --step=real -- bash -c echo") : log  // sh -x trace
  assert log.contains("jobwarden: step 'real' attempt 1") : log
  assert log.contains('jobwarden: verdict: pass') : log
}

check('real binary: a red step fails the build with its own exit code') {
  Pipeline p = realPipeline()
  String message = expectError { loadVar('jobwarden', p).call(script: 'exit 3', step: 'real', binary: realBinary) }
  expectEq(message, 'jobwarden: step real failed with exit code 3', 'message')
}

check('real binary: hostile step name and script stay data') {
  Pipeline p = realPipeline()
  String step = "it's \$(touch PWNED) `touch PWNED`\n; touch PWNED"
  expectEq(loadVar('jobwarden', p).call(script: 'printf "%s\\n" "$0" \'$(touch PWNED)\'', step: step,
                                         binary: realBinary), 0, 'result')
  String log = p.of('log')[0]
  assert log.contains("jobwarden: step '" + step.split('\n')[0]) : log  // the name reached jobwarden intact
  assert log.contains('\n$(touch PWNED)\n') : log                        // the script's own output
  expectEq(new File(work, 'PWNED').exists(), false, 'PWNED created')
}

check('real binary: passing only after a retry is unstable (79)') {
  Pipeline p = realPipeline()
  new File(work, 'flaky-marker').delete()
  def result = loadVar('jobwarden', p).call(
      script: 'if [ -e flaky-marker ]; then echo second; else touch flaky-marker; exit 9; fi',
      step: 'flaky', policy: flakyPolicy.path, binary: realBinary)
  expectEq(result, 79, 'result')
  expectEq(p.of('unstable'), ['jobwarden: step flaky is unstable (exit code 79)'], 'unstable calls')
}

check('real binary: jobwarden settings from the environment (withEnv) reach it: a JUnit report') {
  File junit = new File(work, 'jobwarden-flaky.xml')
  junit.delete()
  new File(work, 'flaky-marker').delete()
  Pipeline p = realPipeline([JOBWARDEN_JUNIT: junit.path])
  def result = loadVar('jobwarden', p).call(
      script: 'if [ -e flaky-marker ]; then echo second; else touch flaky-marker; exit 9; fi',
      step: 'flaky', policy: flakyPolicy.path, binary: realBinary)
  expectEq(result, 79, 'result')
  def testcase = new XmlSlurper().parse(junit).depthFirst().find { it.name() == 'testcase' }
  assert testcase != null : junit.text
  expectEq(testcase.flakyFailure.size(), 1, "flakyFailure elements in ${junit.text}")
  expectEq(testcase.failure.size(), 0, "failure elements in ${junit.text}")
}

check('real binary: a system failure (75) is raised as such') {
  Pipeline p = realPipeline()
  Script jw = loadVar('jobwarden', p)
  String message = expectError { jw.call(script: 'exit 42', step: 'host', policy: flakyPolicy.path, binary: realBinary) }
  assert jw.isSystemFailure(new StepError(message)) : message
}

check('real binary: the timeout argument reaches jobwarden (124)') {
  Pipeline p = realPipeline()
  String message = expectError {
    loadVar('jobwarden', p).call(script: 'sleep 60', step: 'slow', timeout: '1s', binary: realBinary)
  }
  expectEq(message, 'jobwarden: step slow failed with exit code 124', 'message')
  assert p.of('log')[0].contains('timeout 1s reached') : p.of('log')[0]
}

check('real binary: an invalid policy is exit 78, not a system failure') {
  Pipeline p = realPipeline()
  File bad = new File(policies, 'bad.yml')
  bad.text = 'version: 1\nrules: [{when: {outcome: nonsense}}]\n'
  String message = expectError { loadVar('jobwarden', p).call(script: 'true', policy: bad.path, binary: realBinary) }
  expectEq(message, 'jobwarden: step default failed with exit code 78', 'message')
}

// ---------------------------------------------------------------- jobwardenNode

Script nodeVar(Pipeline p) {
  return loadVar('jobwardenNode', p, [jobwarden: loadVar('jobwarden', p)])
}

StepError systemFailure() {
  return new StepError('jobwarden: system failure: step unit (exit code 75): the host or the infrastructure failed, not the step')
}

check('jobwardenNode: success on the first node returns the body\'s value') {
  Pipeline p = new Pipeline()
  expectEq(nodeVar(p).call([label: 'linux']) { 'done' }, 'done', 'result')
  expectEq(p.names(), ['node'], 'steps called')
  expectEq(p.of('node'), ['linux'], 'labels')
}

check('jobwardenNode: system failures get fresh nodes after 30 s, then 60 s') {
  Pipeline p = new Pipeline()
  int runs = 0
  def result = nodeVar(p).call([label: 'linux']) {
    runs++
    if (runs < 3) throw systemFailure()
    79
  }
  expectEq(result, 79, 'result')
  expectEq(p.names(), ['node', 'echo', 'sleep', 'node', 'echo', 'sleep', 'node'], 'steps called')
  expectEq(p.of('node'), ['linux', 'linux', 'linux'], 'labels')
  expectEq(p.of('sleep'), [[time: 30L, unit: 'SECONDS'], [time: 60L, unit: 'SECONDS']], 'sleeps')
  assert p.of('echo')[0].startsWith('jobwardenNode: attempt 1 of 3 on node(linux) ended in a system failure (jobwarden: system failure: ') : p.of('echo')[0]
  assert p.of('echo')[1].endsWith('attempt 3 on a fresh node in 60 s') : p.of('echo')[1]
}

check('jobwardenNode: after the last attempt the system failure propagates') {
  Pipeline p = new Pipeline()
  String message = expectError { nodeVar(p).call([label: 'big', attempts: 2, delay: 5]) { throw systemFailure() } }
  expectEq(message, systemFailure().message, 'message')
  expectEq(p.names(), ['node', 'echo', 'sleep', 'node'], 'steps called')
  expectEq(p.of('sleep'), [[time: 5L, unit: 'SECONDS']], 'sleeps')
}

check('jobwardenNode: any other failure propagates at once') {
  Pipeline p = new Pipeline()
  String message = expectError { nodeVar(p).call([label: 'linux']) { throw new StepError('jobwarden: step unit failed with exit code 1') } }
  expectEq(message, 'jobwarden: step unit failed with exit code 1', 'message')
  expectEq(p.names(), ['node'], 'steps called')
}

check('jobwardenNode: an abort (not a StepError) propagates at once') {
  Pipeline p = new Pipeline()
  try {
    nodeVar(p).call([:]) { throw new InterruptedException('aborted by user') }
    throw new AssertionError('no exception')
  } catch (InterruptedException e) {
    expectEq(e.message, 'aborted by user', 'message')
  }
  expectEq(p.of('node'), [null], 'labels')
}

check('jobwardenNode: delay 0 and attempts 1') {
  Pipeline p = new Pipeline()
  expectError { nodeVar(p).call([attempts: 1]) { throw systemFailure() } }
  expectEq(p.names(), ['node'], 'steps called')
  Pipeline q = new Pipeline()
  int runs = 0
  nodeVar(q).call([delay: 0]) { if (++runs == 1) throw systemFailure(); 0 }
  expectEq(q.of('sleep'), [[time: 0L, unit: 'SECONDS']], 'sleeps')
}

[
  [args: [lable: 'x'], message: "jobwardenNode: unknown argument 'lable' (known: label, attempts, delay)"],
  [args: [attempts: 0], message: "jobwardenNode: attempts must be a whole number from 1 to 10, not '0'"],
  [args: [attempts: '3'], message: "jobwardenNode: attempts must be a whole number from 1 to 10, not '3'"],
  [args: [delay: -1], message: "jobwardenNode: delay must be a whole number of seconds from 0 to 3600, not '-1'"],
].each { Map c ->
  check("jobwardenNode argument error: ${c.message}") {
    Pipeline p = new Pipeline()
    expectEq(expectError { nodeVar(p).call(c.args) { 0 } }, c.message, 'message')
    expectEq(p.of('node'), [], 'node must not be allocated')
  }
}

check('jobwardenNode + real binary: a host failure is retried on fresh nodes until attempts run out') {
  Pipeline p = realPipeline()
  Script jw = loadVar('jobwarden', p)
  Script jwNode = loadVar('jobwardenNode', p, [jobwarden: jw])
  String message = expectError {
    jwNode.call([label: 'linux', attempts: 3]) {
      jw.call(script: 'exit 42', step: 'host', policy: flakyPolicy.path, binary: realBinary)
    }
  }
  assert jw.isSystemFailure(new StepError(message)) : message
  expectEq(p.of('node'), ['linux', 'linux', 'linux'], 'nodes')
  expectEq(p.of('sh').size(), 3, 'sh runs')
  expectEq(p.of('sleep'), [[time: 30L, unit: 'SECONDS'], [time: 60L, unit: 'SECONDS']], 'sleeps')
}

println "${passed} passed, ${failed} failed"
System.exit(failed == 0 && passed > 0 ? 0 : 1)
