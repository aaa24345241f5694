#!/usr/bin/env bash
# A real .gitlab-ci.yml (tests/ci/gitlab-ci-local/project) run by gitlab-ci-local
# (pinned with its whole dependency tree by package-lock.json, installed from
# npm into the build tree) with the shell executor: jobs call
# `jobwarden run --ci gitlab`. Checks that a flaky job answered "unstable" (79)
# is shown as allowed to fail and the pipeline goes on, and that a real failure
# still fails its job.
#   gitlab_ci_local_test.sh JOBWARDEN_BINARY WORK_DIR
# Exit 77 (ctest: skipped) only when Node.js is older than 20, which
# gitlab-ci-local 4.73.0's dependencies need (Debian 12's own nodejs is 18).
set -euo pipefail
binary=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
failures=0
checks=0

fail() {
  echo "FAILED: $*" >&2
  failures=$((failures + 1))
}

# expect_match LABEL FILE REGEX: the (ANSI-stripped) output has a line matching REGEX.
expect_match() {
  checks=$((checks + 1))
  if grep -Eq -- "$3" "$2"; then echo "ok     $1"; else fail "$1: no line matches /$3/ in $2"; fi
}

expect_status() {
  checks=$((checks + 1))
  if [[ $2 == "$3" ]]; then echo "ok     $1"; else fail "$1: exit status $2, expected $3"; fi
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "gitlab_ci_local_test: node and npm are needed (packaging/install-build-deps.sh installs them)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "gitlab_ci_local_test: SKIPPED: Node.js $(node --version) is older than 20, which gitlab-ci-local 4.73.0 needs" >&2
  exit 77
fi

# Install (again only when the pinned tree changed).
npm_dir=$work/npm
mkdir -p "$npm_dir"
if ! cmp -s "$here/gitlab-ci-local/package-lock.json" "$npm_dir/package-lock.json" ||
   [[ ! -x $npm_dir/node_modules/.bin/gitlab-ci-local ]]; then
  cp "$here/gitlab-ci-local/package.json" "$here/gitlab-ci-local/package-lock.json" "$npm_dir/"
  npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error
fi
gcl=$npm_dir/node_modules/.bin/gitlab-ci-local
version=$("$gcl" --version)
expect_status "gitlab-ci-local is the pinned version" "$version" 4.73.0

# The project: a git checkout of the fixture (gitlab-ci-local reads git).
project=$work/project
rm -rf "$project"
cp -r "$here/gitlab-ci-local/project" "$project"
git -C "$project" init -q
git -C "$project" add -A
git -C "$project" -c user.name=test -c user.email=test@localhost commit -qm fixture

# run_gcl OUTPUT_FILE [ARGS...]: runs gitlab-ci-local in the project with a
# clean environment; the output, ANSI colours removed, goes to OUTPUT_FILE.
run_gcl() {
  local out=$1
  shift
  local status=0
  (cd "$project" && env -i PATH="$PATH" HOME="$work" LANG=C.UTF-8 \
      "$gcl" --no-color --variable "JOBWARDEN=$binary" "$@") >"$out.raw" 2>&1 || status=$?
  sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out.raw" >"$out"
  return "$status"
}

status=0
run_gcl "$work/pipeline.log" || status=$?
cat "$work/pipeline.log"
expect_status "the pipeline passes with an allowed failure" "$status" 0
expect_match "jobwarden retried the flaky suite" "$work/pipeline.log" "^flaky +> jobwarden: decision: retry .*rule 'flaky-suite'"
expect_match "jobwarden's verdict is unstable, exit 79" "$work/pipeline.log" "^flaky +> jobwarden: verdict: unstable: step 'flaky'.*exit code 79"
expect_match "each attempt is a log section" "$work/pipeline.log" "^flaky +jobwarden_flaky_a2_started"
expect_match "the flaky job finished as allowed to fail (WARN 79)" "$work/pipeline.log" "^flaky +finished in .* WARN 79"
expect_match "the summary lists it as a warning" "$work/pipeline.log" "^ WARN +flaky"
expect_match "the next stage ran" "$work/pipeline.log" "^deploy +> deploy ran after the allowed failure"
expect_match "the next stage passed" "$work/pipeline.log" "^ PASS +deploy"

# (gitlab-ci-local 4.73.0 exits 0 whenever a failed job has an allow_failure
# map, whatever the code, so the job's own line is what is checked.)
run_gcl "$work/broken.log" broken || true
cat "$work/broken.log"
expect_match "the failed job is listed as failed" "$work/broken.log" "^ FAIL +broken"
expect_match "a real failure keeps the step's code and is not allowed (FAIL 3)" "$work/broken.log" "^broken +finished in .* FAIL 3"

echo "$((checks - failures)) passed, $failures failed"
((failures == 0))
