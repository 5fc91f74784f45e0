#!/usr/bin/python3
"""The PAM recipes of docs/recipes.md, as the tests apply them.

A recipe block is a fenced ```diff block right after a marker line

    <!-- pam-recipe: FILE -->

where FILE is the name of the /etc/pam.d file it changes. Lines starting with a blank are
lines the file already has (compared with runs of blanks squeezed), in order; lines starting
with "+" are added right after the line above them. Several blocks may change one file; they
are applied in the order they appear.

    pam_recipes.py names DOC
        the files the recipes change, one per line, in order of first appearance
    pam_recipes.py apply DOC FILE SOURCE OUT MODULE
        applies FILE's blocks to the stack SOURCE, writing OUT; "pam_oauth_keyring.so" in
        the added lines is replaced by MODULE (a path and extra arguments)
Exits 1 with a message when a block is malformed or a line it names is not in SOURCE.
"""
import re
import sys

MARKER = re.compile(r"^<!-- pam-recipe: ([A-Za-z0-9_.-]+) -->$")


def blocks(document):
    """(file, [lines]) for every marked block."""
    lines = open(document, encoding="utf-8").read().split("\n")
    found = []
    for index, line in enumerate(lines):
        match = MARKER.match(line)
        if not match:
            continue
        if index + 1 >= len(lines) or lines[index + 1] != "```diff":
            sys.exit(f"{document}:{index + 1}: a pam-recipe marker must precede a ```diff block")
        body = []
        for inner in lines[index + 2:]:
            if inner == "```":
                break
            body.append(inner)
        else:
            sys.exit(f"{document}:{index + 1}: unterminated recipe block")
        found.append((match.group(1), body, index + 1))
    if not found:
        sys.exit(f"{document}: no pam-recipe blocks")
    return found


def squeeze(line):
    return " ".join(line.split())


def apply(document, name, source, out, module):
    stack = open(source, encoding="utf-8").read().split("\n")
    mine = [(body, line) for (file, body, line) in blocks(document) if file == name]
    if not mine:
        sys.exit(f"{document}: no recipe for {name}")
    for body, line_number in mine:
        position = -1  # index of the line new lines go after
        added = 0
        for line in body:
            if line.startswith("+"):
                text = line[1:].replace("pam_oauth_keyring.so", module)
                stack.insert(position + 1, text)
                position += 1
                added += 1
            elif line.startswith(" "):
                wanted = squeeze(line)
                for index in range(position + 1, len(stack)):
                    if squeeze(stack[index]) == wanted:
                        position = index
                        break
                else:
                    sys.exit(f"{document}:{line_number}: {name}: no line '{wanted}' "
                             f"after line {position + 1} of {source}")
            else:
                sys.exit(f"{document}:{line_number}: {name}: lines start with ' ' or '+'")
        if added == 0:
            sys.exit(f"{document}:{line_number}: {name}: a recipe block adds nothing")
    with open(out, "w", encoding="utf-8") as output:
        output.write("\n".join(stack))


def main(argv):
    if len(argv) == 3 and argv[1] == "names":
        seen = []
        for file, _, _ in blocks(argv[2]):
            if file not in seen:
                seen.append(file)
        print("\n".join(seen))
        return 0
    if len(argv) == 7 and argv[1] == "apply":
        apply(*argv[2:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
