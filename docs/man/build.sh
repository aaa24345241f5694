#!/usr/bin/env bash
# Generates the manual pages and the bash completion from the repository's
# documents and the built binary's own command-line definitions:
#   docs/man/build.sh JOBWARDEN_BINARY OUTPUT_DIR VERSION
# writes OUTPUT_DIR/jobwarden.1, jobwarden.yml.5 and jobwarden.bash-completion.
# Needs pandoc. The date in the page footer is SOURCE_DATE_EPOCH's (set by
# dpkg-buildpackage from debian/changelog) when set, so builds are reproducible.
set -euo pipefail
binary=$1 out=$2 version=$3
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
mkdir -p "$out"
"$binary" --markdown-reference >"$out/cli-reference.md"
"$binary" --bash-completion >"$out/jobwarden.bash-completion"
date_args=()
if [[ -n ${SOURCE_DATE_EPOCH:-} ]]; then
  date_args=(-M "date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)")
fi
for page in jobwarden.1 jobwarden.yml.5; do
  pandoc --standalone --from markdown --to man \
    --lua-filter "$here/include.lua" \
    -M "source-dir=$source_dir" -M "cli-reference=$out/cli-reference.md" \
    -M "doc-dir=/usr/share/doc/jobwarden" -M "footer=jobwarden $version" "${date_args[@]}" \
    "$here/$page.md" -o "$out/$page.tmp"
  mv "$out/$page.tmp" "$out/$page"
done
