#!/usr/bin/env bash
# The repository owns its contract: code, comments, tests and docs cite only
# documents the repository has. Fails when a file under ROOT (default: the
# repository) names, in prose (Markdown files, comments elsewhere), a Markdown
# document that does not exist under ROOT (a path such as docs/x.md or
# ../README.md must resolve from the citing file's folder or from ROOT, and stay
# inside ROOT; a bare name such as X.md must be the name of some file under
# ROOT), or refers to a numbered section ("section 4", or the section sign
# followed by a number) without naming, on the same line, a file the
# repository has.
#   check_citations.sh [ROOT]
#   check_citations.sh --self-test   (proves the check fails on planted citations)
set -euo pipefail
self=$(basename "$0")
sign=$(printf '\302\247')  # U+00A7, the section sign, as UTF-8

if [[ "${1:-}" == --self-test ]]; then
  script="$(cd "$(dirname "$0")" && pwd)/$self"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/docs" "$tmp/src"
  echo '# Exists' >"$tmp/docs/exists.md"
  printf '%s\n' '// see docs/exists.md' '// see section 2 of docs/exists.md' '// exists.md says so' \
    "// docs/exists.md ${sign}3" >"$tmp/src/ok.cpp"
  "$script" "$tmp" || { echo "self-test: a clean tree was rejected" >&2; exit 1; }
  for planted in '// as OUTSIDE.md promises' '// see the specification, section 4' "// rule ${sign}4" \
                 '// see ../elsewhere/docs/x.md' '// see docs/missing.md'; do
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

# The rule itself, over the repository's files (git's list in a checkout, else
# every file but build output and VCS data) but this script. Only prose counts: Markdown files, and comments (after
# `//` or `#`) elsewhere, where a file name in code is data, not a citation.
python3 - "$self" "$sign" <<'PY'
import os, re, sys
self_name, sign = sys.argv[1], sys.argv[2]
skip_dirs = {'.git', 'node_modules', '.debhelper'}
files = []
# In a git checkout, what git would commit (tracked, or new and not ignored):
# generated output (bench/out/, build trees) neither cites nor is cited, so a
# developer's tree and CI's clean clone give the same answer.
import subprocess
listed = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard', '-z'], capture_output=True)
if listed.returncode == 0 and os.path.exists('.git'):
    files = ['./' + f for f in listed.stdout.decode().split('\0')
             if f and os.path.basename(f) != self_name and os.path.isfile(f)
             and not f.startswith(tuple(d + '/' for d in skip_dirs))]
else:
    for d, dirs, names in os.walk('.'):
        dirs[:] = [x for x in dirs if x not in skip_dirs and not x.startswith(('build', 'obj-'))
                   and os.path.join(d, x) != './debian/jobwarden']
        files += [os.path.join(d, n) for n in names if n != self_name]
basenames = {os.path.basename(f) for f in files}
md_name = re.compile(r'(?<![A-Za-z0-9_./:$}-])([A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md)\b')
any_name = re.compile(r'[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.[A-Za-z]+\b')
section = re.compile(r'([Ss]ection|' + re.escape(sign) + r') ?[0-9]')

def exists_here(name, citing):
    if '/' not in name:
        return name in basenames
    for base in (os.path.dirname(citing), '.'):
        path = os.path.normpath(os.path.join(base, name))
        if not path.startswith('..') and os.path.isfile(path):
            return True
    return False

def prose(path, line):
    if path.endswith('.md'):
        return line
    m = re.search(r'(//|(^|\s)#)\s', line)
    return line[m.end():] if m else ''

bad = 0
for f in files:
    try:
        lines = open(f, encoding='utf-8').read().splitlines()
    except (UnicodeDecodeError, OSError):
        continue
    for n, line in enumerate(lines, 1):
        text = prose(f, line)
        if not text:
            continue
        for cited in md_name.findall(text):
            if not exists_here(cited, f):
                print(f"check_citations: {f}:{n}: cites '{cited}', which the repository does not have", file=sys.stderr)
                bad = 1
        if section.search(text) and not any(exists_here(x, f) for x in any_name.findall(text)):
            print(f"check_citations: {f}:{n}: a numbered section of no document the repository has: {line.strip()}", file=sys.stderr)
            bad = 1
if bad:
    print("check_citations: write what matters into README.md, HACKING.md or docs/ and cite that", file=sys.stderr)
sys.exit(bad)
PY
