#!/bin/sh
# The man pages (docs/man/): every page the build generated renders without
# a single warning, with groff's every warning on and as Debian's package
# checks run man, and has a NAME line for whatis; after `cmake --install`
# into a temporary prefix, man finds them there; every function
# include/zmtls.h declares has a section 3 page, and every option id a row
# in zmtls(3).
# Usage: man.sh BUILD_DIR SOURCE_DIR MANDIR (MANDIR: CMAKE_INSTALL_MANDIR)
set -eu
build=$1
src=$2
mandir_rel=$3
pages=$build/docs/man
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
LC_ALL=C.UTF-8
MANWIDTH=80
MANROFFSEQ=
export LC_ALL MANWIDTH MANROFFSEQ
status=0
fail() {
    echo "man.sh: $*"
    status=1
}
# Whatever a command wrote on stderr is a failure, shown.
quiet() {
    what=$1
    shift
    if ! "$@" > /dev/null 2> "$tmp/err" || [ -s "$tmp/err" ]; then
        fail "$what:"
        cat "$tmp/err"
    fi
}

# Rendering, from the man root so that the .so pages resolve.
test -d "$pages" || { echo "man.sh: $pages missing: build the tree first"; exit 1; }
n=0
cd "$pages"
for page in man[1-8]/*.[1-8]; do
    [ -f "$page" ] || continue
    n=$((n + 1))
    quiet "$page: groff -Tutf8" groff -s -t -man -Tutf8 -ww -z "$page"
    quiet "$page: groff -Tascii" groff -s -t -man -Tascii -ww -z "$page"
    quiet "$page: man --warnings" man --warnings -E UTF-8 -l -Tutf8 -Z "$page"
    # The NAME line man-db indexes for whatis and apropos.
    quiet "$page: lexgrog finds no NAME" lexgrog "$page"
done
cd - > /dev/null
[ "$n" -gt 0 ] || fail "no pages under $pages"
echo "man.sh: $n pages rendered"

# Installed, man finds them.
case $mandir_rel in
/*) mandir=$tmp/prefix$mandir_rel ;;
*) mandir=$tmp/prefix/$mandir_rel ;;
esac
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
for page in "$pages"/man[1-8]/*.[1-8]; do
    rel=${page#"$pages"/}
    test -f "$mandir/$rel" || fail "$rel not installed in $mandir"
done
found=$(man -M "$mandir" -w zmq_tls 2> "$tmp/err" || true)
[ "$found" = "$mandir/man7/zmq_tls.7" ] ||
    fail "man -M $mandir -w zmq_tls: '$found' $(cat "$tmp/err")"
man -M "$mandir" 7 zmq_tls | grep -q 'ZeroMQ over TLS 1.3' ||
    fail "man -M $mandir 7 zmq_tls does not show the page"
for name in 1:zmtls-run 1:zmtls-certs 3:zmtls; do
    man -M "$mandir" -w "${name%%:*}" "${name#*:}" > /dev/null 2>&1 ||
        fail "no page ${name#*:}(${name%%:*})"
done

# One page, or a name in one page's NAME section, per public function.
funcs=$(grep -o '^ZMTLS_EXPORT [^(]*zmtls_[a-z_]*(' "$src/include/zmtls.h" |
        sed 's/.*\(zmtls_[a-z_]*\)(/\1/')
[ -n "$funcs" ] || fail "no functions found in include/zmtls.h"
for f in $funcs; do
    if ! man -M "$mandir" -w 3 "$f" > /dev/null 2>&1; then
        fail "$f has no section 3 page: add docs/man/$f.3.md, or name it in a page's NAME"
    elif ! man -M "$mandir" 3 "$f" 2> /dev/null | sed -n '/^NAME/,/^[A-Z]/p' | grep -qw "$f"; then
        fail "man 3 $f shows a page whose NAME does not list $f"
    fi
done
echo "man.sh: a section 3 page for each of $(echo "$funcs" | wc -w) functions"

# zmtls(3) lists every option id.
opts=$(sed -n 's/^#define \(ZMTLS_[A-Z_]*\) *(ZMTLS_OPTION_BASE *+.*/\1/p' "$src/include/zmtls.h")
man -M "$mandir" 3 zmtls > "$tmp/zmtls.txt" 2> /dev/null
for o in $opts; do
    grep -qw "$o" "$tmp/zmtls.txt" || fail "zmtls(3) does not list the option $o"
done
echo "man.sh: zmtls(3) lists $(echo "$opts" | wc -w) option ids"
exit $status
