#!/bin/sh
# Writes debian/libzmtls0.symbols, the Debian symbols file of libzmtls, from
# tests/abi/libzmtls.symbols (the list of what the library exports, which
# the abi.symbols test holds the library to). A symbol keeps the version
# the file already records for it, the first release that exported it; a
# new one gets the version in CMakeLists.txt's project(). A symbol that left
# the list is an error: removing one breaks programs built against the
# library, and needs a new soname (libzmtls1), not an edit here.
#
#   deb-symbols.sh [--check] [SOURCE_DIR]
#
# --check writes nothing and fails when the file is not what it would write
# (the lint.debian test runs it so).
set -eu
check=0
if [ "${1-}" = "--check" ]; then
    check=1
    shift
fi
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
list=$root/tests/abi/libzmtls.symbols
out=$root/debian/libzmtls0.symbols
version=$(sed -n 's/^project(zmtls VERSION \([0-9][0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
if [ -z "$version" ]; then
    echo "deb-symbols.sh: no project(zmtls VERSION x.y.z) in $root/CMakeLists.txt" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -v -e '^#' -e '^[[:space:]]*$' "$list" | sort -u > "$tmp/names"
touch "$tmp/recorded"
if [ -f "$out" ]; then
    # " name@Base version" lines; the header and "* Field:" lines skipped.
    sed -n 's/^ \([A-Za-z_][A-Za-z0-9_]*\)@Base \([^ ]*\)$/\1 \2/p' "$out" | sort > "$tmp/recorded"
fi
gone=$(cut -d' ' -f1 "$tmp/recorded" | sort | comm -23 - "$tmp/names")
if [ -n "$gone" ]; then
    echo "deb-symbols.sh: exported before, no longer in tests/abi/libzmtls.symbols:" >&2
    echo "$gone" | sed 's/^/  /' >&2
    echo "deb-symbols.sh: removing a symbol needs a new soname, not a new symbols file" >&2
    exit 1
fi

{
    echo "libzmtls.so.0 libzmtls0 #MINVER#"
    echo "* Build-Depends-Package: libzmtls-dev"
    # (FILENAME, not NR == FNR: the recorded list may be empty.)
    awk -v v="$version" -v rec="$tmp/recorded" 'FILENAME == rec { seen[$1] = $2; next }
                         { print " " $1 "@Base " ($1 in seen ? seen[$1] : v) }' \
        "$tmp/recorded" "$tmp/names"
} > "$tmp/symbols"

if [ $check -eq 1 ]; then
    if ! diff -u "$out" "$tmp/symbols"; then
        echo "deb-symbols.sh: debian/libzmtls0.symbols is not up to date with" \
            "tests/abi/libzmtls.symbols: run scripts/deb-symbols.sh" >&2
        exit 1
    fi
    exit 0
fi
cp "$tmp/symbols" "$out"
echo "deb-symbols.sh: $out: $(wc -l < "$tmp/names") symbols"
