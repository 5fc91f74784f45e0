#!/usr/bin/python3
"""Turns the redirect address browser.py printed (stdin) into a hostile answer (stdout).

  mangle_answer.py MODE
    huge           1 MiB of letters
    control        the address with a control byte (0x01) inside
    nul            the address cut by a NUL byte before its state
    two-codes      a second code= parameter
    percent-nul    the code with %00 in it
    percent-line   the code with %0A in it
    double-state   the state percent-encoded twice
    other-issuer   iss= of another issuer
"""
import sys
import urllib.parse


def main(mode):
    url = sys.stdin.readline().strip()
    head, _, query = url.partition("?")
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    values = dict(pairs)
    if mode == "huge":
        out = "A" * (1024 * 1024)
    elif mode == "control":
        out = url.replace("code=", "code=\x01", 1)
    elif mode == "nul":
        out = url.replace("&state=", "\0&state=", 1)
    elif mode == "two-codes":
        out = url + "&code=" + values["code"][::-1]
    elif mode == "percent-nul":
        out = url.replace("code=", "code=%00", 1)
    elif mode == "percent-line":
        out = url.replace("code=", "code=%0A", 1)
    elif mode == "double-state":
        state = urllib.parse.quote(urllib.parse.quote(values["state"] + "/", safe=""), safe="")
        out = url.replace(urllib.parse.quote(values["state"], safe=""), state, 1)
    elif mode == "other-issuer":
        pairs = [(k, "https://evil.example" if k == "iss" else v) for k, v in pairs]
        out = head + "?" + urllib.parse.urlencode(pairs)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
