#!/bin/bash
# The layout is the architecture (docs/ARCHITECTURE.md, "Source map"): a folder includes
# headers only from itself and the folders below it. The module's folder sees common/ alone,
# so nothing user-side (GLib, json-c, libsecret, libcurl) can reach the PAM application.
set -u
. "$(dirname "$0")/lib.sh"
cd "$top_srcdir" || fail "no source tree"

# folder: the folders it may include from
declare -A allowed=(
    [common]="common"
    [oauth]="oauth common"
    [store]="store oauth common"
    [helper]="helper store oauth common"
    [refresher]="refresher store oauth common"
    # oauth-keyring check reads the configuration with the module's parser and runs the
    # helper with the module's privilege drop (both plain libc): cli/check*.c only.
    [cli]="cli store oauth common"
    [pam_module]="pam_module common"
)

bad=0
for folder in "${!allowed[@]}"; do
    for file in "$folder"/*.[ch]; do
        [ -e "$file" ] || continue
        while IFS= read -r included; do
            case " ${allowed[$folder]} " in
            *" ${included%%/*} "*) ;;
            *)
                echo "$file includes $included: $folder/ may include only from ${allowed[$folder]}"
                bad=$((bad + 1))
                ;;
            esac
        done < <(sed -n 's/^#include "\([a-z_]*\/[^"]*\)".*/\1/p' "$file" |
            if [[ $file == cli/check*.c ]]; then grep -v '^pam_module/'; else cat; fi)
        if grep '^#include "' "$file" | grep -v '"config.h"' | grep -qv '"[a-z_]*/'; then
            echo "$file: a project header included without its folder"
            bad=$((bad + 1))
        fi
    done
done
[ "$bad" = 0 ] || fail "$bad include(s) against the layers"
pass "every include names its folder and points down the layers"
