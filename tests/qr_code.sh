#!/bin/bash
# The `qr` module argument through the real libpam: a login with it shows a QR code under the
# authorization URL, which, drawn as a light-on-dark terminal shows it, zbarimg decodes to
# exactly the URL printed above it (and the login completes); a login without it shows none.
# Then stand-in helpers send drawings with an escape sequence, a C1 control or a foreign
# glyph: the module shows none of them, nor any of their bytes, while it shows a well-formed
# one as it came, and the URL field keeps no byte outside printable ASCII.
set -u
. "${top_srcdir:-.}/tests/lib.sh"
export LC_ALL=C # the greps below look for bytes, not characters

require_tools dbus-run-session gnome-keyring-daemon openssl curl zbarimg

make_workdir
stage_artifacts
cp "$top_srcdir/tests/qr_picture.py" "$WORK/bin/" && chmod 755 "$WORK/bin/qr_picture.py"
start_idp "client-secret-$RANDOM$RANDOM"
SERVICE=pok-qr-test
prepare_private_user qr prompt=always refresher=no </dev/null
sed 's/ debug qr / debug /' "$WORK/pam.d/pok-private" >"$WORK/pam.d/pok-no-qr"
grep -q " qr " "$WORK/pam.d/pok-no-qr" && fail "pok-no-qr still has qr"
grep -q " qr " "$WORK/pam.d/pok-private" || fail "pok-private has no qr"

cat >"$WORK/scenario.sh" <<'SCENARIO'
set -u
session_login url with-qr pok-private
session_login url without-qr pok-no-qr
echo done >"$WORK/out/scenario.done"
SCENARIO
run_private_session "$WORK/scenario.sh" 120
[ -f "$WORK/out/scenario.done" ] || fail "the scenario did not finish"

# --- with qr: the drawing decodes to the URL above it, and the login goes on ---------------
out="$WORK/out/with-qr.out"
grep -q "is now in your keyring" "$out" || fail "the login with qr did not complete: $(cat "$out")"
url=$(grep -o '^\[info\] https://.*' "$out" | head -1 | cut -c8-)
[ -n "$url" ] || fail "no URL shown: $(cat "$out")"
above=$("$PYTHON" "$WORK/bin/qr_picture.py" --scale 4 "$out" "$WORK/qr.pgm" 2>"$WORK/picture.err") ||
    fail "no QR code in the output: $(cat "$WORK/picture.err") $(cat "$out")"
[ "$above" = "$url" ] || fail "the drawing is not right under the URL (above it: '$above')"
decoded=$(zbarimg --raw -q "$WORK/qr.pgm" 2>"$WORK/zbarimg.err") ||
    fail "zbarimg decoded nothing: $(cat "$WORK/zbarimg.err")"
[ "$decoded" = "$url" ] || fail "the QR code says '$decoded', the URL is '$url'"
note "decoded ${#decoded}-character URL from a $(cat "$WORK/picture.err" | cut -d' ' -f2-) drawing"
# What the terminal draws (the blocks) must be the light modules: drawn the other way round,
# the same picture does not decode.
"$PYTHON" - "$WORK/qr.pgm" "$WORK/inverted.pgm" <<'PY' || fail "cannot invert the picture"
import sys
data = open(sys.argv[1], "rb").read()
start = 0
for _ in range(3):
    start = data.index(b"\n", start) + 1
open(sys.argv[2], "wb").write(data[:start] + bytes(255 - b for b in data[start:]))
PY
if zbarimg --raw -q "$WORK/inverted.pgm" >/dev/null 2>&1; then
    fail "the inverted picture decodes too: the test cannot tell which colour the blocks draw"
fi

# --- without qr: no drawing, no qr field asked for -------------------------------------------
out="$WORK/out/without-qr.out"
grep -q "is now in your keyring" "$out" || fail "the login without qr did not complete"
grep -q '^\[info\] https://' "$out" || fail "no URL shown without qr"
if grep -q $'\xe2\x96' "$out"; then
    fail "a login without qr shows block characters: $(cat "$out")"
fi
assert_no_secret_in "$WORK/out/with-qr.log" "$WORK/out/without-qr.log"

# --- stand-in helpers: what the module lets through from the qr and url fields -------------
if [ "$(id -u)" = 0 ]; then TARGET=nobody; else TARGET=$(id -un); fi
mkdir -p "$WORK/stand-in"
write_stand_in_config "$WORK/stand-in/pam.conf"
cat >"$WORK/pam.d/pok-stand-in" <<PAM
auth     required pam_permit.so
auth     optional $MODULE config=$WORK/stand-in/pam.conf minimum_uid=1 state_dir=$WORK/stand-in debug qr
account  required pam_permit.so
session  required pam_permit.so
PAM
# Writes a reply (exact bytes) and a helper that records the request and sends the reply.
"$PYTHON" - "$WORK/stand-in" <<'PY' || fail "cannot write the stand-in replies"
import sys
directory = sys.argv[1]
F, U, L = "\u2588", "\u2580", "\u2584"
drawings = {
    "good": F + U + "\n" + L + " ",
    "escape": F + "\x1b]0;owned\x07" + F + "\x1b[2J",
    "c1": F + "\u009b2J" + F,
    "foreign": F + "\u258c",  # the left half block: not one of ours
}
url = "https://stand-in.example/authorize?x=" + F + "\x1b[31m"
for name, drawing in drawings.items():
    fields = [("url", url), ("verifier", "v" * 43), ("state", "s" * 22), ("qr", drawing)]
    reply = b"POK/1 ok\n"
    for key, value in fields:
        raw = value.encode("utf-8")
        reply += b"%s %d\n%s\n" % (key.encode(), len(raw), raw)
    reply += b"end\n"
    with open(f"{directory}/{name}.reply", "wb") as out:
        out.write(reply)
    with open(f"{directory}/{name}", "w") as helper:
        helper.write(f"#!/bin/sh\ncat >>{directory}/{name}.request\n"
                     f"cat {directory}/{name}.reply\nexit 0\n")
PY
chmod 755 "$WORK/stand-in" "$WORK/stand-in"/{good,escape,c1,foreign}
chmod 644 "$WORK/stand-in"/*.reply
touch "$WORK/stand-in"/{good,escape,c1,foreign}.request
chown "$TARGET" "$WORK/stand-in"/*.request

for name in good escape c1 foreign; do
    out="$WORK/stand-in/$name.out"
    driver_login "$name" --dir "$WORK/stand-in" --service pok-stand-in --user "$TARGET" \
        --helper "$WORK/stand-in/$name" --stand-in --no-answer --timeout 30
    grep -q "pam_open_session: Success" "$out" || fail "$name: the login did not go on: $(cat "$out")"
    grep -q $'^qr 1$' "$WORK/stand-in/$name.request" || fail "$name: the module did not ask for a QR code"
    grep -qF '[info] https://stand-in.example/authorize?x=????[31m' "$out" ||
        fail "$name: the URL was not reduced to printable ASCII: $(cat -v "$out")"
    if grep -q $'\x1b' "$out" || grep -q $'\xc2\x9b' "$out" || grep -q $'\xe2\x96\x8c' "$out"; then
        fail "$name: a hostile byte reached the user: $(cat -v "$out")"
    fi
done
shown=$(cat "$WORK/stand-in/good.out")
[[ "$shown" == *$'\n[info] \xe2\x96\x88\xe2\x96\x80\n\xe2\x96\x84 \n'* ]] ||
    fail "good: the well-formed drawing was not shown as sent: $(cat -v "$WORK/stand-in/good.out")"
for name in escape c1 foreign; do
    if grep -q $'\xe2\x96' "$WORK/stand-in/$name.out"; then
        fail "$name: part of a refused drawing was shown: $(cat -v "$WORK/stand-in/$name.out")"
    fi
    grep -q "no usable QR code" "$WORK/stand-in/$name.log" ||
        fail "$name: the refusal was not logged: $(cat "$WORK/stand-in/$name.log")"
done
pass "qr: the drawing decodes to the URL above it; none without qr; 3 hostile drawings refused"
