#!/usr/bin/python3
"""A hostile (or plain) client of the refresher's loopback listener, for the sign-in tests.

    loopback_client.py URL [--host VALUE] [--pad BYTES] [--trickle] [--limit SECONDS] [--mapped]
                           [--jar FILE] [--location] [--body FILE] [--head FILE]

Sends one GET of URL (http://127.0.0.1:PORT/path?query) over a raw socket and prints what
came back as "STATUS SECONDS" (the status code of the answer's first line, and how long the
answer took); "none SECONDS" when the listener closed without an answer, "refused 0" when
nothing listens. With --location, a third word: the answer's Location header ("-": none).

  --host VALUE   the Host header to send instead of the URL's own (a rebinding name)
  --pad BYTES    an extra header of that many bytes (an oversized request)
  --trickle      sends the request line and the Host header, then one byte of a header every
                 0.2 s and never the blank line that ends the request (a slowloris client)
  --limit S      gives up after S seconds (default 15)
  --mapped       connects as a dual-stack client does (Java's default stack): an AF_INET6
                 socket to the IPv4-mapped address ::ffff:127.0.0.1 (the Host header stays
                 the URL's)
  --jar FILE     a browser's cookie jar, one "name=value" a line: sent as the Cookie header
                 when FILE has any, and every Set-Cookie of the answer (its name=value)
                 written back into it, as a browser keeps what the start address sets
  --head FILE    the answer's status line and headers written to FILE

The answer's body is written to --body FILE when given. Standard library only.
"""

import argparse
import socket
import sys
import time
import urllib.parse


def read_jar(path):
    """The cookies of the jar at path, name to value, in order; none when it is missing."""
    try:
        with open(path, encoding="ascii") as jar:
            lines = [line.strip() for line in jar if "=" in line]
    except FileNotFoundError:
        return {}
    return dict(line.split("=", 1) for line in lines)


def keep_cookies(path, header_lines):
    """Every Set-Cookie's name=value into the jar at path (its attributes are not kept)."""
    jar = read_jar(path)
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "set-cookie":
            pair = value.strip().split(";", 1)[0]
            key, _, cookie = pair.partition("=")
            jar[key] = cookie
    with open(path, "w", encoding="ascii") as out:
        out.writelines(f"{key}={value}\n" for key, value in jar.items())


def request_head(url, host, pad, cookies=None):
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"GET {target} HTTP/1.1", f"Host: {host or parts.netloc}",
             "User-Agent: loopback-client/1", "Accept: text/html"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if pad:
        lines.append("X-Pad: " + "a" * pad)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock, deadline):
    """Everything the listener sends until it closes its side or the deadline passes."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def trickle(sock, head, deadline):
    """The request line and Host at once, then a header a byte at a time, never ended; stops
    as soon as the listener answers or closes."""
    first_lines = head.split(b"\r\n")[:2]
    sock.sendall(b"\r\n".join(first_lines) + b"\r\nX-Slow: ")
    sock.settimeout(0.2)
    data = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            continue
        except socket.timeout:
            pass
        except ConnectionResetError:
            break
        try:
            sock.sendall(b"a")
        except OSError:
            break
    return data + read_answer(sock, min(deadline, time.monotonic() + 1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--host")
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--trickle", action="store_true")
    parser.add_argument("--limit", type=float, default=15)
    parser.add_argument("--location", action="store_true")
    parser.add_argument("--body")
    parser.add_argument("--mapped", action="store_true")
    parser.add_argument("--jar")
    parser.add_argument("--head")
    args = parser.parse_args()

    parts = urllib.parse.urlsplit(args.url)
    start = time.monotonic()
    deadline = start + args.limit
    try:
        if args.mapped:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(("::ffff:" + parts.hostname, parts.port))
        else:
            sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    except ConnectionRefusedError:
        print("refused 0")
        return 0
    with sock:
        cookies = read_jar(args.jar) if args.jar else None
        head = request_head(args.url, args.host, args.pad, cookies)
        if args.trickle:
            data = trickle(sock, head, deadline)
        else:
            try:
                sock.sendall(head)
            except OSError:
                pass  # the listener may answer and close before it has read everything
            data = read_answer(sock, deadline)
    elapsed = time.monotonic() - start
    head_text, _, body = data.partition(b"\r\n\r\n")
    lines = head_text.decode("latin-1").split("\r\n")
    words = lines[0].split(" ")
    status = words[1] if len(words) > 1 and words[0].startswith("HTTP/") else "none"
    result = f"{status} {elapsed:.4f}"
    if args.location:
        location = [line.split(":", 1)[1].strip() for line in lines[1:]
                    if line.lower().startswith("location:")]
        result += " " + (location[0] if location else "-")
    if args.body:
        with open(args.body, "wb") as out:
            out.write(body)
    if args.head:
        with open(args.head, "w", encoding="latin-1") as out:
            out.write(head_text.decode("latin-1") + "\r\n")
    if args.jar:
        keep_cookies(args.jar, lines[1:])
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
