#!/bin/bash
# The man pages: no warnings from man (groff) and a NAME section lexgrog
# reads (what mandb and apropos index); every option the programs' --help
# lists is in its page. man-check.sh SOURCE_ROOT MEMWARDEND MEMWARDENCTL
set -uo pipefail
src=$1 daemon=$2 ctl=$3
command -v man >/dev/null && command -v lexgrog >/dev/null || { echo "SKIP: man-db is not installed"; exit 77; }
bad=0
for page in "$src"/docs/man/*.[1-8]; do
    warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null)
    if [ -n "$warn" ]; then
        echo "$page: man --warnings:"; echo "$warn"; bad=1
    fi
    if ! lexgrog "$page" >/dev/null; then
        echo "$page: lexgrog finds no NAME section"; bad=1
    fi
done
# Each --option of the program's help, as the page spells it (roff's \-).
options_in() { # page program
    local o
    for o in $("$2" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$1" || { echo "$1: no $o (in $2 --help)"; bad=1; }
    done
}
options_in "$src/docs/man/memwardend.8" "$daemon"
options_in "$src/docs/man/memwardenctl.1" "$ctl"
# ... and each memwardenctl command.
for c in $("$ctl" --help | sed -n '/^Commands:/,/^$/p' | awk '/^  [a-z]/ {print $1}'); do
    grep -q "^\.B.* $c\b\|^\.B $c\|^\.BI $c\|^\.BR $c" "$src/docs/man/memwardenctl.1" || { echo "memwardenctl.1: no command $c"; bad=1; }
done
[ $bad = 0 ] && echo "man pages: no warnings, NAME sections, every option and command"
exit $bad
