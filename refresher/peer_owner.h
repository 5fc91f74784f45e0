/* Who is at the other end of a loopback connection to the sign-in's listener: the login-CSRF
 * defence (docs/SECURITY.md 3.1; RFC 9700 4.7, RFC 8252 8.x).
 *
 * Another user who knows the authorize URL (its state and PKCE challenge: no longer in any
 * argv since issue 19, where the browser gets a one-use start address, but printed for
 * --no-browser) could send the listener the provider's error= with that state (ending the
 * sign-in), or open the URL signed in to their own account at the provider and hand the
 * victim's listener the code: PKCE passes (the challenge is the victim's), and the victim's
 * keyring would hold the other account's tokens. Another user could also take the start
 * address, which sits in the browser's /proc/PID/cmdline. So the listener serves a connection
 * (the start address included) only when the socket at its other end
 * belongs to the user's own uid: their browser, their own `ssh -L` session (sshd's process
 * that connects runs as them). The kernel tells a TCP socket's owner to any local process
 * through NETLINK_SOCK_DIAG (inet_diag), asked here for the exact 4-tuple of the connection
 * seen from the peer's side. */
#ifndef POK_PEER_OWNER_H
#define POK_PEER_OWNER_H

#include <stddef.h>
#include <sys/types.h>

/* How long one question to the kernel may take. It is a local netlink query that answers in
 * microseconds; the bound is for a kernel or a sandbox that never answers. */
#define PEER_OWNER_TIMEOUT_MS 500

enum peer_lookup {
    PEER_LOOKUP_FOUND,       /* *uid is the owner of the peer's socket */
    PEER_LOOKUP_GONE,        /* no such socket any more (closed; in TIME_WAIT no owner is kept) */
    PEER_LOOKUP_UNAVAILABLE, /* the kernel cannot be asked (no sock_diag, no answer in time) */
};

/* The owner of the socket at the other end of connected TCP socket fd (IPv4 or IPv6): asks
 * the kernel's inet_diag for the socket whose local address and port are fd's peer's and
 * whose remote ones are fd's own, and checks that the answer is that very socket. why says
 * what went wrong for GONE and UNAVAILABLE. */
enum peer_lookup peer_socket_owner(int fd, int timeout_ms, uid_t *uid, char *why, size_t why_size);

/* Whether the owner of listening TCP socket fd can be told, and is us: the listener asks once
 * before it listens for a sign-in, so that a kernel without sock_diag leaves the paste
 * instead of a listener that would refuse every browser. 0, or -1 with why. */
int peer_owner_self_check(int fd, int timeout_ms, char *why, size_t why_size);

enum peer_owner {
    PEER_OURS,       /* serve it */
    PEER_OTHER_USER, /* refuse: another user's program (or root's) */
    PEER_GONE,       /* nobody to answer: close */
    PEER_UNKNOWN,    /* refuse, fail closed, and tell the user why */
};

/* The decision on one connection: the lookup's result, the uid it found and ours. Pure. */
enum peer_owner peer_owner_judge(enum peer_lookup lookup, uid_t peer, uid_t ours);

#endif
