#include "config.h"

#include "refresher/peer_owner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/text_checks.h"
#include "store/test_hooks.h"

/* One end of a TCP connection: family, address (network order, 4 or 16 bytes), port
 * (network order). */
struct endpoint {
    int family;
    uint32_t address[4];
    uint16_t port;
};

static int endpoint_of(const struct sockaddr_storage *storage, struct endpoint *endpoint)
{
    memset(endpoint, 0, sizeof(*endpoint));
    endpoint->family = storage->ss_family;
    if (storage->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)storage;
        memcpy(endpoint->address, &v4->sin_addr, sizeof(v4->sin_addr));
        endpoint->port = v4->sin_port;
        return 0;
    }
    if (storage->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)storage;
        memcpy(endpoint->address, &v6->sin6_addr, sizeof(v6->sin6_addr));
        endpoint->port = v6->sin6_port;
        return 0;
    }
    return -1;
}

static size_t address_size(int family)
{
    return family == AF_INET ? 4 : 16;
}

static bool names_endpoints(const struct inet_diag_msg *answer, const struct endpoint *local,
                            const struct endpoint *remote)
{
    size_t size = address_size(local->family);

    return answer->idiag_family == local->family && answer->id.idiag_sport == local->port &&
           answer->id.idiag_dport == remote->port &&
           memcmp(answer->id.idiag_src, local->address, size) == 0 &&
           memcmp(answer->id.idiag_dst, remote->address, size) == 0;
}

/* An IPv4 end as an AF_INET6 socket has it: ::ffff:a.b.c.d (RFC 4291 2.5.5.2). */
static void endpoint_mapped(const struct endpoint *v4, struct endpoint *mapped)
{
    memset(mapped, 0, sizeof(*mapped));
    mapped->family = AF_INET6;
    mapped->address[2] = htonl(0xffff);
    mapped->address[3] = v4->address[0];
    mapped->port = v4->port;
}

/* The answer names exactly the socket asked about: local = local, remote = remote. The kernel
 * describes a socket in the socket's own family: a dual-stack AF_INET6 client that reached our
 * IPv4 listener over ::ffff:127.0.0.1 (Java's default stack does) is found by its IPv4
 * addresses and reported with family AF_INET6 and both addresses in the mapped form. The same
 * 4-tuple, so the same socket: its owner is judged like any other's. */
static bool answer_is(const struct inet_diag_msg *answer, const struct endpoint *local,
                      const struct endpoint *remote)
{
    struct endpoint local_mapped, remote_mapped;

    if (names_endpoints(answer, local, remote))
        return true;
    if (local->family != AF_INET)
        return false;
    endpoint_mapped(local, &local_mapped);
    endpoint_mapped(remote, &remote_mapped);
    return names_endpoints(answer, &local_mapped, &remote_mapped);
}

/* Reads the kernel's answer to request sequence; FOUND with *answer, GONE or UNAVAILABLE. */
static enum peer_lookup read_answer(int netlink, uint32_t sequence, long long deadline_ms,
                                    struct inet_diag_msg *answer, char *why, size_t why_size)
{
    for (;;) {
        struct pollfd ready = {.fd = netlink, .events = POLLIN};
        struct sockaddr_nl sender = {0};
        socklen_t sender_size = sizeof(sender);
        union {
            struct nlmsghdr header;
            char bytes[8192];
        } buffer;
        long long remaining = deadline_remaining_ms(deadline_ms);
        ssize_t got;
        int polled;

        if (remaining <= 0)
            break;
        polled = poll(&ready, 1, (int)remaining);
        if (polled < 0 && errno == EINTR)
            continue;
        if (polled <= 0)
            break;
        got = recvfrom(netlink, buffer.bytes, sizeof(buffer.bytes), MSG_DONTWAIT,
                       (struct sockaddr *)&sender, &sender_size);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got < 0) {
            text_set_why(why, why_size, "NETLINK_SOCK_DIAG: %s", strerror(errno));
            return PEER_LOOKUP_UNAVAILABLE;
        }
        if (sender_size < sizeof(sender) || sender.nl_family != AF_NETLINK || sender.nl_pid != 0)
            continue; /* only the kernel answers */
        for (struct nlmsghdr *header = &buffer.header; NLMSG_OK(header, (unsigned)got);
             header = NLMSG_NEXT(header, got)) {
            if (header->nlmsg_seq != sequence)
                continue;
            if (header->nlmsg_type == NLMSG_ERROR &&
                header->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
                int error = -((const struct nlmsgerr *)NLMSG_DATA(header))->error;
                text_set_why(why, why_size, "NETLINK_SOCK_DIAG: %s", strerror(error));
                /* Once the self check has passed, ENOENT means no socket has that address. */
                return error == ENOENT ? PEER_LOOKUP_GONE : PEER_LOOKUP_UNAVAILABLE;
            }
            if (header->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
                header->nlmsg_len >= NLMSG_LENGTH(sizeof(*answer))) {
                memcpy(answer, NLMSG_DATA(header), sizeof(*answer));
                return PEER_LOOKUP_FOUND;
            }
            if (header->nlmsg_type == NLMSG_DONE) {
                text_set_why(why, why_size, "NETLINK_SOCK_DIAG: no such socket");
                return PEER_LOOKUP_GONE;
            }
        }
    }
    text_set_why(why, why_size, "NETLINK_SOCK_DIAG gave no answer within %lld ms",
                 (long long)PEER_OWNER_TIMEOUT_MS);
    return PEER_LOOKUP_UNAVAILABLE;
}

/* Asks the kernel for the one TCP socket whose local end is local and remote end remote
 * (remote all zero: a listening socket), INET_DIAG_REQ_V2 without NLM_F_DUMP. */
static enum peer_lookup diag_query(const struct endpoint *local, const struct endpoint *remote,
                                   int timeout_ms, struct inet_diag_msg *answer, char *why,
                                   size_t why_size)
{
    static uint32_t last_sequence;
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    long long deadline_ms = monotonic_now_ms() + timeout_ms;
    enum peer_lookup rv = PEER_LOOKUP_UNAVAILABLE;
    int netlink = -1;

    if (test_no_sock_diag()) {
        text_set_why(why, why_size, "NETLINK_SOCK_DIAG is not available: a test took it away");
        goto out;
    }
    netlink = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
    if (netlink < 0) {
        text_set_why(why, why_size, "cannot open NETLINK_SOCK_DIAG: %s", strerror(errno));
        goto out;
    }
    memset(&message, 0, sizeof(message));
    message.header.nlmsg_len = sizeof(message);
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.header.nlmsg_seq = ++last_sequence;
    message.request.sdiag_family = (uint8_t)local->family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0U;
    message.request.id.idiag_sport = local->port;
    message.request.id.idiag_dport = remote->port;
    memcpy(message.request.id.idiag_src, local->address, address_size(local->family));
    memcpy(message.request.id.idiag_dst, remote->address, address_size(local->family));
    message.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
    message.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (sendto(netlink, &message, sizeof(message), 0, (struct sockaddr *)&kernel, sizeof(kernel)) !=
        (ssize_t)sizeof(message)) {
        text_set_why(why, why_size, "NETLINK_SOCK_DIAG: %s", strerror(errno));
        goto out;
    }
    rv = read_answer(netlink, message.header.nlmsg_seq, deadline_ms, answer, why, why_size);
    if (rv == PEER_LOOKUP_FOUND && !answer_is(answer, local, remote)) {
        text_set_why(why, why_size, "NETLINK_SOCK_DIAG answered about another socket");
        rv = PEER_LOOKUP_UNAVAILABLE;
    }
out:
    if (netlink >= 0)
        close(netlink);
    return rv;
}

enum peer_lookup peer_socket_owner(int fd, int timeout_ms, uid_t *uid, char *why, size_t why_size)
{
    struct sockaddr_storage ours = {0}, theirs = {0};
    socklen_t ours_size = sizeof(ours), theirs_size = sizeof(theirs);
    struct endpoint local, remote;
    struct inet_diag_msg answer;
    enum peer_lookup rv;

    if (getsockname(fd, (struct sockaddr *)&ours, &ours_size) != 0 ||
        getpeername(fd, (struct sockaddr *)&theirs, &theirs_size) != 0) {
        text_set_why(why, why_size, "the connection has no address: %s", strerror(errno));
        return errno == ENOTCONN ? PEER_LOOKUP_GONE : PEER_LOOKUP_UNAVAILABLE;
    }
    if (endpoint_of(&ours, &remote) != 0 || endpoint_of(&theirs, &local) != 0 ||
        local.family != remote.family) {
        text_set_why(why, why_size, "not a TCP/IP connection");
        return PEER_LOOKUP_UNAVAILABLE;
    }
    /* Seen from the peer: its local end is our remote one. */
    rv = diag_query(&local, &remote, timeout_ms, &answer, why, why_size);
    if (rv != PEER_LOOKUP_FOUND)
        return rv;
    /* A socket its program has closed (no inode; in TIME_WAIT the kernel keeps no owner and
     * reports 0) has nobody left to answer. */
    if (answer.idiag_state == TCP_TIME_WAIT || answer.idiag_inode == 0) {
        text_set_why(why, why_size, "the other end has closed its socket");
        return PEER_LOOKUP_GONE;
    }
    *uid = (uid_t)answer.idiag_uid;
    return PEER_LOOKUP_FOUND;
}

int peer_owner_self_check(int fd, int timeout_ms, char *why, size_t why_size)
{
    struct sockaddr_storage ours = {0};
    socklen_t ours_size = sizeof(ours);
    struct endpoint local, nobody;
    struct inet_diag_msg answer;

    if (getsockname(fd, (struct sockaddr *)&ours, &ours_size) != 0 ||
        endpoint_of(&ours, &local) != 0)
        return text_set_why(why, why_size, "not a TCP/IP socket");
    memset(&nobody, 0, sizeof(nobody));
    nobody.family = local.family;
    if (diag_query(&local, &nobody, timeout_ms, &answer, why, why_size) != PEER_LOOKUP_FOUND)
        return -1;
    if (answer.idiag_state != TCP_LISTEN || (uid_t)answer.idiag_uid != geteuid())
        return text_set_why(why, why_size, "NETLINK_SOCK_DIAG does not see our own socket");
    return 0;
}

enum peer_owner peer_owner_judge(enum peer_lookup lookup, uid_t peer, uid_t ours)
{
    switch (lookup) {
    case PEER_LOOKUP_FOUND:
        return peer == ours ? PEER_OURS : PEER_OTHER_USER;
    case PEER_LOOKUP_GONE:
        return PEER_GONE;
    default:
        return PEER_UNKNOWN;
    }
}
