#!/usr/bin/env bash
# Removes what README.md's tour and the examples in docs/ write into the checkout when run from its root:
# private keys, a live deploy token, releases, reports. The list is .gitignore's: every root-anchored path
# in a section whose comment begins "# What " (so a new output is ignored and cleaned by one line).
# Usage: scripts/clean-tour.sh [-n]   (-n: only print what would be removed)
set -euo pipefail
dry_run=0
[ "${1:-}" = "-n" ] && dry_run=1
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -f .gitignore ] || { echo "clean-tour: no .gitignore in $root" >&2; exit 2; }
section=0 header=0 count=0
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "# What "*) section=1 header=1 ;;
    "#"*) [ "$header" = 1 ] || section=0 ;;  # a header's second line keeps it; a later comment ends it
    /*)
      header=0
      [ "$section" = 1 ] || continue
      path="${line#/}"; path="${path%/}"
      case "$path" in ""|*..*|*[*?[]*|*/*) echo "clean-tour: skipping $line (not a plain name)" >&2; continue ;; esac
      if [ -e "$path" ] || [ -L "$path" ]; then
        count=$((count + 1))
        if [ "$dry_run" = 1 ]; then echo "would remove $path"; else rm -rf -- "$path"; echo "removed $path"; fi
      fi ;;
    *) section=0 header=0 ;;
  esac
done < .gitignore
echo "clean-tour: $count path(s)$([ "$dry_run" = 1 ] && echo ' would be') removed"
