#!/usr/bin/python3
"""Test OAuth 2.0 identity provider for the pam_oauth_keyring test suite.

Serves HTTPS on a loopback address and implements just enough of an
authorization server for the PAM module's authorization-code + PKCE flow and
the device authorization grant (RFC 8628):

    GET  /authorize   auto-approving authorization endpoint (S256 PKCE only)
    POST /token       authorization_code and refresh_token grants, and
                      urn:ietf:params:oauth:grant-type:device_code (RFC 8628 3.4/3.5):
                      authorization_pending, slow_down, access_denied, expired_token, or
                      invalid_grant for an unknown or used device code; once approved, the
                      authorization_code grant's answer (single use: the code is then used)
    POST /device      device authorization endpoint (RFC 8628 3.1/3.2): client_id, scope,
                      client authentication as at /token; device_code, user_code
                      (XXXX-XXXX), verification_uri (ISSUER/device/verify),
                      verification_uri_complete, expires_in, interval (absent when the
                      device_interval knob is null: the client must then use 5 s)
    GET  /device/verify[?user_code=...]
                      the page a user opens on a phone: a form with the code and
                      Approve/Deny buttons
    POST /device/verify
                      the user's decision: form user_code (case and dash do not matter) and
                      decision=approve|deny, as the signed-in account (below); 200 page, or
                      400 for a code that is unknown, expired or already decided
    POST /revoke      token revocation (RFC 7009)
    GET  /userinfo    bearer-token check ({"sub": the account that signed in})
    GET  /.well-known/openid-configuration, /.well-known/oauth-authorization-server
                      the issuer's metadata (OpenID Connect Discovery 1.0, RFC 8414); the
                      "discovery" knob picks a good or a bad document
    /realms/test/...  the same endpoints for a second issuer with a path, as Keycloak's
                      https://HOST/realms/REALM: its metadata at
                      /realms/test/.well-known/openid-configuration and (RFC 8414 3.1, between
                      host and path) /.well-known/oauth-authorization-server/realms/test; its
                      redirects carry iss = that issuer
    GET  /stats       counters and issued secrets, for test assertions
    POST /control     test knobs: injected faults, TTLs, authorize errors, held refreshes
    GET  /control     the current knobs

The device grant's knobs: device_ttl (expires_in, default 600; null = default),
device_interval (interval, default 5; null = left out of the answer), device_slow_down_polls
(default 0: slow_down answers the first N polls of each device code, whatever their timing),
device_fault and device_fault_count (the /device endpoint's faults, as fault and fault_count
are /token's; the token-only no_access_token and token_type_mac excepted).
A poll sooner than its device code's interval after that code's previous poll is answered
slow_down; a slow_down grows that code's interval by 5 s for good (RFC 8628 3.5). slow_down
stands in for authorization_pending or the tokens only, never for access_denied,
expired_token or invalid_grant. /stats counts /device requests (requests.device_authorization)
and /token requests with the device grant type (requests.device_poll, faulted ones too), and
lists the polls that reached the grant (device_polls: user_code, t = time.monotonic(), answer
= the error or "tokens"), the early ones among them (device_early_polls: a client must keep
it 0), and the codes issued (issued.device_codes, issued.user_codes).

Token responses use Snyk's field names (refresh_expires_in, bot_id).

Accounts: the browser's session at the provider is the cookie test_idp_account=NAME
(browser.py --account NAME); without it the user is "test-user". Each code (a device code
too), and every token descended from it, belongs to the account that approved it: /userinfo
says whose a token is, and /stats counts the authorization codes issued and exchanged per
account (the login-CSRF test plays a second user signed in to their own account).

/stats deliberately returns every code, token and verifier the server has
handed out or seen, plus the client secret: the tests search logs for them
to prove the PAM module never leaks them. This server itself never writes a
secret to stderr; its log is one line per request: METHOD PATH STATUS.

Standard library only; run with /usr/bin/python3.
"""

import argparse
import base64
import binascii
import collections
import dataclasses
import hashlib
import hmac
import html
import http
import http.server
import json
import os
import re
import secrets
import select
import signal
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

JSON_TYPE = "application/json; charset=utf-8"
FORM_TYPE = "application/x-www-form-urlencoded"

SOCKET_TIMEOUT = 30  # seconds of silence before an idle connection is dropped
HANDSHAKE_TIMEOUT = 10  # a stalled TLS handshake only ties up its own thread
BLACKHOLE_SECONDS = 60
LINGER_SECONDS = 2  # see TLSServer._close_lingering
MAX_BODY = 64 * 1024  # real token/revoke/control requests are tiny
HUGE_BODY_SIZE = 10 * 1024 * 1024
HUGE_CHUNK = 64 * 1024
SLOW_DRIP_INTERVAL = 1.0

# Faults that replace the /token response before the request is looked at:
# the grant is not processed, so a code sent with them stays usable.
FAULTS_BEFORE = frozenset({
    "http429", "http500", "invalid_grant", "invalid_client", "invalid_json",
    "redirect_http", "blackhole", "close",
})
# Faults that damage the response of a request that was processed normally
# (code consumed, tokens issued and live), like a failure on the way back.
# The damage applies to successful responses only, except that slow_drip
# delivers whatever the normal response was.
FAULTS_AFTER = frozenset({
    "truncated", "no_access_token", "token_type_mac", "huge_body",
    "wrong_content_type", "slow_drip",
})
FAULTS = FAULTS_BEFORE | FAULTS_AFTER
# The faults the device authorization endpoint can play (device_fault): all of /token's but
# the two that damage fields only a token answer has.
DEVICE_FAULTS = FAULTS - {"no_access_token", "token_type_mac"}

# RFC 8628: the grant type a device polls /token with, and what /device hands out.
DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_TTL = 600  # expires_in (knob device_ttl)
DEVICE_INTERVAL = 5  # interval (knob device_interval); also the client's default (3.2)
SLOW_DOWN_STEP = 5  # seconds slow_down adds to a device code's interval for good (3.5)
# RFC 8628 6.1's example: 20 consonants, no vowels (no words), no look-alike characters;
# 8 of them are about 34.5 bits, shown as XXXX-XXXX.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8

# What the well-known addresses serve (the "discovery" knob), for both issuers:
#   good            the document at both addresses
#   oauth_only      404 at OpenID Connect's address, the document at RFC 8414's
#   other_issuer    a document whose issuer is another one (.../someone-else)
#   too_large       a good document padded past 64 KiB
#   http_endpoints  a document whose endpoints are http:// URLs
#   redirect        302 to the good document (a redirect is never to be followed)
#   not_found       404 at both addresses
#   blackhole       never answers (the provider down)
DISCOVERY_MODES = frozenset({
    "good", "oauth_only", "other_issuer", "too_large", "http_endpoints", "redirect",
    "not_found", "blackhole",
})
# The second issuer's path (an issuer with a path, as Keycloak's realms).
REALM_PREFIX = "/realms/test"
OPENID_WELL_KNOWN = "/.well-known/openid-configuration"
OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"

# The account a browser is signed in to (cookie test_idp_account), and the default one.
ACCOUNT_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
DEFAULT_ACCOUNT = "test-user"

# RFC 7636 4.1: code_verifier = 43*128unreserved.
VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
# BASE64URL-nopad of a SHA-256 digest is always 43 characters.
CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")

# Set once the server is shutting down, so long-running fault handlers
# (blackhole, slow_drip, huge_body) stop promptly.
STOPPING = threading.Event()

_log_lock = threading.Lock()


def log(line):
    """Writes one line to stderr. Callers must never pass secrets."""
    with _log_lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def random_token():
    """Returns a fresh 256-bit URL-safe secret (code or token).

    token_urlsafe() may start with "-"; tests hand these values to grep and
    similar tools, where a leading dash would be taken for an option, so
    such values are simply drawn again.
    """
    while True:
        value = secrets.token_urlsafe(32)
        if value[0] != "-":
            return value


def pkce_s256(verifier):
    """BASE64URL-nopad(SHA256(verifier)), RFC 7636 4.2."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def collect_params(pairs):
    """Turns (name, value) pairs into (params, duplicated_names).

    Per RFC 6749 3.1/3.2, a parameter sent without a value is treated as
    omitted, so empty values do not appear in params. A name sent more than
    once is reported as duplicated whatever its values.
    """
    counts = collections.Counter(name for name, _ in pairs)
    params = {}
    for name, value in pairs:
        if value != "" and name not in params:
            params[name] = value
    return params, sorted(n for n, c in counts.items() if c > 1)


def _user_code_key(user_code):
    """A user code as typed, the way it is looked up: case and dashes do not matter (RFC 8628
    6.1), nor spaces."""
    return "".join(c for c in user_code.upper() if c not in "- ")


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class OAuthError(Exception):
    """An OAuth error response: HTTP status, error code, description."""

    def __init__(self, status, error, description):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self):
        return {"error": self.error, "error_description": self.description}


# ---------------------------------------------------------------------------
# Server state


@dataclasses.dataclass(eq=False)
class Grant:
    """One authorization: a code and every token descended from it."""
    client_id: str
    scope: str
    account: str = "test-user"
    access_tokens: list = dataclasses.field(default_factory=list)
    refresh_tokens: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(eq=False)
class AuthCode:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires: float
    account: str = "test-user"
    used: bool = False
    grant: Grant = None  # set when the code was exchanged successfully


@dataclasses.dataclass(eq=False)
class AccessToken:
    grant: Grant
    expires: float
    live: bool = True


@dataclasses.dataclass(eq=False)
class RefreshToken:
    grant: Grant
    expires: float
    access_token: str  # the access token issued together with this one
    state: str = "live"  # "live", "rotated" (used once) or "revoked"


@dataclasses.dataclass(eq=False)
class DeviceCode:
    """One device authorization (RFC 8628): its two codes, the user's decision, the polls."""
    client_id: str
    scope: str
    user_code: str  # as shown, XXXX-XXXX
    expires: float
    interval: int  # the least gap between polls now; slow_down grows it
    state: str = "pending"  # "pending", "approved", "denied" or "used" (tokens issued)
    account: str = DEFAULT_ACCOUNT  # who approved or denied it
    polls: int = 0
    last_poll: float = None  # monotonic time of the previous poll


@dataclasses.dataclass
class Config:
    client_id: str
    client_secret: str  # None for a public client
    redirect_uri: str
    access_ttl: int
    refresh_ttl: int
    code_ttl: int
    # Further registered redirect URIs (--also-redirect-uri): a client may register several.
    other_redirect_uris: tuple = ()


class Provider:
    """All IdP state and protocol logic.

    Every public method takes self.lock itself; nothing here does I/O, so the
    lock is never held across network operations. Expiry uses the monotonic
    clock.
    """

    REQUEST_KINDS = ("authorize", "token", "token_authorization_code",
                     "token_refresh_token", "revoke", "userinfo", "discovery",
                     "device_authorization", "device_poll")

    def __init__(self, config):
        self.config = config
        self.issuer = None  # set once the port is known
        self.lock = threading.Lock()
        self.codes = {}
        self.access_tokens = {}
        self.refresh_tokens = {}
        self.device_codes = {}  # device_code: DeviceCode
        self.user_codes = {}  # user code without its dash: DeviceCode
        # Set while refresh answers may go out (hold_refresh off); see wait_while_refresh_held.
        self.refresh_released = threading.Event()
        self._reset_knobs()
        self._reset_records()

    # -- knobs and records ---------------------------------------------------

    def _reset_knobs(self):
        self.authorize_error = None
        self.access_ttl = self.config.access_ttl
        self.fault = None
        self.fault_count = None
        self.hold_refresh = False
        self.discovery = "good"
        self.refresh_released.set()
        self.device_ttl = DEVICE_TTL
        self.device_interval = DEVICE_INTERVAL  # None: the answer leaves interval out
        self.device_slow_down_polls = 0
        self.device_fault = None
        self.device_fault_count = None

    def _reset_records(self):
        self.requests = dict.fromkeys(self.REQUEST_KINDS, 0)
        self.refresh_reuse = 0
        self.refresh_answers_held = 0  # refresh answers waiting for hold_refresh to go off
        self.last_token_fields = []
        self.last_token_client_auth = None
        self.issued_codes = []
        self.issued_access = []
        self.issued_refresh = []
        self.verifiers_seen = []
        self.token_request_times = []  # wall clock of each /token request, for waits
        self.codes_by_account = {}  # account: codes issued at /authorize
        self.exchanges_by_account = {}  # account: codes exchanged for a pair
        self.issued_device_codes = []
        self.issued_user_codes = []
        self.device_polls = []  # {"user_code", "t" (monotonic), "answer"} per poll
        self.device_early_polls = 0  # polls sooner than the code's interval after the last

    def _knobs(self):
        return {"authorize_error": self.authorize_error,
                "access_ttl": self.access_ttl,
                "fault": self.fault,
                "fault_count": self.fault_count,
                "hold_refresh": self.hold_refresh,
                "discovery": self.discovery,
                "device_ttl": self.device_ttl,
                "device_interval": self.device_interval,
                "device_slow_down_polls": self.device_slow_down_polls,
                "device_fault": self.device_fault,
                "device_fault_count": self.device_fault_count}

    def knobs(self):
        with self.lock:
            return self._knobs()

    def control(self, settings):
        """Applies a /control JSON object; returns the resulting knobs.

        Everything is validated before anything changes, so a bad request
        leaves the knobs as they were. "reset" is applied first, so
        {"reset": true, "fault": "close"} starts clean and then sets a fault.
        """
        if not isinstance(settings, dict):
            raise OAuthError(400, "invalid_request", "body must be a JSON object")
        known = {"reset", "authorize_error", "access_ttl", "fault", "fault_count",
                 "hold_refresh", "discovery", "device_ttl", "device_interval",
                 "device_slow_down_polls", "device_fault", "device_fault_count"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise OAuthError(400, "invalid_request",
                             "unknown knob(s): " + ", ".join(unknown))

        if "reset" in settings and not isinstance(settings["reset"], bool):
            raise OAuthError(400, "invalid_request", "reset must be a boolean")
        if "authorize_error" in settings:
            value = settings["authorize_error"]
            if value is not None and not (isinstance(value, str) and value):
                raise OAuthError(400, "invalid_request",
                                 "authorize_error must be a non-empty string or null")
        if "access_ttl" in settings:
            value = settings["access_ttl"]
            if value is not None and not is_int(value):
                raise OAuthError(400, "invalid_request",
                                 "access_ttl must be an integer or null")
        if "fault" in settings:
            value = settings["fault"]
            if value is not None and value not in FAULTS:
                raise OAuthError(400, "invalid_request",
                                 "fault must be null or one of: "
                                 + ", ".join(sorted(FAULTS)))
        if "fault_count" in settings:
            value = settings["fault_count"]
            if value is not None and not (is_int(value) and value > 0):
                raise OAuthError(400, "invalid_request",
                                 "fault_count must be a positive integer or null")

        if "hold_refresh" in settings and not isinstance(settings["hold_refresh"], bool):
            raise OAuthError(400, "invalid_request", "hold_refresh must be a boolean")
        if "discovery" in settings and settings["discovery"] not in DISCOVERY_MODES:
            raise OAuthError(400, "invalid_request",
                             "discovery must be one of: " + ", ".join(sorted(DISCOVERY_MODES)))
        self._check_device_knobs(settings)

        with self.lock:
            if settings.get("reset"):
                self._reset_knobs()
                self._reset_records()
            if "authorize_error" in settings:
                self.authorize_error = settings["authorize_error"]
            if "access_ttl" in settings:
                value = settings["access_ttl"]
                self.access_ttl = self.config.access_ttl if value is None else value
            if "fault" in settings:
                self.fault = settings["fault"]
                # A new fault is permanent unless a count comes with it.
                self.fault_count = None
            if "fault_count" in settings:
                self.fault_count = settings["fault_count"]
            if "discovery" in settings:
                self.discovery = settings["discovery"]
            if "hold_refresh" in settings:
                self.hold_refresh = settings["hold_refresh"]
                if self.hold_refresh:
                    self.refresh_released.clear()
                else:
                    self.refresh_released.set()
            if self.fault is None:
                self.fault_count = None
            self._set_device_knobs(settings)
            return self._knobs()

    @staticmethod
    def _check_device_knobs(settings):
        """Raises unless the device grant's knobs in settings are valid."""
        def check(name, valid, what):
            if name in settings and not valid(settings[name]):
                raise OAuthError(400, "invalid_request", f"{name} must be {what}")

        check("device_ttl", lambda v: v is None or (is_int(v) and v > 0),
              "a positive integer or null")
        check("device_interval", lambda v: v is None or (is_int(v) and v > 0),
              "a positive integer, or null to leave interval out of the answer")
        check("device_slow_down_polls", lambda v: is_int(v) and v >= 0,
              "a non-negative integer")
        check("device_fault", lambda v: v is None or v in DEVICE_FAULTS,
              "null or one of: " + ", ".join(sorted(DEVICE_FAULTS)))
        check("device_fault_count", lambda v: v is None or (is_int(v) and v > 0),
              "a positive integer or null")

    def _set_device_knobs(self, settings):
        """Applies the device grant's knobs as control() does the others. Lock held."""
        if "device_ttl" in settings:
            value = settings["device_ttl"]
            self.device_ttl = DEVICE_TTL if value is None else value
        if "device_interval" in settings:
            self.device_interval = settings["device_interval"]
        if "device_slow_down_polls" in settings:
            self.device_slow_down_polls = settings["device_slow_down_polls"]
        if "device_fault" in settings:
            self.device_fault = settings["device_fault"]
            self.device_fault_count = None  # permanent unless a count comes with it
        if "device_fault_count" in settings:
            self.device_fault_count = settings["device_fault_count"]
        if self.device_fault is None:
            self.device_fault_count = None

    def stats(self):
        with self.lock:
            now = time.monotonic()
            return {
                "requests": dict(self.requests),
                "refresh_reuse": self.refresh_reuse,
                "refresh_answers_held": self.refresh_answers_held,
                "last_token_request_fields": list(self.last_token_fields),
                "last_token_client_auth": self.last_token_client_auth,
                "issued": {"codes": list(self.issued_codes),
                           "access_tokens": list(self.issued_access),
                           "refresh_tokens": list(self.issued_refresh),
                           "device_codes": list(self.issued_device_codes),
                           "user_codes": list(self.issued_user_codes)},
                "live_access_tokens": sum(
                    1 for t in self.access_tokens.values()
                    if t.live and t.expires > now),
                "live_refresh_tokens": sum(
                    1 for t in self.refresh_tokens.values()
                    if t.state == "live" and t.expires > now),
                "client_secret": self.config.client_secret,
                "verifiers_seen": list(self.verifiers_seen),
                "token_request_times": list(self.token_request_times),
                "codes_by_account": dict(self.codes_by_account),
                "exchanges_by_account": dict(self.exchanges_by_account),
                "device_polls": [dict(poll) for poll in self.device_polls],
                "device_early_polls": self.device_early_polls,
                "knobs": self._knobs(),
            }

    def wait_while_refresh_held(self):
        """A slow provider: with hold_refresh on, the answer of a refresh that was processed
        (the old refresh token already rotated, the new pair issued) waits until the knob
        goes off, at most BLACKHOLE_SECONDS. A test then knows the refresh is in flight
        (refresh_answers_held) and decides when its answer arrives."""
        with self.lock:
            if not self.hold_refresh:
                return
            self.refresh_answers_held += 1
        deadline = time.monotonic() + BLACKHOLE_SECONDS
        while (not self.refresh_released.wait(0.2) and not STOPPING.is_set()
               and time.monotonic() < deadline):
            pass
        with self.lock:
            self.refresh_answers_held -= 1

    def count(self, kind):
        with self.lock:
            self.requests[kind] += 1

    def note_token_request(self, pairs, params, client_auth, take_fault=True):
        """Records a /token request for /stats and picks the fault to apply.

        Called for every /token request before anything else happens to it,
        so faulted and malformed requests are counted too. Returns the fault
        name or None; one use of a counted fault is used up here, unless
        take_fault is false.
        """
        with self.lock:
            self.requests["token"] += 1
            self.token_request_times.append(time.time())
            grant_type = params.get("grant_type")
            if grant_type in ("authorization_code", "refresh_token"):
                self.requests["token_" + grant_type] += 1
            self.last_token_fields = sorted(name for name, _ in pairs)
            self.last_token_client_auth = client_auth
            for name, value in pairs:
                if (name == "code_verifier" and value
                        and value not in self.verifiers_seen):
                    self.verifiers_seen.append(value)

            if grant_type == DEVICE_GRANT_TYPE:
                self.requests["device_poll"] += 1
            return self._take_fault("fault") if take_fault else None

    def note_device_request(self, take_fault=True):
        """Counts a /device request and picks its fault (device_fault), as for /token."""
        with self.lock:
            self.requests["device_authorization"] += 1
            return self._take_fault("device_fault") if take_fault else None

    def _take_fault(self, knob):
        """The fault knob ("fault" or "device_fault") names, one use of a counted one spent.
        Lock must be held."""
        fault, count = getattr(self, knob), getattr(self, knob + "_count")
        if fault is not None and count is not None:
            if count > 1:
                setattr(self, knob + "_count", count - 1)
            else:
                setattr(self, knob, None)
                setattr(self, knob + "_count", None)
        return fault

    # -- /authorize ----------------------------------------------------------

    def metadata(self, realm):
        """The issuer's metadata document for realm ("" or REALM_PREFIX), as the
        discovery knob wants it, or None when the knob says there is none to serve."""
        with self.lock:
            mode = self.discovery
        issuer = self.issuer + realm
        base = issuer
        if mode == "http_endpoints":
            base = "http://" + issuer[len("https://"):]
        document = {
            "issuer": issuer + "/someone-else" if mode == "other_issuer" else issuer,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "revocation_endpoint": base + "/revoke",
            "device_authorization_endpoint": base + "/device",
            "userinfo_endpoint": base + "/userinfo",
            "jwks_uri": base + "/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      DEVICE_GRANT_TYPE],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "none"],
            "subject_types_supported": ["public"],
            # oidc-agent's oidc-gen (bench/scenario.py's oidc-token arm) needs the list.
            "scopes_supported": ["openid", "offline_access"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": True,
            "mtls_endpoint_aliases": {"token_endpoint": base + "/mtls/token"},
        }
        if mode == "too_large":
            document["padding"] = "x" * (70 * 1024)
        return document

    def authorize(self, pairs, account=DEFAULT_ACCOUNT, realm=""):
        """Handles an authorization request, approved by account.

        Returns ("redirect", location) or ("page", status, text): errors
        about the client or redirect URI must not redirect (RFC 6749 4.1.2.1)
        and are shown to the "user" as a plain page instead.
        """
        cfg = self.config
        params, dups = collect_params(pairs)
        if "client_id" in dups or params.get("client_id") != cfg.client_id:
            return ("page", 400, "invalid_request: unknown or missing client_id\n")
        registered = (cfg.redirect_uri,) + tuple(cfg.other_redirect_uris)
        if "redirect_uri" in dups or params.get("redirect_uri") not in registered:
            return ("page", 400,
                    "invalid_request: redirect_uri is missing or not the one "
                    "registered for this client\n")

        state = None if "state" in dups else params.get("state")
        redirect_uri = params["redirect_uri"]
        issuer = self.issuer + realm  # RFC 9207: the issuer whose endpoint this is

        def redirect_error(error, description):
            reply = [("error", error), ("error_description", description)]
            if state is not None:
                reply.append(("state", state))
            reply.append(("iss", issuer))
            return ("redirect", self._redirect_uri_with(reply, redirect_uri))

        if dups:
            return redirect_error("invalid_request",
                                  "duplicate parameter: " + ", ".join(dups))
        response_type = params.get("response_type")
        if response_type is None:
            return redirect_error("invalid_request", "response_type is missing")
        if response_type != "code":
            return redirect_error("unsupported_response_type",
                                  "only response_type=code is supported")
        if params.get("code_challenge_method") != "S256":
            return redirect_error("invalid_request",
                                  "code_challenge_method must be S256")
        challenge = params.get("code_challenge")
        if challenge is None or not CHALLENGE_RE.fullmatch(challenge):
            return redirect_error("invalid_request",
                                  "code_challenge is missing or malformed")

        with self.lock:
            injected = self.authorize_error
            if injected is not None:
                self.authorize_error = None  # one-shot knob
            else:
                code = random_token()
                self.codes[code] = AuthCode(
                    client_id=cfg.client_id,
                    redirect_uri=redirect_uri,
                    challenge=challenge,
                    scope=params.get("scope", ""),
                    expires=time.monotonic() + cfg.code_ttl,
                    account=account)
                self.issued_codes.append(code)
                self.codes_by_account[account] = self.codes_by_account.get(account, 0) + 1
        if injected is not None:
            return redirect_error(injected, "User denied access")

        reply = [("code", code)]
        if state is not None:
            reply.append(("state", state))
        reply.append(("iss", issuer))
        return ("redirect", self._redirect_uri_with(reply, redirect_uri))

    def _redirect_uri_with(self, reply, base):
        """The registered redirect URI plus reply parameters.

        RFC 6749 4.1.2 wants application/x-www-form-urlencoded in the query
        (so a space becomes "+"), keeping any query the URI already has.
        """
        if base.endswith(("?", "&")):
            sep = ""
        elif "?" in base:
            sep = "&"
        else:
            sep = "?"
        return base + sep + urllib.parse.urlencode(reply)

    # -- client authentication ------------------------------------------------

    def _authenticate(self, params, basic):
        """Checks client authentication; returns the client_id or raises.

        basic is (client_id, secret) from an HTTP Basic header, or None.
        Both client_secret_post and client_secret_basic are accepted, but
        not together (RFC 6749 2.3). A public client must not send a secret.
        """
        cfg = self.config
        form_id = params.get("client_id")
        form_secret = params.get("client_secret")
        if basic is not None:
            if form_secret is not None:
                raise OAuthError(400, "invalid_request",
                                 "more than one client authentication method")
            client_id, secret = basic
            if form_id is not None and form_id != client_id:
                raise OAuthError(401, "invalid_client",
                                 "client_id does not match the authenticated client")
        else:
            client_id, secret = form_id, form_secret
        if client_id is None:
            raise OAuthError(400, "invalid_request", "client_id is missing")
        if client_id != cfg.client_id:
            raise OAuthError(401, "invalid_client", "unknown client")
        if cfg.client_secret is None:
            if secret is not None:
                raise OAuthError(401, "invalid_client",
                                 "public client must not send a client secret")
        elif secret is None or not hmac.compare_digest(
                secret.encode("utf-8"), cfg.client_secret.encode("utf-8")):
            raise OAuthError(401, "invalid_client", "client authentication failed")
        return client_id

    # -- /token --------------------------------------------------------------

    def token(self, params, basic):
        """Handles a parsed /token request; returns the JSON reply or raises."""
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise OAuthError(400, "invalid_request", "grant_type is missing")
        if grant_type not in ("authorization_code", "refresh_token", DEVICE_GRANT_TYPE):
            raise OAuthError(400, "unsupported_grant_type",
                             "grant_type must be authorization_code, refresh_token or "
                             + DEVICE_GRANT_TYPE)
        client_id = self._authenticate(params, basic)
        if grant_type == "authorization_code":
            return self._code_grant(client_id, params)
        if grant_type == DEVICE_GRANT_TYPE:
            return self._device_grant(client_id, params)
        return self._refresh_grant(client_id, params)

    @staticmethod
    def _require(params, *names):
        missing = [n for n in names if n not in params]
        if missing:
            raise OAuthError(400, "invalid_request",
                             "missing parameter(s): " + ", ".join(missing))

    def _code_grant(self, client_id, params):
        self._require(params, "code", "redirect_uri", "code_verifier")
        verifier = params["code_verifier"]
        with self.lock:
            code = self.codes.get(params["code"])
            if code is None:
                raise OAuthError(400, "invalid_grant", "unknown authorization code")
            if code.used:
                # RFC 6749 4.1.2: a code used twice may have been stolen, so
                # everything issued from it is revoked.
                if code.grant is not None:
                    self._revoke_grant(code.grant)
                raise OAuthError(400, "invalid_grant",
                                 "authorization code was already used")
            # Any presentation burns the code, successful or not, so a wrong
            # verifier cannot be retried (or brute-forced) with the same code.
            code.used = True
            if code.expires <= time.monotonic():
                raise OAuthError(400, "invalid_grant", "authorization code expired")
            if client_id != code.client_id:
                raise OAuthError(400, "invalid_grant",
                                 "code was issued to another client")
            if params["redirect_uri"] != code.redirect_uri:
                raise OAuthError(400, "invalid_grant",
                                 "redirect_uri does not match the authorization request")
            if not VERIFIER_RE.fullmatch(verifier):
                raise OAuthError(400, "invalid_grant", "malformed code_verifier")
            if not hmac.compare_digest(pkce_s256(verifier), code.challenge):
                raise OAuthError(400, "invalid_grant", "PKCE verification failed")
            code.grant = Grant(client_id=code.client_id, scope=code.scope,
                               account=code.account)
            self.exchanges_by_account[code.account] = (
                self.exchanges_by_account.get(code.account, 0) + 1)
            return self._issue_pair(code.grant)

    def _refresh_grant(self, client_id, params):
        self._require(params, "refresh_token")
        with self.lock:
            record = self.refresh_tokens.get(params["refresh_token"])
            if record is None:
                raise OAuthError(400, "invalid_grant", "unknown refresh token")
            grant = record.grant
            if record.state == "rotated":
                # RFC 9700 4.14.2: reuse of a rotated refresh token means one
                # of the two parties holding it is an attacker; kill the
                # whole grant, including the newest pair.
                self.refresh_reuse += 1
                self._revoke_grant(grant)
                raise OAuthError(400, "invalid_grant",
                                 "refresh token was already used")
            if record.state == "revoked":
                raise OAuthError(400, "invalid_grant", "refresh token was revoked")
            if record.expires <= time.monotonic():
                raise OAuthError(400, "invalid_grant", "refresh token expired")
            if client_id != grant.client_id:
                raise OAuthError(400, "invalid_grant",
                                 "refresh token was issued to another client")
            scope = grant.scope
            if "scope" in params:
                requested = set(params["scope"].split())
                if not requested <= set(grant.scope.split()):
                    raise OAuthError(400, "invalid_scope",
                                     "requested scope exceeds the original grant")
                scope = params["scope"]
            # Rotation: the old refresh token and its access token die.
            record.state = "rotated"
            old_access = self.access_tokens.get(record.access_token)
            if old_access is not None:
                old_access.live = False
            return self._issue_pair(grant, scope)

    def _issue_pair(self, grant, scope=None):
        """Issues a new access/refresh token pair. Lock must be held."""
        now = time.monotonic()
        access, refresh = random_token(), random_token()
        ttl = self.access_ttl
        self.access_tokens[access] = AccessToken(grant, now + ttl)
        self.refresh_tokens[refresh] = RefreshToken(
            grant, now + self.config.refresh_ttl, access)
        grant.access_tokens.append(access)
        grant.refresh_tokens.append(refresh)
        self.issued_access.append(access)
        self.issued_refresh.append(refresh)
        return {"access_token": access,
                "token_type": "bearer",
                "expires_in": ttl,
                "refresh_token": refresh,
                "refresh_expires_in": self.config.refresh_ttl,
                "scope": (grant.scope if scope is None else scope) or "",
                "bot_id": "test-bot"}

    def _revoke_grant(self, grant):
        """Kills every token descended from one code. Lock must be held."""
        for token in grant.access_tokens:
            self.access_tokens[token].live = False
        for token in grant.refresh_tokens:
            record = self.refresh_tokens[token]
            if record.state == "live":
                record.state = "revoked"

    # -- device authorization grant (RFC 8628) ---------------------------------

    def device_authorization(self, params, basic, realm=""):
        """RFC 8628 3.1/3.2: a new device code and user code for an authenticated client."""
        client_id = self._authenticate(params, basic)
        verification_uri = self.issuer + realm + "/device/verify"
        with self.lock:
            interval = self.device_interval
            record = DeviceCode(
                client_id=client_id, scope=params.get("scope", ""),
                user_code=self._new_user_code(),
                expires=time.monotonic() + self.device_ttl,
                # 3.2: a client told no interval must use 5 s, so 5 s is what it is held to.
                interval=DEVICE_INTERVAL if interval is None else interval)
            device_code = random_token()
            self.device_codes[device_code] = record
            self.user_codes[_user_code_key(record.user_code)] = record
            self.issued_device_codes.append(device_code)
            self.issued_user_codes.append(record.user_code)
            reply = {"device_code": device_code,
                     "user_code": record.user_code,
                     "verification_uri": verification_uri,
                     "verification_uri_complete": (verification_uri + "?user_code="
                                                   + record.user_code),
                     "expires_in": self.device_ttl}
        if interval is not None:
            reply["interval"] = interval
        return reply

    def _new_user_code(self):
        """A fresh user code, XXXX-XXXX, unlike any issued before. Lock must be held."""
        while True:
            raw = "".join(secrets.choice(USER_CODE_ALPHABET)
                          for _ in range(USER_CODE_LENGTH))
            if raw not in self.user_codes:
                half = USER_CODE_LENGTH // 2
                return raw[:half] + "-" + raw[half:]

    def _device_grant(self, client_id, params):
        """One poll of the token endpoint naming a device code, recorded in device_polls."""
        self._require(params, "device_code")
        with self.lock:
            now = time.monotonic()
            record = self.device_codes.get(params["device_code"])
            answer = "tokens"
            try:
                return self._device_answer(record, client_id, now)
            except OAuthError as err:
                answer = err.error
                raise
            finally:
                self.device_polls.append({
                    "user_code": record.user_code if record is not None else None,
                    "t": now, "answer": answer})

    def _device_answer(self, record, client_id, now):
        """RFC 8628 3.5: the answer to a poll at now, raised if an error. Lock must be held."""
        if record is None or record.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "unknown device code")
        # Early is judged between polls only: the first may come at any time after issue.
        early = record.last_poll is not None and now - record.last_poll < record.interval
        record.last_poll = now
        record.polls += 1
        if early:
            self.device_early_polls += 1
        if record.state == "used":
            raise OAuthError(400, "invalid_grant", "device code was already used")
        if record.expires <= now:
            raise OAuthError(400, "expired_token", "device code expired")
        if record.state == "denied":
            raise OAuthError(400, "access_denied", "the user denied the request")
        # slow_down is "a variant of authorization_pending": it stands in for pending or
        # tokens, never for a concluded session. The 5 s it adds are kept "for this and all
        # subsequent requests".
        if early or record.polls <= self.device_slow_down_polls:
            record.interval += SLOW_DOWN_STEP
            raise OAuthError(400, "slow_down", "polling too fast; wait "
                             f"{record.interval} s between requests")
        if record.state == "pending":
            raise OAuthError(400, "authorization_pending", "the user has not decided yet")
        record.state = "used"  # single use: the tokens go out once
        return self._issue_pair(Grant(client_id=record.client_id, scope=record.scope,
                                      account=record.account))

    def device_decide(self, user_code, decision, account):
        """The user's answer at the verification page: (HTTP status, text for the page)."""
        if decision not in ("approve", "deny"):
            return 400, "decision must be approve or deny"
        with self.lock:
            record = self.user_codes.get(_user_code_key(user_code or ""))
            if record is None:
                return 400, "unknown code"
            if record.expires <= time.monotonic():
                return 400, "this code has expired"
            if record.state != "pending":
                return 400, "this code was already decided"
            record.state = "approved" if decision == "approve" else "denied"
            record.account = account
        if decision == "approve":
            return 200, f"Approved for {account}: you may return to your device."
        return 200, "Denied: the device will not be signed in."

    # -- /revoke and /userinfo -----------------------------------------------

    def revoke(self, params, basic):
        """RFC 7009: 200 {} for an authenticated client, known token or not."""
        self._authenticate(params, basic)
        self._require(params, "token")
        with self.lock:
            token = params["token"]
            refresh = self.refresh_tokens.get(token)
            if refresh is not None:
                if refresh.state == "live":
                    refresh.state = "revoked"
                access = self.access_tokens.get(refresh.access_token)
                if access is not None:
                    access.live = False
            access = self.access_tokens.get(token)
            if access is not None:
                access.live = False
        return {}

    def userinfo(self, token):
        with self.lock:
            record = self.access_tokens.get(token) if token else None
            ok = (record is not None and record.live
                  and record.expires > time.monotonic())
        if not ok:
            raise OAuthError(401, "invalid_token",
                             "access token is unknown, revoked or expired")
        return {"sub": record.grant.account, "active": True}


# ---------------------------------------------------------------------------
# HTTP


class _ClientGone(Exception):
    """The request cannot be answered (connection closed or unreadable)."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-idp/1"
    timeout = SOCKET_TIMEOUT  # applied to the socket by StreamRequestHandler

    def version_string(self):
        return self.server_version  # no Python version in the Server header

    # -- logging -------------------------------------------------------------

    def log_message(self, format, *args):  # "format": the base class name
        # The base class logs the full request line, whose query string can
        # hold state and PKCE values; all logging goes through log_request.
        pass

    def log_request(self, code="-", size="-"):
        method = getattr(self, "command", None) or "-"
        raw = getattr(self, "path", None) or "-"
        path = urllib.parse.urlsplit(raw).path if raw != "-" else raw
        # Keep the log line one line whatever the client sent.
        path = "".join(c if c.isprintable() and not c.isspace() else "?"
                       for c in path)[:200] or "-"
        status = code.value if isinstance(code, http.HTTPStatus) else code
        log(f"{method} {path} {status}")

    # -- response helpers ------------------------------------------------------

    def send_response(self, code, message=None):
        self._responded = True
        super().send_response(code, message)

    def _send(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Harmless everywhere, required on token responses (RFC 6749 5.1).
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status, obj, headers=()):
        self._send(status, json.dumps(obj).encode("utf-8"), JSON_TYPE, headers)

    @staticmethod
    def _error_headers(err, basic_used):
        """WWW-Authenticate challenges required by RFC 6749 5.2 / 6750 3."""
        if err.status == 401 and err.error == "invalid_client" and basic_used:
            return [("WWW-Authenticate", 'Basic realm="test-idp"')]
        if err.error == "invalid_token":
            return [("WWW-Authenticate", 'Bearer error="invalid_token"')]
        return []

    def _send_error(self, err, basic_used=False):
        self._send_json(err.status, err.body(), self._error_headers(err, basic_used))

    def _not_found(self):
        # Any request body is left unread, so this connection cannot be
        # reused reliably.
        self.close_connection = True
        self._send_json(404, {"error": "not_found",
                              "error_description": "no such endpoint"})

    # -- request parsing -------------------------------------------------------

    def _read_body(self):
        """Reads the request body (Content-Length framing only).

        Raises OAuthError for bodies it will not read, after marking the
        connection for closing (their framing cannot be trusted), and
        _ClientGone when the client disappears mid-body.
        """
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise OAuthError(400, "invalid_request",
                             "Transfer-Encoding is not supported; send Content-Length")
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise OAuthError(400, "invalid_request", "bad Content-Length")
        if length > MAX_BODY:
            self.close_connection = True
            raise OAuthError(413, "invalid_request", "request body too large")
        body = self.rfile.read(length)
        if len(body) != length:
            raise _ClientGone()
        return body

    def _form(self, body):
        """Parses a form body into ((name, value) pairs, error-or-None)."""
        media = self.headers.get("Content-Type", "").split(";", 1)[0]
        if media.strip().lower() != FORM_TYPE:
            return [], OAuthError(400, "invalid_request",
                                  "Content-Type must be " + FORM_TYPE)
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("ascii"), keep_blank_values=True,
                strict_parsing=True, errors="strict", max_num_fields=100)
        except ValueError:  # includes UnicodeDecodeError
            return [], OAuthError(400, "invalid_request", "malformed form body")
        return pairs, None

    def _basic_auth(self):
        """Returns (client_id, secret-or-None) from HTTP Basic, or None.

        RFC 6749 2.3.1: both parts are form-urlencoded before base64.
        """
        header = self.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise OAuthError(401, "invalid_client", "malformed Basic credentials")
        user, sep, password = decoded.partition(":")
        if not sep:
            raise OAuthError(401, "invalid_client", "malformed Basic credentials")
        user = urllib.parse.unquote_plus(user)
        password = urllib.parse.unquote_plus(password)
        return user, (password or None)

    # -- dispatch ----------------------------------------------------------------

    def _dispatch(self, method):
        self._responded = False
        try:
            method()
        except (_ClientGone, OSError):
            # The client went away or stalled (socket timeout); OSError
            # covers ssl.SSLError and ConnectionError too.
            self.close_connection = True
        except OAuthError as err:
            self._send_error(err)
        except Exception as exc:  # a bug in this file; keep serving
            # The exception text could quote request data, so only its type
            # and the code location are logged.
            log(f"internal error: {type(exc).__name__}\n"
                + "".join(traceback.format_tb(exc.__traceback__)).rstrip())
            self.close_connection = True
            if not self._responded:
                try:
                    self._send_json(500, {"error": "server_error",
                                          "error_description": "internal error"})
                except OSError:
                    pass

    def do_GET(self):
        self._dispatch(self._get)

    def do_POST(self):
        self._dispatch(self._post)

    def do_HEAD(self):
        self._dispatch(self._not_found)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    @staticmethod
    def _realm_of(path):
        """(realm, path within it): the second issuer's endpoints live under REALM_PREFIX."""
        if path.startswith(REALM_PREFIX + "/"):
            return REALM_PREFIX, path[len(REALM_PREFIX):]
        return "", path

    @staticmethod
    def _metadata_realm(path):
        """Which issuer's metadata path asks for, and at which address: (realm, kind) with kind
        "openid" or "oauth", or None when path is not a well-known address."""
        for realm in ("", REALM_PREFIX):
            if path == realm + OPENID_WELL_KNOWN:
                return realm, "openid"
            if path == OAUTH_WELL_KNOWN + realm:
                return realm, "oauth"
        return None

    def _metadata(self, realm, kind):
        provider = self.server.provider
        provider.count("discovery")
        mode = provider.knobs()["discovery"]
        if mode == "blackhole":
            self._blackhole()
        elif mode == "not_found" or (mode == "oauth_only" and kind == "openid"):
            self._not_found()
        elif mode == "redirect":
            self.send_response(302)
            self.send_header("Location", provider.issuer + realm + OPENID_WELL_KNOWN)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send_json(200, provider.metadata(realm))

    def _get(self):
        parts = urllib.parse.urlsplit(self.path)
        provider = self.server.provider
        metadata = self._metadata_realm(parts.path)
        realm, path = self._realm_of(parts.path)
        if metadata is not None:
            self._metadata(*metadata)
        elif path == "/authorize":
            provider.count("authorize")
            self._authorize(parts.query, realm)
        elif path == "/userinfo":
            provider.count("userinfo")
            self._userinfo()
        elif path == "/device/verify":
            self._device_verify_page(parts.query, realm)
        elif parts.path == "/stats":
            self._send_json(200, provider.stats())
        elif parts.path == "/control":
            self._send_json(200, provider.knobs())
        else:
            self._not_found()

    def _post(self):
        realm, path = self._realm_of(urllib.parse.urlsplit(self.path).path)
        provider = self.server.provider
        if path == "/token":
            self._token()
        elif path == "/device":
            self._device(realm)
        elif path == "/device/verify":
            self._device_verify()
        elif path == "/revoke":
            provider.count("revoke")
            self._revoke()
        elif path == "/control":
            self._control()
        else:
            self._not_found()

    # -- endpoints -----------------------------------------------------------------

    def _authorize(self, query, realm=""):
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True,
                                           errors="strict", max_num_fields=100)
        except ValueError:
            pairs = None
        if pairs is None:
            result = ("page", 400, "invalid_request: malformed query string\n")
        else:
            result = self.server.provider.authorize(pairs, self._account(), realm)
        if result[0] == "redirect":
            self.send_response(302)
            self.send_header("Location", result[1])
            self.send_header("Content-Length", "0")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
        else:
            _, status, text = result
            self._send(status, text.encode("utf-8"), "text/plain; charset=utf-8")

    def _account(self):
        """The account signed in at this browser (cookie test_idp_account), or the default."""
        for cookie in self.headers.get_all("Cookie") or ():
            for item in cookie.split(";"):
                name, _, value = item.strip().partition("=")
                if name == "test_idp_account" and ACCOUNT_RE.fullmatch(value):
                    return value
        return DEFAULT_ACCOUNT

    def _userinfo(self):
        scheme, _, token = self.headers.get("Authorization", "").strip().partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        self._send_json(200, self.server.provider.userinfo(token))

    def _client_form(self, body):
        """A client's form POST: (its parameters, each sent once; its Basic credentials, if
        any). OAuthError for a malformed form, a duplicated parameter or bad credentials."""
        basic = self._basic_auth()
        pairs, error = self._form(body)
        if error is not None:
            raise error
        params, dups = collect_params(pairs)
        if dups:
            raise OAuthError(400, "invalid_request",
                             "duplicate parameter(s): " + ", ".join(dups))
        return params, basic

    def _revoke(self):
        body = self._read_body()
        try:
            params, basic = self._client_form(body)
            self._send_json(200, self.server.provider.revoke(params, basic))
        except OAuthError as err:
            self._send_error(err, basic_used="Authorization" in self.headers)

    def _device(self, realm):
        """RFC 8628 3.1: the device authorization endpoint; its faults work as /token's."""
        provider = self.server.provider
        try:
            body = self._read_body()
        except OAuthError:
            provider.note_device_request(take_fault=False)
            raise
        fault = provider.note_device_request()
        if fault in FAULTS_BEFORE:
            self._fault_before(fault, realm + "/device")
            return
        try:
            params, basic = self._client_form(body)
            reply = provider.device_authorization(params, basic, realm)
            status, headers = 200, []
        except OAuthError as err:
            status, reply = err.status, err.body()
            headers = self._error_headers(err, "Authorization" in self.headers)
        if fault is None:
            self._send_json(status, reply, headers)
        else:
            self._fault_after(fault, status, reply, headers)

    def _device_verify_page(self, query, realm):
        """The page a user opens on a phone: the user code (prefilled from the query, as
        verification_uri_complete has it) and Approve/Deny."""
        user_code = urllib.parse.parse_qs(query).get("user_code", [""])[0]
        action = html.escape(realm + "/device/verify", quote=True)
        value = html.escape(user_code, quote=True)
        self._send_html(200, "<h1>Sign in a device</h1>\n"
                        f'<form method="post" action="{action}">\n'
                        f'<label>Code <input name="user_code" value="{value}"></label>\n'
                        '<button name="decision" value="approve">Approve</button>\n'
                        '<button name="decision" value="deny">Deny</button>\n'
                        "</form>\n")

    def _device_verify(self):
        """The user's decision on the verification page, as the signed-in account."""
        pairs, error = self._form(self._read_body())
        if error is not None:
            self._send_html(400, f"<p>{html.escape(error.description)}</p>\n")
            return
        params, _ = collect_params(pairs)
        status, text = self.server.provider.device_decide(
            params.get("user_code"), params.get("decision"), self._account())
        self._send_html(status, f"<p>{html.escape(text)}</p>\n")

    def _send_html(self, status, body):
        """A small HTML page around body, which is markup already."""
        page = ("<!DOCTYPE html>\n<html><head><title>Test IdP</title></head><body>\n"
                + body + "</body></html>\n")
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _control(self):
        body = self._read_body()
        try:
            settings = json.loads(body.decode("utf-8"))
        except ValueError:
            raise OAuthError(400, "invalid_request", "body must be JSON")
        self._send_json(200, self.server.provider.control(settings))

    def _token(self):
        provider = self.server.provider
        try:
            body = self._read_body()
        except OAuthError:
            # Still a token request, so it is counted; but it is answered
            # with the error, and a pending fault is kept for the next one.
            provider.note_token_request([], {}, None, take_fault=False)
            raise
        try:
            basic = self._basic_auth()
            basic_error = None
        except OAuthError as err:
            basic, basic_error = None, err
        pairs, error = self._form(body)
        params, dups = collect_params(pairs)
        if basic is not None or basic_error is not None:
            client_auth = "basic"
        elif "client_secret" in params:
            client_auth = "post"
        else:
            client_auth = "none"
        fault = provider.note_token_request(pairs, params, client_auth)

        if fault in FAULTS_BEFORE:
            self._fault_before(fault)
            return

        try:
            if basic_error is not None:
                raise basic_error
            if error is not None:
                raise error
            if dups:
                raise OAuthError(400, "invalid_request",
                                 "duplicate parameter(s): " + ", ".join(dups))
            status, reply = 200, provider.token(params, basic)
            headers = []
            if params.get("grant_type") == "refresh_token":
                provider.wait_while_refresh_held()
        except OAuthError as err:
            status, reply = err.status, err.body()
            headers = self._error_headers(err, client_auth == "basic")
        if fault is None:
            self._send_json(status, reply, headers)
        else:
            self._fault_after(fault, status, reply, headers)

    # -- fault injection -------------------------------------------------------------

    def _fault_before(self, fault, path="/token"):
        """Answers a /token (or /device) request with a fault, without processing it."""
        if fault == "http429":
            # A rate limiter's answer, as Okta words it: not an OAuth error body, and
            # Retry-After in seconds (RFC 9110 10.2.3). The grant is not looked at.
            body = json.dumps({"errorCode": "E0000047",
                               "errorSummary": "API call exceeded rate limit due to too "
                                               "many requests."}).encode("utf-8")
            self._send(429, body, JSON_TYPE, [("Retry-After", "5")])
        elif fault == "http500":
            page = (b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error"
                    b"</title></head>\n<body><h1>Internal Server Error</h1></body>"
                    b"</html>\n")
            self._send(500, page, "text/html; charset=utf-8")
        elif fault == "invalid_grant":
            self._send_json(400, {"error": "invalid_grant",
                                  "error_description": "grant rejected (injected fault)"})
        elif fault == "invalid_client":
            self._send_json(401, {"error": "invalid_client",
                                  "error_description": "client rejected (injected fault)"})
        elif fault == "invalid_json":
            # What a captive portal or misrouted proxy might return.
            page = (b"<!DOCTYPE html>\n<html><body>Service temporarily "
                    b"unavailable</body></html>\n")
            self._send(200, page, JSON_TYPE)
        elif fault == "redirect_http":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1" + path)
            self.send_header("Content-Length", "0")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
        elif fault == "blackhole":
            self._blackhole()
        elif fault == "close":
            self.close_connection = True
            self.log_request("-")
        else:
            raise AssertionError("unhandled fault " + fault)

    def _fault_after(self, fault, status, reply, headers):
        """Sends a processed /token (or /device) reply damaged according to fault."""
        if fault == "slow_drip":
            self._slow_drip(status, json.dumps(reply).encode("utf-8"))
            return
        if status != 200:
            self._send_json(status, reply, headers)
            return
        if fault == "truncated":
            body = json.dumps(reply).encode("utf-8")
            self._send(200, body[:len(body) // 2], JSON_TYPE)
        elif fault == "no_access_token":
            reply = dict(reply)
            del reply["access_token"]
            self._send_json(200, reply)
        elif fault == "token_type_mac":
            self._send_json(200, dict(reply, token_type="mac"))
        elif fault == "wrong_content_type":
            self._send(200, json.dumps(reply).encode("utf-8"),
                       "text/html; charset=utf-8")
        elif fault == "huge_body":
            self._huge_body(reply)
        else:
            raise AssertionError("unhandled fault " + fault)

    def _blackhole(self):
        """Never answers: waits until the client leaves, up to 60 s."""
        self.close_connection = True
        self.log_request("-")
        sock = self.connection
        deadline = time.monotonic() + BLACKHOLE_SECONDS
        while time.monotonic() < deadline and not STOPPING.is_set():
            readable, _, _ = select.select([sock], [], [], 0.5)
            if not readable:
                continue
            try:
                if not sock.recv(4096):
                    return  # orderly close
            except (OSError, ValueError):
                return  # reset, TLS error: gone either way

    def _slow_drip(self, status, body):
        """Sends the whole response, status line included, 1 byte a second."""
        self.close_connection = True
        self.log_request(status)
        reason = http.HTTPStatus(status).phrase
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                f"Content-Type: {JSON_TYPE}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\n"
                "Connection: close\r\n\r\n").encode("ascii")
        data = head + body
        for i in range(len(data)):
            if STOPPING.is_set():
                return
            try:
                self.wfile.write(data[i:i + 1])
            except OSError:
                return  # the client gave up, as it should
            time.sleep(SLOW_DRIP_INTERVAL)

    def _huge_body(self, reply):
        """Streams a 10 MiB but otherwise valid token response.

        The real tokens come first and a padding member makes up the size,
        so a client without a response size limit would accept it.
        """
        self.close_connection = True
        prefix = (json.dumps(reply)[:-1] + ', "padding": "').encode("ascii")
        suffix = b'"}'
        padding = HUGE_BODY_SIZE - len(prefix) - len(suffix)
        self.send_response(200)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(HUGE_BODY_SIZE))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"x" * HUGE_CHUNK
        try:
            self.wfile.write(prefix)
            while padding > 0 and not STOPPING.is_set():
                piece = chunk[:padding]
                self.wfile.write(piece)
                padding -= len(piece)
            self.wfile.write(suffix)
        except OSError:
            pass  # the client stopped reading, as it should


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # blackholed/dripping connections must not block exit
    block_on_close = False

    def __init__(self, address, context, provider):
        self.ssl_context = context
        self.provider = provider
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    def server_bind(self):
        # HTTPServer.server_bind() does a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, rather
        # than in accept() on the listening thread, so a client that never
        # completes it cannot stall the whole server.
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except ssl.SSLError as exc:
            log(f"TLS handshake failed: {exc.reason or type(exc).__name__}")
            return
        except OSError as exc:
            log(f"TLS handshake failed: {type(exc).__name__}")
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            # wrap_socket() detached `request`; this is now the only handle.
            self._close_lingering(conn)

    @staticmethod
    def _close_lingering(conn):
        """Closes a connection without destroying the last response.

        Closing a socket that still has unread request bytes (a body we
        refused to read, say) makes the kernel send a RST, which can discard
        the response before the client has read it. So: send FIN first,
        drain whatever the client still sends for a moment, then close.
        """
        try:
            # On an SSLSocket this drops the TLS layer (no close_notify; the
            # responses are framed by Content-Length) and shuts down TCP.
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(LINGER_SECONDS)
            deadline = time.monotonic() + LINGER_SECONDS
            while time.monotonic() < deadline and conn.recv(65536):
                pass
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            return  # clients going away mid-request are normal in these tests
        # As in Handler._dispatch: type and location only, never the message.
        log(f"internal error: {type(exc).__name__}\n"
            + "".join(traceback.format_tb(exc.__traceback__)).rstrip())


# ---------------------------------------------------------------------------
# Main


class _Stop(Exception):
    """Raised from the signal handler to leave serve_forever()."""


def _on_signal(signum, frame):
    raise _Stop()


def write_port_file(path, port):
    """Writes the port atomically, so a poller never reads a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{port}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Test OAuth 2.0 identity provider (HTTPS, loopback only).")
    parser.add_argument("--cert", required=True, help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--port-file", required=True,
                        help="file to write the listening port to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--also-redirect-uri", action="append", default=[],
                        help="a further registered redirect URI (repeatable)")
    parser.add_argument("--client-secret", default=None,
                        help="makes the client confidential (client_secret_post "
                             "or client_secret_basic); absent = public client")
    parser.add_argument("--access-ttl", type=int, default=3600)
    parser.add_argument("--refresh-ttl", type=int, default=15552000)
    parser.add_argument("--code-ttl", type=int, default=120)
    args = parser.parse_args(argv)
    if "#" in args.redirect_uri:
        parser.error("--redirect-uri must not contain a fragment (RFC 6749 3.1.2)")
    if not args.client_id:
        parser.error("--client-id must not be empty")
    if args.client_secret == "":
        parser.error("--client-secret must not be empty (omit it for a public client)")
    return args


def main(argv=None):
    args = parse_args(argv)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(["http/1.1"])

    provider = Provider(Config(
        client_id=args.client_id, client_secret=args.client_secret,
        redirect_uri=args.redirect_uri,
        other_redirect_uris=tuple(args.also_redirect_uri), access_ttl=args.access_ttl,
        refresh_ttl=args.refresh_ttl, code_ttl=args.code_ttl))

    # Handlers go in before the port file appears: a harness may send
    # SIGTERM as soon as it has read the port, and must see a clean exit.
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    try:
        server = TLSServer((args.host, args.port), context, provider)
    except _Stop:
        return 0
    try:
        port = server.server_address[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        provider.issuer = f"https://{host}:{port}"
        write_port_file(args.port_file, port)
        log(f"idp: listening on {provider.issuer}")
        server.serve_forever(poll_interval=0.2)
    except _Stop:
        pass
    finally:
        STOPPING.set()
        server.server_close()
    log("idp: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
