#!/usr/bin/env bash
# The repository owns its contract: code, comments, tests and docs cite only
# documents the repository has. Fails when a file under ROOT (default: the
# repository) cites a document from outside it (PRODUCT.md, ci-integration.md,
# a shared/docs path, "spec section N", a bare "§N"), or names a docs/*.md,
# README.md or HACKING.md that does not exist under ROOT.
#   check_citations.sh [ROOT]
#   check_citations.sh --self-test   (proves the check fails on planted citations)
set -euo pipefail
self=$(basename "$0")

if [[ "${1:-}" == --self-test ]]; then
  script="$(cd "$(dirname "$0")" && pwd)/$self"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/docs" "$tmp/src"
  echo '# Exists' >"$tmp/docs/exists.md"
  echo '// see docs/exists.md' >"$tmp/src/ok.cpp"
  "$script" "$tmp" || { echo "self-test: a clean tree was rejected" >&2; exit 1; }
  for planted in '// as PRODUCT.md promises' '// see spec section 4' '// rule §4' \
                 '// see ../shared/docs/x.md' '// see docs/missing.md'; do
    echo "$planted" >"$tmp/src/bad.cpp"
    if "$script" "$tmp" 2>/dev/null >/dev/null; then
      echo "self-test: '$planted' was not detected" >&2
      exit 1
    fi
  done
  echo "self-test: every planted citation was detected"
  exit 0
fi

root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"

# Every text file of the tree but build output, VCS data and this script.
list_files() {
  find . \( -name .git -o -name 'build*' -o -name 'obj-*' -o -path ./debian/jobwarden \
            -o -path ./debian/.debhelper \) -prune -o -type f ! -name "$self" -print0
}

status=0
outside='PRODUCT\.md|ENGINEERING\.md|ci-integration\.md|gitlab-custom-executor\.md|prior-art\.md'
outside+='|shared/docs|\.\./shared|spec(ification)?('"'"'s)? section [0-9]|§'
if list_files | xargs -0 grep -InE "$outside" --; then
  echo "check_citations: the lines above cite a document the repository does not have;" \
       "write what matters into README.md, HACKING.md or docs/ and cite that" >&2
  status=1
fi

# Citations of the repository's own documents must resolve.
while IFS= read -r cited; do
  if [[ ! -f "$cited" ]]; then
    echo "check_citations: '$cited' is cited but does not exist" >&2
    list_files | xargs -0 grep -InF -- "$cited" | head -3 >&2 || true
    status=1
  fi
done < <(list_files | xargs -0 grep -IhoE '(^|[^A-Za-z0-9_./-])docs/[A-Za-z0-9_-]+\.md' -- \
           | sed -E 's#^[^d]*##' | sort -u)
exit $status
