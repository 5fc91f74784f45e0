#!/usr/bin/python3
"""Plays the user's browser for the PAM test driver.

Reads everything the PAM module showed the user on stdin, finds the first
https:// URL (the authorization URL), "opens" it against the test IdP and
prints to stdout the single line the user would type back. The IdP
auto-approves and answers with a redirect to the application's redirect_uri;
that redirect is never followed, its Location is what the user copies.

Modes (--mode):
  url               the whole redirect URL (default)
  bare-code         only the value of its code parameter
  wrong-state       the redirect URL with state replaced by a random value
  tamper-code       the redirect URL with the code's last character changed
  empty             an empty line; nothing is fetched
  no-fetch-garbage  "not a code" followed by a \\x01 byte; nothing is fetched

--print-url-only prints the URL found and fetches nothing.

--account NAME: the browser is signed in to that account at the test IdP (the cookie
test_idp_account=NAME); without it, the IdP's default user.

The authorization URL is fetched with a TLS context that trusts only --ca,
and without any proxy. Nothing secret (the redirect carries the code) is
written to stderr.

Standard library only; run with /usr/bin/python3.
"""

import argparse
import re
import secrets
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

MODES = ("url", "bare-code", "wrong-state", "tamper-code", "empty",
         "no-fetch-garbage")

# A URL runs to the first whitespace; control characters (say, an ANSI
# escape right after it) end it too.
URL_RE = re.compile(r"https://[^\s\x00-\x1f\x7f]+")

FETCH_TIMEOUT = 15  # seconds


class BrowserError(Exception):
    """A failure to report on stderr before exiting non-zero."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turns every redirect into an HTTPError instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def find_url(text):
    match = URL_RE.search(text)
    if match is None:
        raise BrowserError("no https:// URL found in the PAM module's output")
    return match.group(0)


def fetch_redirect(url, ca_file, account=None):
    """GETs url and returns the Location of the expected 302 answer."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies cert + host
    context.load_verify_locations(cafile=ca_file)  # and trusts only this CA
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),  # ignore *_proxy in the environment
        urllib.request.HTTPSHandler(context=context),
        _NoRedirect())
    headers = {"User-Agent": "pam-oauth-keyring-test-browser/1"}
    if account:
        headers["Cookie"] = f"test_idp_account={account}"
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT) as response:
            status, headers = response.status, response.headers
            body = response.read(4096)
    except urllib.error.HTTPError as err:  # includes the unfollowed 302
        with err:
            status, headers = err.code, err.headers
            body = err.read(4096)
    except urllib.error.URLError as err:
        raise BrowserError(f"cannot fetch the authorization URL: {err.reason}")
    except OSError as err:
        raise BrowserError(f"cannot fetch the authorization URL: {err}")

    if status != 302:
        # The IdP's error pages carry no secrets; show the start to help
        # whoever debugs a failing test (e.g. a redirect_uri mismatch).
        text = body.decode("utf-8", "replace")[:200]
        text = "".join(c if c.isprintable() else " " for c in text).strip()
        raise BrowserError(f"IdP answered HTTP {status} instead of redirecting"
                           + (f": {text}" if text else ""))
    location = headers.get("Location")
    if not location:
        raise BrowserError("IdP redirect has no Location header")
    return location


def _split(url):
    """Splits url into (before "?", query, "#fragment" or "").

    Done by hand instead of urlsplit/urlunsplit so that every byte outside
    the parameter being edited comes back exactly as the IdP sent it.
    """
    rest, hash_mark, fragment = url.partition("#")
    base, _, query = rest.partition("?")
    return base, query, hash_mark + fragment


def get_param(url, name):
    """The decoded value of the first name= parameter in url's query."""
    _, query, _ = _split(url)
    for item in query.split("&") if query else []:
        key, _, value = item.partition("=")
        if urllib.parse.unquote_plus(key) == name:
            return urllib.parse.unquote_plus(value)
    return None


def set_param(url, name, value):
    """url with its first name= parameter set to value (appended if absent)."""
    base, query, fragment = _split(url)
    items = query.split("&") if query else []
    encoded = urllib.parse.quote_plus(value, safe="")
    for i, item in enumerate(items):
        key = item.partition("=")[0]
        if urllib.parse.unquote_plus(key) == name:
            items[i] = f"{key}={encoded}"
            break
    else:
        items.append(f"{name}={encoded}")
    return f"{base}?{'&'.join(items)}{fragment}"


def tamper(code):
    """code with its last character replaced by a different one."""
    return code[:-1] + ("B" if code[-1] == "A" else "A")


def answer(mode, url, ca_file, account=None):
    """The line the user types for mode, fetching url when needed."""
    if mode == "empty":
        return ""
    if mode == "no-fetch-garbage":
        return "not a code\x01"

    location = fetch_redirect(url, ca_file, account)
    if mode == "url":
        return location

    if mode == "wrong-state":
        state = get_param(location, "state")
        new_state = secrets.token_urlsafe(16)
        while new_state == state:  # astronomically unlikely, but cheap
            new_state = secrets.token_urlsafe(16)
        return set_param(location, "state", new_state)
    code = get_param(location, "code")
    if not code:
        error = get_param(location, "error")
        raise BrowserError("the IdP redirect carries no code"
                           + (f" (error={error})" if error else ""))
    if mode == "bare-code":
        return code
    if mode == "tamper-code":
        return set_param(location, "code", tamper(code))
    raise AssertionError(mode)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Play the user's browser for the PAM test driver: read the "
                    "module's prompt on stdin, print the user's answer.")
    parser.add_argument("--ca", help="the only CA certificate to trust (PEM)")
    parser.add_argument("--mode", choices=MODES, default="url")
    parser.add_argument("--account", help="the account signed in at the IdP")
    parser.add_argument("--print-url-only", action="store_true",
                        help="print the URL found in stdin and fetch nothing")
    args = parser.parse_args(argv)

    text = sys.stdin.buffer.read().decode("utf-8", "replace")
    try:
        url = find_url(text)
        if args.print_url_only:
            line = url
        else:
            if not args.ca:
                parser.error("--ca is required unless --print-url-only is given")
            line = answer(args.mode, url, args.ca, args.account)
    except BrowserError as err:
        print(f"browser.py: {err}", file=sys.stderr)
        return 1
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
