#!/bin/bash
# t_selfcontained.sh - no file of the repository points outside it: no path
# into a sibling "shared" folder or the machine's /work tree, no reference to
# the design brief or platform notes that live outside the repository (their
# facts are in docs/), and every relative link of README.md and docs/*.md
# names a file that exists.  Files: what git tracks (or, outside a git
# checkout, every file but build/ and results/).
set -u
cd "$(dirname "$0")/.." || exit 1
fails=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files --cached --others --exclude-standard)
else
	mapfile -t files < <(find . -type f ! -path './build*' ! -path './results/*' ! -path './.git/*' | sed 's|^\./||')
fi
self=tests/t_selfcontained.sh
# the patterns are assembled so that this file does not match itself
dots='\.\.'
pats=("$dots/shared" "/work/" "PLATFORM""\\.md" "DESIGN""\\.md" "shared/seed")
for p in "${pats[@]}"; do
	hits=$(for f in "${files[@]}"; do [ "$f" = "$self" ] || [ ! -f "$f" ] || grep -IHnE -- "$p" "$f"; done 2>/dev/null)
	if [ -z "$hits" ]; then
		pass "no file mentions '${p//\\/}'"
	else
		fail "files point outside the repository ('${p//\\/}'): $(head -5 <<<"$hits" | tr '\n' ' ')"
	fi
done

bad=
for md in README.md docs/*.md; do
	[ -f "$md" ] || continue
	dir=$(dirname "$md")
	for link in $(grep -oE '\]\([^)#]+' "$md" | sed 's/^](//' | grep -vE '^[a-z]+:'); do
		[ -e "$dir/$link" ] || bad="$bad $md->$link"
	done
done
if [ -z "$bad" ]; then pass "every relative link of README.md and docs/*.md exists"; else fail "broken links:$bad"; fi
exit $((fails > 0))
