#!/usr/bin/python3
"""The user of a device sign-in (RFC 8628), played for the tests: reads what the login showed,
and approves or denies the code at the provider's verification page, as a phone would.

    device_user.py --ca CA --decision approve|deny|none [--save FILE] [--account NAME]
        As a pam_driver --answer-command: the transcript on stdin. Finds the address and the
        user code the module showed, writes "ADDRESS CODE" to FILE, acts on the decision
        (none: just read), then answers Enter (an empty line).

    device_user.py --ca CA --decision approve|deny --from FILE [--account NAME]
        Later (after the login, from a saved FILE): the decision alone.

    device_user.py --ca CA --decision ... --show-from FILE
        The same for text an oauth-keyring login --device printed (its "open" and "code"
        lines), e.g. a transcript of an ssh session.

Standard library only. Exits 1 when no code was shown or the provider refused the decision.
"""
import argparse
import re
import ssl
import sys
import time
import urllib.parse
import urllib.request

# What the module and `oauth-keyring login --device` print (pam_module/login_flow.c
# show_device_offer, cli/login.c): "open   ADDRESS" (or "Or, on your phone or another
# computer, open ADDRESS") and "code   CODE".
OPEN_LINE = re.compile(r"open\s+(https://\S+)")
CODE_LINE = re.compile(r"code\s{2,}([A-Za-z0-9-]+)")


def shown(text):
    address = OPEN_LINE.findall(text)
    code = CODE_LINE.findall(text)
    if not address or not code:
        return None
    return address[-1], code[-1]


def decide(ca, address, code, decision, account):
    context = ssl.create_default_context(cafile=ca)
    body = urllib.parse.urlencode({"user_code": code, "decision": decision}).encode()
    request = urllib.request.Request(address.split("?")[0], data=body, method="POST")
    request.add_header("Cookie", f"test_idp_account={account}")
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        return answer.status


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", required=True)
    parser.add_argument("--decision", choices=("approve", "deny", "none"), required=True)
    parser.add_argument("--save")
    parser.add_argument("--from", dest="source")
    parser.add_argument("--show-from")
    parser.add_argument("--account", default="test-user")
    parser.add_argument("--enter-time", help="write the time of Enter (ms since the epoch)")
    args = parser.parse_args()
    if args.source:
        with open(args.source) as saved:
            found = tuple(saved.read().split())
    elif args.show_from:
        with open(args.show_from, errors="replace") as printed:
            found = shown(printed.read())
    else:
        found = shown(sys.stdin.read())
    if not found or len(found) != 2:
        print("device_user.py: no address and code shown", file=sys.stderr)
        return 1
    if args.save:
        with open(args.save, "w") as saved:
            saved.write(" ".join(found) + "\n")
    if args.decision != "none" and decide(args.ca, *found, args.decision, args.account) != 200:
        return 1
    if not args.source and not args.show_from:
        if args.enter_time:
            with open(args.enter_time, "w") as when:
                when.write(f"{int(time.time() * 1000)}\n")
        print("")  # Enter
    return 0


if __name__ == "__main__":
    sys.exit(main())
