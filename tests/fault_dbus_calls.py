#!/usr/bin/python3
"""Counts D-Bus method calls in dbus-monitor's text output, for the fault tests.

  fault_dbus_calls.py FILE MEMBER [NEEDLE]

Prints one line: "calls=N errors=M replies=R error_names=A,B" for the calls to MEMBER (e.g.
CreateItem) whose arguments contain the string NEEDLE (e.g. a keyring item's service
attribute), with how many of them were answered by an error and how many by a method return
(the monitor's match rules must include errors and method returns for those to be seen).
Never prints an argument: they may be secrets (encrypted or not).
"""
import re
import sys

HEADER = re.compile(r"^(method call|method return|error|signal) time=\S+ (.*)$")


def messages(lines):
    """(kind, fields, body) for each message of the monitor's output."""
    kind = fields = None
    body = []
    for line in lines:
        match = HEADER.match(line)
        if match:
            if kind is not None:
                yield kind, fields, "".join(body)
            kind = match.group(1)
            fields = dict(re.findall(r"(\w+)=(\S+)", match.group(2).replace(";", " ")))
            body = []
        elif kind is not None:
            body.append(line)
    if kind is not None:
        yield kind, fields, "".join(body)


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    member = argv[2]
    needle = '"%s"' % argv[3] if len(argv) == 4 else None
    with open(argv[1], encoding="utf-8", errors="replace") as file:
        parsed = list(messages(file))
    calls = set()
    for kind, fields, body in parsed:
        if (kind == "method call" and fields.get("member") == member
                and (needle is None or needle in body)):
            calls.add((fields.get("sender"), fields.get("serial")))
    errors, replies, names = 0, 0, []
    for kind, fields, body in parsed:
        if (fields.get("destination"), fields.get("reply_serial")) not in calls:
            continue
        if kind == "error":
            errors += 1
            names.append(fields.get("error_name", "?"))
        elif kind == "method return":
            replies += 1
    print("calls=%d errors=%d replies=%d error_names=%s"
          % (len(calls), errors, replies, ",".join(sorted(set(names)))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
