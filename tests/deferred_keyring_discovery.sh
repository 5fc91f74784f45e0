#!/bin/bash
# deferred_keyring.sh's first case with a configuration that names only the issuer (issue 21,
# item 1): the keyring is not up at the session, the login's code goes to the refresher before
# the helper fetched any metadata, and the refresher discovers the token endpoint itself, then
# exchanges and stores once the keyring is up.
DEFERRED_DISCOVERY=1 exec bash "${top_srcdir:-.}/tests/deferred_keyring.sh"
