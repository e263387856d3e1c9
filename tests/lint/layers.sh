#!/bin/sh
# The folders of plugin/ in layer order, bottom first. A file may include
# headers of its own folder and of the folders before it, never of one after
# it; a folder missing from the list fails too, so a new folder must be
# given its place here. docs/design-notes.md ("Layers") says what each holds.
LAYERS="log real buf zmtp endpoint socks policy reactor tls bridge zap monitor io peers epcfg conn ep shim"

set -eu
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root/plugin"

rank() {
    i=0
    for l in $LAYERS; do
        [ "$l" = "$1" ] && { echo "$i"; return; }
        i=$((i + 1))
    done
    echo -1
}

bad=0
checked=0
for dir in */; do
    dir=${dir%/}
    own=$(rank "$dir")
    if [ "$own" -lt 0 ]; then
        echo "plugin/$dir/: folder not in the layer list (tests/lint/layers.sh)"
        bad=1
        continue
    fi
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        checked=$((checked + 1))
        # '#include "folder/file.h"' only: <system> and "zmtls.h" are free
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)\/[^"]*".*/\1/p' "$f"); do
            r=$(rank "$inc")
            if [ "$r" -lt 0 ] || [ "$r" -gt "$own" ]; then
                echo "plugin/$f includes $inc/: above $dir/ in the layer order"
                bad=1
            fi
        done
    done
done
echo "layers: $checked files checked against: $LAYERS"
exit $bad
