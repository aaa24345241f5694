#!/usr/bin/env bash
# The Debian package, end to end, as an administrator meets it (root, Debian 12):
#  1. installs the build dependencies declared in debian/control
#     (apt-get build-dep), builds the package from a clean copy of the tree
#     (nothing is reused from build directories), once;
#  2. checks its file list and conffile, renders each manual page with
#     `man --warnings` (no warning allowed), runs lintian (no error, no
#     warning without an override);
#  3. installs it with apt-get, runs `jobwarden --version` and a supervised
#     step from /usr/bin, tries the bash completion;
#  4. removes it (the conffile stays), purges it (the conffile goes).
# The machine is left as found: the package is purged on every exit path.
# Refuses to run when a jobwarden package is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
source_tree=$PWD

fail() {
  echo "test-package: FAIL: $*" >&2
  exit 1
}
step() { echo "== test-package: $*"; }

[[ $(id -u) -eq 0 ]] || fail "run as root (it installs and purges the package)"
git -C "$source_tree" rev-parse --git-dir >/dev/null 2>&1 || fail "needs a git checkout (it builds what git tracks)"

apt_get() {
  # dpkg's own lock: wait for other package managers instead of failing.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@"
}

# One package test at a time on a host (they install the same package).
exec 9>/run/lock/jobwarden-package-test.lock
flock 9

if dpkg-query -W -f='${Status}' jobwarden 2>/dev/null | grep -q "installed\|config-files"; then
  fail "a jobwarden package is already on this machine; purge it first (this test must leave none behind)"
fi

work=${TMPDIR:-/tmp}/jobwarden-package-test
cleanup() {
  if dpkg-query -W -f='${Status}' jobwarden 2>/dev/null | grep -q "installed\|config-files"; then
    apt_get purge jobwarden >/dev/null || dpkg --purge jobwarden
  fi
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work"
mkdir "$work"  # not -p: a path planted by someone else is an error

step "build dependencies (apt-get build-dep ./) and the tools of this test"
packaging/install-build-deps.sh lintian man-db bash-completion
# Package lists older than the build dependencies (or none): update once.
apt_get build-dep ./ >/dev/null || { apt_get update && apt_get build-dep ./ >/dev/null; }

# A clean copy: the files git knows (tracked, and new ones not ignored), so
# no build directory of the checkout can leak into the package. The fixed
# path keeps ccache useful from one run to the next.
version=$(dpkg-parsechangelog -S Version)
src=$work/jobwarden-$version
mkdir "$src"
git -C "$source_tree" ls-files -z --cached --others --exclude-standard |
  (cd "$source_tree" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
  tar -C "$source_tree" --null -T - -cf - | tar -C "$src" -xf -
git_description=$(git -C "$source_tree" describe --tags --always --dirty)

step "dpkg-buildpackage -us -uc -b (git $git_description)"
start=$(date +%s)
(cd "$src" && JOBWARDEN_GIT_DESCRIPTION=$git_description DEB_BUILD_OPTIONS="parallel=$(nproc)" \
  dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
  tail -50 "$work/build.log"
  fail "dpkg-buildpackage failed (log above)"
}
echo "package built in $(($(date +%s) - start)) s"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$work/jobwarden_${version}_${arch}.deb
[[ -f $deb ]] || fail "no $deb"
ls -l "$deb"

step "file list"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | sort >"$work/files"
required=(
  /usr/bin/jobwarden
  /etc/jobwarden/config.yaml
  /usr/share/man/man1/jobwarden.1.gz
  /usr/share/man/man5/jobwarden.yml.5.gz
  /usr/share/bash-completion/completions/jobwarden
  /usr/share/doc/jobwarden/copyright
  /usr/share/doc/jobwarden/changelog.gz
  /usr/share/doc/jobwarden/examples/systemd/gitlab-runner.service.d/jobwarden.conf
)
# Every example policy, and every file of every directory under packaging/
# (the CI integrations), is shipped.
for f in examples/*; do required+=("/usr/share/doc/jobwarden/examples/${f#examples/}"); done
while IFS= read -r f; do
  required+=("/usr/share/doc/jobwarden/examples/${f#packaging/}")
done < <(find packaging -mindepth 2 -type f | sort)
for f in "${required[@]}"; do
  grep -qxF "$f" "$work/files" || grep -qxF "$f.gz" "$work/files" || fail "the package lacks $f"
done
# Nothing outside the places a package of this kind may write.
if grep -vE '^/?$|^/(usr|usr/bin|usr/share|usr/share/(man|man/man[15]|doc|bash-completion|bash-completion/completions|lintian|lintian/overrides)|etc|etc/jobwarden)$|^/usr/bin/jobwarden$|^/usr/share/(man/man[15]/jobwarden|doc/jobwarden|bash-completion/completions/jobwarden|lintian/overrides/jobwarden)|^/etc/jobwarden/config\.yaml$' "$work/files"; then
  fail "files outside the expected places (above)"
fi
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx /etc/jobwarden/config.yaml ||
  fail "/etc/jobwarden/config.yaml is not a conffile"
cmp <(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/jobwarden/config.yaml) packaging/config.yaml ||
  fail "the shipped config.yaml is not packaging/config.yaml"
echo "$(wc -l <"$work/files") entries, every required one present"
# libcurl is opened with dlopen (no ELF dependency for dpkg-shlibdeps to see):
# debian/control names it, at the version whose CURLOPT_PROTOCOLS_STR we use.
dpkg-deb -f "$deb" Depends | grep -qE '(^|, )libcurl4 \(>= 7\.85\.0\)' ||
  fail "the package does not depend on libcurl4 (>= 7.85.0): $(dpkg-deb -f "$deb" Depends)"

step "manual pages render without warnings"
dpkg-deb -x "$deb" "$work/root"
for page in "$work"/root/usr/share/man/man*/*.gz; do
  MANWIDTH=80 man --warnings -l "$page" >"$work/page.txt" 2>"$work/page.err" || fail "man failed on $page"
  [[ ! -s $work/page.err ]] || { cat "$work/page.err"; fail "man warns on $(basename "$page")"; }
  echo "$(basename "$page"): $(wc -l <"$work/page.txt") lines, no warning"
done
MANWIDTH=200 man -l "$work/root/usr/share/man/man1/jobwarden.1.gz" 2>/dev/null >"$work/jobwarden.1.txt"
for section in NAME SYNOPSIS DESCRIPTION COMMANDS "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO"; do
  grep -qx "$section" "$work/jobwarden.1.txt" || fail "jobwarden(1) has no $section section"
done

step "lintian"
lintian --fail-on error,warning --display-level '>=warning' --show-overrides "$deb" || fail "lintian (above)"
echo "lintian: no error, no warning left without an override"

step "apt-get install ./$(basename "$deb")"
apt_get install "$deb" >/dev/null
[[ -x /usr/bin/jobwarden && -f /etc/jobwarden/config.yaml ]] || fail "installed files missing"

step "jobwarden --version"
/usr/bin/jobwarden --version | tee "$work/version"
grep -qx "jobwarden $version" "$work/version" || fail "--version does not say $version (debian/changelog)"
grep -qx "build: $git_description" "$work/version" || fail "--version does not say the build's git description $git_description"
# Each feature as the shell sees it: cgroup v2 mount point, PSI.
cgroup2=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
if [[ -n $cgroup2 ]]; then
  grep -q "cgroup v2 at $cgroup2 " "$work/version" || fail "--version misses cgroup v2 at $cgroup2"
else
  grep -q "cgroup v2 no" "$work/version" || fail "--version claims cgroup v2, which is not mounted"
fi
if cat /proc/pressure/cpu >/dev/null 2>&1; then psi=yes; else psi=no; fi
grep -q "PSI $psi," "$work/version" || fail "--version should say PSI $psi"
grep -qE "pidfd (yes|no|blocked)" "$work/version" && grep -qE "clone3 (yes|no|blocked)" "$work/version" ||
  fail "--version lacks pidfd or clone3"

step "a supervised step from /usr/bin/jobwarden (with the installed admin configuration)"
marker=$((900000 + RANDOM))
set +e
/usr/bin/jobwarden run --ci generic --timeout 30s --grace 2s -- \
  bash -c "setsid sleep $marker & echo step-output; exit 3" >"$work/run.out" 2>"$work/run.err"
status=$?
set -e
cat "$work/run.out" "$work/run.err"
[[ $status -eq 3 ]] || fail "jobwarden run exited $status, expected the step's own 3"
grep -qx step-output "$work/run.out" || fail "the step's output did not come through"
grep -q "SIGTERM to 1 process" "$work/run.err" || fail "the step's setsid child was not killed"
if pgrep -f "sleep $marker" >/dev/null; then
  pkill -f "sleep $marker"
  fail "the step's setsid child outlived jobwarden"
fi
grep -q "verdict: fail" "$work/run.err" || fail "no verdict line"

step "bash completion"
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
  complete_words() {  # the completions bash offers after "$@"
    bash -c 'source /usr/share/bash-completion/bash_completion
      source /usr/share/bash-completion/completions/jobwarden
      COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_LINE=${COMP_LINE// = /=}
      COMP_POINT=${#COMP_LINE}
      _jobwarden; printf "%s\n" "${COMPREPLY[@]}"' completion "$@"
  }
  complete_words jobwarden "" | grep -qx policy || fail "completion: no 'policy' after jobwarden"
  complete_words jobwarden policy "" | grep -qx explain || fail "completion: no 'explain' after policy"
  complete_words jobwarden run --c | grep -qx -- --ci || fail "completion: no --ci for run"
  complete_words jobwarden run --ci gi | grep -qx github || fail "completion: no 'github' for --ci"
  complete_words jobwarden run --ci = gi | grep -qx github || fail "completion: no 'github' for --ci="
  echo "commands, options and option values complete"
else
  fail "bash-completion is not installed (packaging/install-build-deps.sh installs it)"
fi

step "apt-get remove: the conffile stays"
apt_get remove jobwarden >/dev/null
[[ ! -e /usr/bin/jobwarden ]] || fail "/usr/bin/jobwarden is still there after remove"
[[ -f /etc/jobwarden/config.yaml ]] || fail "remove deleted the conffile"
dpkg-query -W -f='${Status}\n' jobwarden | grep -qx "deinstall ok config-files" || fail "not in config-files state"

step "apt-get purge: the conffile goes"
apt_get purge jobwarden >/dev/null
[[ ! -e /etc/jobwarden/config.yaml && ! -e /etc/jobwarden ]] || fail "purge left /etc/jobwarden"
if dpkg-query -W -f='${Status}' jobwarden 2>/dev/null | grep -q "installed\|config-files"; then
  fail "the package is still known to dpkg after purge"
fi
echo "test-package: OK ($(stat -c %s "$deb") bytes)"
