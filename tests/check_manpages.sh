#!/usr/bin/env bash
# Guards the generated documents in every build (the Debian package ships
# them): docs/man/build.sh must still assemble both manual pages from
# README.md, docs/policy.md and the binary's command line (a renamed README
# section stops it), `man --warnings` must render them without a warning,
# and jobwarden(1) must name every command and option that --help lists.
#   tests/check_manpages.sh JOBWARDEN_BINARY OUTPUT_DIR
set -euo pipefail
binary=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
"$here/../docs/man/build.sh" "$binary" "$out" test
for page in "$out/jobwarden.1" "$out/jobwarden.yml.5"; do
  MANWIDTH=80 man --warnings -l "$page" >"$page.txt" 2>"$page.err"
  if [[ -s $page.err ]]; then
    cat "$page.err"
    echo "FAIL: man warns on $(basename "$page")" >&2
    exit 1
  fi
done
MANWIDTH=300 man -l "$out/jobwarden.1" 2>/dev/null >"$out/wide.txt"
missing=0
# Every command path and every long option of its --help.
commands=("" run policy "policy check" "policy explain" "policy default" gitlab "gitlab config" "gitlab prepare" "gitlab run" "gitlab cleanup")
for c in "${commands[@]}"; do
  # shellcheck disable=SC2086
  help=$("$binary" $c --help)
  if [[ -n $c ]] && ! grep -q "^ *jobwarden $c\$" "$out/wide.txt"; then
    echo "jobwarden(1) has no section for 'jobwarden $c'" >&2
    missing=1
  fi
  for option in $(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$help" | sort -u); do
    if ! grep -q -- "$option" "$out/wide.txt"; then
      echo "jobwarden(1) does not mention $option of 'jobwarden $c'" >&2
      missing=1
    fi
  done
done
# Subcommands --help lists that the list above lacks.
for c in "" policy gitlab; do
  # shellcheck disable=SC2086
  for sub in $("$binary" $c --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}'); do
    if ! grep -q "^ *jobwarden ${c:+$c }$sub\$" "$out/wide.txt"; then
      echo "jobwarden(1) has no section for 'jobwarden ${c:+$c }$sub'" >&2
      missing=1
    fi
  done
done
exit $missing
