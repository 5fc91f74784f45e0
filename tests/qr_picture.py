#!/usr/bin/python3
"""Turns the QR code a PAM conversation printed back into a picture, as a
terminal would show it, for a QR reader (zbarimg) to decode.

Reads the pam_driver's output (its "[info] " lines), finds the first message
that is a half-block drawing, and writes a binary PGM of it: each glyph is one
column of two modules, the upper and the lower half of a terminal cell; what a
glyph draws is light (the terminal's foreground), the rest dark (its
background), and a dark border stands for the rest of the screen. Prints the
message shown just above the drawing (the URL) on stdout.

  qr_picture.py DRIVER_OUTPUT PICTURE.pgm [--scale PIXELS_PER_MODULE]

Standard library only; run with /usr/bin/python3.
"""

import argparse
import sys

# glyph -> (upper half drawn, lower half drawn)
HALVES = {" ": (False, False), "\u2580": (True, False),
          "\u2584": (False, True), "\u2588": (True, True)}
INFO = "[info] "
BORDER_MODULES = 4  # the dark screen around the drawing


def is_drawing_line(line):
    return line != "" and all(c in HALVES for c in line)


def find_drawing(lines):
    """(the message above the drawing, the drawing's lines)."""
    for i, line in enumerate(lines):
        if line.startswith(INFO) and is_drawing_line(line[len(INFO):]):
            drawing = [line[len(INFO):]]
            for following in lines[i + 1:]:
                if not is_drawing_line(following):
                    break
                drawing.append(following)
            above = lines[i - 1] if i > 0 else ""
            if not above.startswith(INFO):
                raise SystemExit("qr_picture.py: no message above the drawing")
            return above[len(INFO):], drawing
    raise SystemExit("qr_picture.py: no half-block drawing in the output")


def modules(drawing):
    """Rows of booleans (light), two per line of the drawing."""
    rows = []
    for line in drawing:
        rows.append([HALVES[c][0] for c in line])
        rows.append([HALVES[c][1] for c in line])
    return rows


def write_pgm(rows, path, scale):
    width = max(len(r) for r in rows) + 2 * BORDER_MODULES
    height = len(rows) + 2 * BORDER_MODULES
    dark_row = [False] * width
    padded = [dark_row] * BORDER_MODULES
    for row in rows:
        pad = [False] * BORDER_MODULES
        padded.append(pad + row + [False] * (width - len(row) - BORDER_MODULES))
    padded += [dark_row] * BORDER_MODULES
    with open(path, "wb") as out:
        out.write(b"P5\n%d %d\n255\n" % (width * scale, height * scale))
        for row in padded:
            line = b"".join((b"\xff" if light else b"\x00") * scale
                            for light in row)
            out.write(line * scale)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("driver_output")
    parser.add_argument("picture")
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    with open(args.driver_output, encoding="utf-8") as source:
        lines = source.read().split("\n")
    above, drawing = find_drawing(lines)
    write_pgm(modules(drawing), args.picture, args.scale)
    print(above)
    print(f"qr_picture.py: {len(drawing[0])} columns, {len(drawing)} lines",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
