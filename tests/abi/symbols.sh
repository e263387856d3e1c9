#!/bin/sh
# The ABI of libzmtls: what it exports against the list kept in the tree
# (libzmtls.symbols), and every function declared in include/zmtls.h marked
# ZMTLS_EXPORT. Usage: symbols.sh LIBRARY SOURCE_DIR
set -eu
lib=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' "$src/tests/abi/libzmtls.symbols" | sort > "$tmp/expected"
nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwDdBbVviR]$/ { print $3 }' | sort > "$tmp/exported"
status=0
if ! diff -u "$tmp/expected" "$tmp/exported"; then
    echo "symbols.sh: $lib exports differ from tests/abi/libzmtls.symbols (- listed, + exported)"
    status=1
fi
# Each zmtls_ function the header declares is exported and marked.
for f in $(grep -o '^ZMTLS_EXPORT [^(]*zmtls_[a-z_]*(' "$src/include/zmtls.h" |
           sed 's/.*\(zmtls_[a-z_]*\)(/\1/'); do
    grep -qx "$f" "$tmp/exported" || { echo "symbols.sh: $f declared, not exported"; status=1; }
done
unmarked=$(grep -n '^[a-z].*zmtls_[a-z_]*(' "$src/include/zmtls.h" | grep -v 'ZMTLS_EXPORT' || true)
if [ -n "$unmarked" ]; then
    echo "symbols.sh: declarations without ZMTLS_EXPORT:"
    echo "$unmarked"
    status=1
fi
[ $status -eq 0 ] && echo "symbols.sh: $(wc -l < "$tmp/exported") symbols, as listed"
exit $status
