#!/bin/sh
# debian/ in step with the tree, without building a package (that needs
# debhelper; scripts/deb.sh does it): the symbols file says what
# tests/abi/libzmtls.symbols says, and the package version in
# debian/changelog is the one in CMakeLists.txt's project().
# Usage: debian.sh SOURCE_DIR
set -eu
src=$1
status=0
sh "$src/scripts/deb-symbols.sh" --check "$src" || status=1

version=$(sed -n 's/^project(zmtls VERSION \([0-9][0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
# First line: "zmtls (VERSION) DISTRIBUTION; urgency=...". The package is
# native (debian/source/format), so VERSION has no Debian revision.
changelog=$(sed -n '1s/^zmtls (\([^)]*\)) .*/\1/p' "$src/debian/changelog")
if [ "$changelog" != "$version" ]; then
    echo "debian.sh: debian/changelog says '$changelog', CMakeLists.txt project() '$version'"
    status=1
fi
[ $status -eq 0 ] && echo "debian.sh: debian/ matches version $version and the ABI list"
exit $status
