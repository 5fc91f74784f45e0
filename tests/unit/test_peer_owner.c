/* Who owns the other end of a loopback connection (refresher/peer_owner.h), over real sockets
 * and the real NETLINK_SOCK_DIAG: our own connection (IPv4, IPv6, and a dual-stack AF_INET6
 * client reaching the IPv4 listener over ::ffff:127.0.0.1), another uid's (as root: a child
 * that becomes nobody connects, directly or over the mapped address), a peer that has closed,
 * a socket that is not TCP/IP; and the decision on each. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refresher/peer_owner.h"

#define OTHER_UID 65534

/* A listening socket on the loopback address of family, port chosen by the kernel; -1 when
 * the host lacks that family. */
static int listen_loopback(int family, struct sockaddr_storage *address, socklen_t *size)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        return -1;
    if ((family == AF_INET ? bind(fd, (struct sockaddr *)&v4, sizeof(v4))
                           : bind(fd, (struct sockaddr *)&v6, sizeof(v6))) != 0 ||
        listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    *size = sizeof(*address);
    assert_int_equal(getsockname(fd, (struct sockaddr *)address, size), 0);
    return fd;
}

/* The IPv4 listener's address as a dual-stack AF_INET6 client names it: ::ffff:a.b.c.d. */
static socklen_t mapped_address(const struct sockaddr_storage *v4_address,
                                struct sockaddr_storage *mapped)
{
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;

    /* Copied out and back rather than cast: scan-build follows the bytes then. */
    memcpy(&v4, v4_address, sizeof(v4));
    memset(&v6, 0, sizeof(v6));
    v6.sin6_family = AF_INET6;
    v6.sin6_port = v4.sin_port;
    v6.sin6_addr.s6_addr[10] = 0xff;
    v6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&v6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
    memset(mapped, 0, sizeof(*mapped));
    memcpy(mapped, &v6, sizeof(v6));
    return sizeof(v6);
}

static int connect_to(const struct sockaddr_storage *address, socklen_t size)
{
    int fd = socket(address->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (const struct sockaddr *)address, size), 0);
    return fd;
}

/* mapped: an AF_INET6 client connects to the AF_INET listener over ::ffff:127.0.0.1; the
 * kernel then reports its socket as AF_INET6 with mapped addresses. */
static void own_connection(int family, bool mapped)
{
    struct sockaddr_storage address = {0}, target = {0};
    socklen_t size = 0;
    int listening = listen_loopback(family, &address, &size), client, accepted;
    uid_t uid = (uid_t)-1;
    char why[256] = "";

    if (listening < 0 && family == AF_INET6)
        skip();
    assert_true(listening >= 0);
    assert_int_equal(peer_owner_self_check(listening, PEER_OWNER_TIMEOUT_MS, why, sizeof(why)), 0);
    target = address;
    if (mapped)
        size = mapped_address(&address, &target);
    client = connect_to(&target, size);
    accepted = accept(listening, NULL, NULL);
    assert_true(accepted >= 0);
    assert_int_equal(peer_socket_owner(accepted, PEER_OWNER_TIMEOUT_MS, &uid, why, sizeof(why)),
                     PEER_LOOKUP_FOUND);
    assert_int_equal(uid, geteuid());
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_FOUND, uid, geteuid()), PEER_OURS);
    close(accepted);
    close(client);
    close(listening);
}

static void test_own_connection_ipv4(void **unused)
{
    (void)unused;
    own_connection(AF_INET, false);
}

static void test_own_connection_ipv6(void **unused)
{
    (void)unused;
    own_connection(AF_INET6, false);
}

/* Issue 19, finding 3: before, the mapped answer was taken for another socket ("cannot tell
 * who"), so the user's own dual-stack programs (Java's default stack) could not sign in. */
static void test_own_connection_mapped(void **unused)
{
    (void)unused;
    own_connection(AF_INET, true);
}

/* As root: a child that has become OTHER_UID connects (to address, or over its mapped form)
 * and holds its socket open. */
static void other_uid(bool mapped)
{
    struct sockaddr_storage address = {0}, target = {0};
    socklen_t size = 0;
    int listening, accepted, hold[2];
    uid_t uid = (uid_t)-1;
    char why[256] = "", byte = 0;
    pid_t child;

    if (geteuid() != 0)
        skip();
    listening = listen_loopback(AF_INET, &address, &size);
    assert_true(listening >= 0);
    target = address;
    if (mapped)
        size = mapped_address(&address, &target);
    assert_int_equal(pipe(hold), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd;
        close(hold[1]);
        if (setgroups(0, NULL) != 0 || setresgid(OTHER_UID, OTHER_UID, OTHER_UID) != 0 ||
            setresuid(OTHER_UID, OTHER_UID, OTHER_UID) != 0)
            _exit(2);
        fd = socket(target.ss_family, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&target, size) != 0)
            _exit(3);
        (void)read(hold[0], &byte, 1); /* until the parent has looked */
        _exit(0);
    }
    close(hold[0]);
    accepted = accept(listening, NULL, NULL);
    assert_true(accepted >= 0);
    assert_int_equal(peer_socket_owner(accepted, PEER_OWNER_TIMEOUT_MS, &uid, why, sizeof(why)),
                     PEER_LOOKUP_FOUND);
    assert_int_equal(uid, OTHER_UID);
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_FOUND, uid, geteuid()), PEER_OTHER_USER);
    close(hold[1]);
    assert_int_equal(waitpid(child, NULL, 0), child);
    close(accepted);
    close(listening);
}

static void test_other_uid(void **unused)
{
    (void)unused;
    other_uid(false);
}

/* Another user over ::ffff:127.0.0.1 is still told apart: found, and theirs. */
static void test_other_uid_mapped(void **unused)
{
    (void)unused;
    other_uid(true);
}

/* The peer has closed before anyone looked: its socket is an orphan or in TIME_WAIT, which
 * keeps no owner (the kernel says uid 0). Nobody to answer, and never mistaken for root's. */
static void test_peer_closed(void **unused)
{
    struct sockaddr_storage address = {0};
    socklen_t size = 0;
    int listening, client, accepted;
    uid_t uid = (uid_t)-1;
    char why[256] = "";

    (void)unused;
    listening = listen_loopback(AF_INET, &address, &size);
    assert_true(listening >= 0);
    client = connect_to(&address, size);
    accepted = accept(listening, NULL, NULL);
    assert_true(accepted >= 0);
    close(client);
    assert_int_equal(peer_socket_owner(accepted, PEER_OWNER_TIMEOUT_MS, &uid, why, sizeof(why)),
                     PEER_LOOKUP_GONE);
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_GONE, 0, geteuid()), PEER_GONE);
    close(accepted);
    close(listening);
}

/* Not a TCP/IP connection: nothing to ask the kernel about; refused, never served. */
static void test_not_tcp(void **unused)
{
    int pair[2];
    uid_t uid = (uid_t)-1;
    char why[256] = "";

    (void)unused;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    assert_int_equal(peer_socket_owner(pair[0], PEER_OWNER_TIMEOUT_MS, &uid, why, sizeof(why)),
                     PEER_LOOKUP_UNAVAILABLE);
    assert_string_equal(why, "not a TCP/IP connection");
    assert_int_equal(peer_owner_self_check(pair[0], PEER_OWNER_TIMEOUT_MS, why, sizeof(why)), -1);
    close(pair[0]);
    close(pair[1]);
}

/* The decision: only our own uid is served; unknown is refused (fail closed), whatever uid. */
static void test_judge(void **unused)
{
    (void)unused;
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_FOUND, 1000, 1000), PEER_OURS);
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_FOUND, 1001, 1000), PEER_OTHER_USER);
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_FOUND, 0, 1000), PEER_OTHER_USER);
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_GONE, 1000, 1000), PEER_GONE);
    assert_int_equal(peer_owner_judge(PEER_LOOKUP_UNAVAILABLE, 1000, 1000), PEER_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_own_connection_ipv4),
        cmocka_unit_test(test_own_connection_ipv6),
        cmocka_unit_test(test_own_connection_mapped),
        cmocka_unit_test(test_other_uid),
        cmocka_unit_test(test_other_uid_mapped),
        cmocka_unit_test(test_peer_closed),
        cmocka_unit_test(test_not_tcp),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
