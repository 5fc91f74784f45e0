#!/bin/bash
# Where the time of the valid-token paths (pam_open_session, oauth-keyring token) goes,
# beside secret-tool lookup. Run as root from the top of a built tree: bench/profile.sh
set -u
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$top_srcdir/tests/lib.sh"
make_workdir
stage_artifacts
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-bench-profile
prepare_private_user refresher=no </dev/null
cp "$top_srcdir/bench/profile_inner.py" "$WORK/bin/" && chmod a+r "$WORK/bin/profile_inner.py"
echo '"$PYTHON" "$WORK/bin/profile_inner.py"' >"$WORK/profile-session.sh"
run_private_session "$WORK/profile-session.sh" 600
