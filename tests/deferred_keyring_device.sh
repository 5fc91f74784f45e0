#!/bin/bash
# deferred_keyring.sh's first case with the device grant (issue 21, item 2): the issuer alone,
# sign_in = device, the code approved at the prompt; the keyring is not up at the session, so
# the helper polls nothing and hands the device code to the refresher, which polls once the
# keyring is up and stores the pair.
DEFERRED_DEVICE=1 DEFERRED_DISCOVERY=1 exec bash "${top_srcdir:-.}/tests/deferred_keyring.sh"
