#!/bin/sh
# make-ca.sh DIR
#
# Creates a throwaway PKI for the test identity provider (idp.py) in DIR:
#
#   ca.pem, ca.key                  self-signed test CA (the one tests trust)
#   server.pem, server.key          CN=localhost, SAN IP:127.0.0.1 + DNS:localhost,
#                                   serverAuth, signed by ca.pem
#   other-ca.pem, other-ca.key      a second, unrelated self-signed CA
#                                   ("untrusted certificate" tests)
#   wrong-host.pem, wrong-host.key  signed by ca.pem but only valid for
#                                   DNS:wrong.example ("hostname mismatch" tests)
#
# All keys are EC P-256 (fast to generate) and every certificate is valid for
# one day. DIR is created if needed and set to 0755; certificates are 0644 and
# private keys 0600 (the IdP that reads server.key runs as the same user).
# Quiet on success; on failure the failing openssl command's output is shown.
set -eu

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1

mkdir -p "$dir"
chmod 0755 "$dir"

cnf="$dir/.make-ca.cnf"
err="$dir/.make-ca.err"
cleanup() {
    rm -f "$cnf" "$err" "$dir/server.csr" "$dir/wrong-host.csr"
}
trap cleanup EXIT

# Our own minimal config, so the result does not depend on (and is not
# disturbed by) the distribution's openssl.cnf defaults.
cat >"$cnf" <<'EOF'
[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
# Placeholder only: every command below passes -subj.
CN = placeholder

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = IP:127.0.0.1, DNS:localhost

[ v3_wrong_host ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = DNS:wrong.example
EOF

# run CMD...: run quietly; on failure show what openssl said and stop.
run() {
    if ! "$@" >"$err" 2>&1; then
        echo "make-ca.sh: command failed: $*" >&2
        cat "$err" >&2
        exit 1
    fi
}

# genkey FILE: new EC P-256 private key, never readable by others (the umask
# covers the moment between creation and chmod).
genkey() {
    rm -f "$1"
    (umask 077 && run openssl genpkey -algorithm EC \
        -pkeyopt ec_paramgen_curve:P-256 -out "$1")
    chmod 0600 "$1"
}

# serial: random positive 127-bit serial number, so certificates from
# different runs never share issuer+serial.
serial() {
    printf '0x%s\n' "$(openssl rand -hex 16 | sed 's/^./7/')"
}

# make_ca NAME CN: self-signed CA certificate NAME.pem with key NAME.key.
make_ca() {
    genkey "$dir/$1.key"
    run openssl req -x509 -new -config "$cnf" -extensions v3_ca \
        -key "$dir/$1.key" -subj "/CN=$2" -sha256 -days 1 \
        -set_serial "$(serial)" -out "$dir/$1.pem"
    chmod 0644 "$dir/$1.pem"
}

# make_leaf NAME CN EXTENSIONS: NAME.pem/NAME.key signed by ca.pem.
make_leaf() {
    genkey "$dir/$1.key"
    run openssl req -new -config "$cnf" -key "$dir/$1.key" \
        -subj "/CN=$2" -out "$dir/$1.csr"
    run openssl x509 -req -in "$dir/$1.csr" \
        -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "$(serial)" \
        -extfile "$cnf" -extensions "$3" -sha256 -days 1 \
        -out "$dir/$1.pem"
    chmod 0644 "$dir/$1.pem"
}

make_ca ca "pam-oauth-keyring test CA"
make_ca other-ca "pam-oauth-keyring unrelated test CA"
make_leaf server localhost v3_server
make_leaf wrong-host wrong.example v3_wrong_host
