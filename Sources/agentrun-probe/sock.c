// Socket attacks: reaching host TCP/Unix/abstract listeners, forbidden address families
// (AF_PACKET, AF_NETLINK other than NETLINK_ROUTE, AF_VSOCK, AF_ALG, ...), interfaces.
// Also host-side helper listeners for the tests.
#include "probe.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>

static int parse_inet(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)atoi(port));
        *len = sizeof *in4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)atoi(port));
        *len = sizeof *in6;
        return 0;
    }
    return -1;
}

static socklen_t unix_addr(const char *path, struct sockaddr_un *un)
{
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof un->sun_path)
        n = sizeof un->sun_path - 1;
    memcpy(un->sun_path, path, n);
    if (path[0] == '@')
        un->sun_path[0] = '\0'; // abstract namespace
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
}

static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int ms)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return -1;
    struct pollfd p = {fd, POLLOUT, 0};
    int n = poll(&p, 1, ms);
    if (n == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

// connect-tcp HOST PORT: the escape is a TCP connection to HOST:PORT.
static int cmd_connect_tcp(int argc, char **argv)
{
    if (argc != 3)
        return misuse("connect-tcp HOST PORT");
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_inet(argv[1], argv[2], &ss, &len) != 0)
        return misuse("bad address %s", argv[1]);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return blocked("socket", errno);
    if (connect_timeout(fd, (struct sockaddr *)&ss, len, 3000) == 0) {
        fcntl(fd, F_SETFL, 0);
        if (send(fd, "agentrun-probe\n", 15, MSG_NOSIGNAL) < 0)
            note("send: %s", strerror(errno));
        close(fd);
        return escaped("connected to %s port %s", argv[1], argv[2]);
    }
    return blocked("connect", errno);
}

// connect-unix PATH|@ABSTRACT: the escape is a connection to the Unix socket.
static int cmd_connect_unix(int argc, char **argv)
{
    if (argc != 2)
        return misuse("connect-unix PATH|@NAME");
    struct sockaddr_un un;
    socklen_t len = unix_addr(argv[1], &un);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return blocked("socket(AF_UNIX)", errno);
    if (connect(fd, (struct sockaddr *)&un, len) == 0) {
        if (send(fd, "agentrun-probe\n", 15, MSG_NOSIGNAL) < 0)
            note("send: %s", strerror(errno));
        close(fd);
        return escaped("connected to %s", argv[1]);
    }
    return blocked("connect", errno);
}

static void serve(int fd, const char *what)
{
    printf("listening %s\n", what);
    fflush(stdout);
    alarm(120);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0)
            continue;
        printf("accepted\n");
        fflush(stdout);
        close(c);
    }
}

// listen-tcp ADDR PORT: helper: listen (PORT 0 = any), print "listening PORT", accept until
// killed (or 120 s).
static int cmd_listen_tcp(int argc, char **argv)
{
    if (argc != 3)
        return misuse("listen-tcp ADDR PORT");
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_inet(argv[1], argv[2], &ss, &len) != 0)
        return misuse("bad address %s", argv[1]);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 16) != 0)
        return misuse("listen %s:%s: %s", argv[1], argv[2], strerror(errno));
    getsockname(fd, (struct sockaddr *)&ss, &len);
    int port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    serve(fd, p);
    return 0;
}

// listen-unix PATH|@NAME: helper: listen on a Unix socket, print "listening PATH".
static int cmd_listen_unix(int argc, char **argv)
{
    if (argc != 2)
        return misuse("listen-unix PATH|@NAME");
    struct sockaddr_un un;
    socklen_t len = unix_addr(argv[1], &un);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (argv[1][0] != '@')
        unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&un, len) != 0 || listen(fd, 16) != 0)
        return misuse("listen %s: %s", argv[1], strerror(errno));
    if (argv[1][0] != '@')
        chmod(argv[1], 0777);
    serve(fd, argv[1]);
    return 0;
}

// loopback: helper: a listener and a connection on 127.0.0.1 and on ::1 inside this netns.
static int cmd_loopback(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("loopback");
    const char *hosts[] = {"127.0.0.1", "::1"};
    for (int i = 0; i < 2; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        parse_inet(hosts[i], "0", &ss, &len);
        int l = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l < 0 || bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 1) != 0)
            return blockedf("listen on %s: %s", hosts[i], strerror(errno));
        getsockname(l, (struct sockaddr *)&ss, &len);
        int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect_timeout(c, (struct sockaddr *)&ss, len, 2000) != 0)
            return blockedf("connect to %s: %s", hosts[i], strerror(errno));
        int a = accept(l, NULL, NULL);
        if (a < 0)
            return blockedf("accept on %s: %s", hosts[i], strerror(errno));
        note("loopback %s works", hosts[i]);
        close(a);
        close(c);
        close(l);
    }
    return 0;
}

struct family {
    int af;
    const char *name;
};

static const struct family families[] = {
    {AF_UNIX, "AF_UNIX"}, {AF_INET, "AF_INET"}, {AF_AX25, "AF_AX25"}, {AF_IPX, "AF_IPX"},
    {AF_APPLETALK, "AF_APPLETALK"}, {AF_NETROM, "AF_NETROM"}, {AF_BRIDGE, "AF_BRIDGE"},
    {AF_ATMPVC, "AF_ATMPVC"}, {AF_X25, "AF_X25"}, {AF_INET6, "AF_INET6"}, {AF_ROSE, "AF_ROSE"},
    {AF_DECnet, "AF_DECnet"}, {AF_NETBEUI, "AF_NETBEUI"}, {AF_SECURITY, "AF_SECURITY"},
    {AF_KEY, "AF_KEY"}, {AF_NETLINK, "AF_NETLINK"}, {AF_PACKET, "AF_PACKET"}, {AF_ASH, "AF_ASH"},
    {AF_ECONET, "AF_ECONET"}, {AF_ATMSVC, "AF_ATMSVC"}, {AF_RDS, "AF_RDS"}, {AF_SNA, "AF_SNA"},
    {AF_IRDA, "AF_IRDA"}, {AF_PPPOX, "AF_PPPOX"}, {AF_WANPIPE, "AF_WANPIPE"}, {AF_LLC, "AF_LLC"},
    {AF_IB, "AF_IB"}, {AF_MPLS, "AF_MPLS"}, {AF_CAN, "AF_CAN"}, {AF_TIPC, "AF_TIPC"},
    {AF_BLUETOOTH, "AF_BLUETOOTH"}, {AF_IUCV, "AF_IUCV"}, {AF_RXRPC, "AF_RXRPC"},
    {AF_ISDN, "AF_ISDN"}, {AF_PHONET, "AF_PHONET"}, {AF_IEEE802154, "AF_IEEE802154"},
    {AF_CAIF, "AF_CAIF"}, {AF_ALG, "AF_ALG"}, {AF_NFC, "AF_NFC"}, {AF_VSOCK, "AF_VSOCK"},
    {AF_KCM, "AF_KCM"}, {AF_QIPCRTR, "AF_QIPCRTR"}, {AF_SMC, "AF_SMC"}, {AF_XDP, "AF_XDP"},
    {45, "AF_MCTP"}, {0, NULL},
};

static const char *netlink_name(int proto)
{
    switch (proto) {
    case NETLINK_ROUTE: return "NETLINK_ROUTE";
    case NETLINK_USERSOCK: return "NETLINK_USERSOCK";
    case NETLINK_SOCK_DIAG: return "NETLINK_SOCK_DIAG";
    case NETLINK_NFLOG: return "NETLINK_NFLOG";
    case NETLINK_XFRM: return "NETLINK_XFRM";
    case NETLINK_SELINUX: return "NETLINK_SELINUX";
    case NETLINK_ISCSI: return "NETLINK_ISCSI";
    case NETLINK_AUDIT: return "NETLINK_AUDIT";
    case NETLINK_FIB_LOOKUP: return "NETLINK_FIB_LOOKUP";
    case NETLINK_CONNECTOR: return "NETLINK_CONNECTOR";
    case NETLINK_NETFILTER: return "NETLINK_NETFILTER";
    case NETLINK_IP6_FW: return "NETLINK_IP6_FW";
    case NETLINK_DNRTMSG: return "NETLINK_DNRTMSG";
    case NETLINK_KOBJECT_UEVENT: return "NETLINK_KOBJECT_UEVENT";
    case NETLINK_GENERIC: return "NETLINK_GENERIC";
    case NETLINK_SCSITRANSPORT: return "NETLINK_SCSITRANSPORT";
    case NETLINK_ECRYPTFS: return "NETLINK_ECRYPTFS";
    case NETLINK_RDMA: return "NETLINK_RDMA";
    case NETLINK_CRYPTO: return "NETLINK_CRYPTO";
    case NETLINK_SMC: return "NETLINK_SMC";
    default: return "NETLINK_?";
    }
}

static int try_socket(int af, int type, int proto, const char *label)
{
    int fd = socket(af, type | SOCK_CLOEXEC, proto);
    if (fd >= 0) {
        close(fd);
        return escaped("socket(%s) opened", label);
    }
    return -errno;
}

static int scan_family(int af, const char *name, bool quiet)
{
    char label[96];
    if (af == AF_NETLINK) {
        int r = PROBE_BLOCKED;
        for (int proto = 1; proto < 32; proto++) {
            snprintf(label, sizeof label, "AF_NETLINK, %s (%d)", netlink_name(proto), proto);
            int a = try_socket(af, SOCK_RAW, proto, label);
            if (a == PROBE_ESCAPED) {
                r = PROBE_ESCAPED;
                continue;
            }
            int b = try_socket(af, SOCK_DGRAM, proto, label);
            if (b == PROBE_ESCAPED)
                r = PROBE_ESCAPED;
            else if (!quiet)
                note("socket(%s): %s", label, strerror(-b));
        }
        return r;
    }
    const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET};
    const char *tnames[] = {"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_SEQPACKET"};
    int last = 0;
    for (int t = 0; t < 4; t++) {
        int proto = af == AF_PACKET ? htons(ETH_P_ALL) : 0;
        snprintf(label, sizeof label, "%s, %s", name, tnames[t]);
        int a = try_socket(af, types[t], proto, label);
        if (a == PROBE_ESCAPED)
            return PROBE_ESCAPED;
        last = -a;
    }
    if (!quiet)
        note("socket(%s): %s", name, strerror(last));
    return PROBE_BLOCKED;
}

// socket-families: the escape is opening a socket of any family other than AF_UNIX, AF_INET,
// AF_INET6 and AF_NETLINK/NETLINK_ROUTE; also raw IP sockets.
static int cmd_socket_families(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("socket-families");
    int r = PROBE_BLOCKED;
    for (const struct family *f = families; f->name; f++) {
        if (f->af == AF_UNIX || f->af == AF_INET || f->af == AF_INET6)
            continue;
        r = combine(r, scan_family(f->af, f->name, true));
    }
    int raw = try_socket(AF_INET, SOCK_RAW, IPPROTO_RAW, "AF_INET, SOCK_RAW, IPPROTO_RAW");
    r = combine(r, raw == PROBE_ESCAPED ? PROBE_ESCAPED : PROBE_BLOCKED);
    raw = try_socket(AF_INET6, SOCK_RAW, IPPROTO_RAW, "AF_INET6, SOCK_RAW, IPPROTO_RAW");
    r = combine(r, raw == PROBE_ESCAPED ? PROBE_ESCAPED : PROBE_BLOCKED);
    if (r == PROBE_BLOCKED)
        return blockedf("no forbidden socket family could be opened");
    return r;
}

// socket NAME: one family: packet, netlink-audit, netlink-uevent, netlink-diag, netlink-generic,
// netlink-route (allowed), vsock, alg, key, raw. Only socket() is attempted.
static int cmd_socket(int argc, char **argv)
{
    if (argc != 2)
        return misuse("socket NAME");
    const char *n = argv[1];
    int af, type = SOCK_RAW, proto = 0;
    if (strcmp(n, "packet") == 0) {
        af = AF_PACKET;
        proto = htons(ETH_P_ALL);
    } else if (strncmp(n, "netlink-", 8) == 0) {
        af = AF_NETLINK;
        const char *p = n + 8;
        proto = strcmp(p, "audit") == 0     ? NETLINK_AUDIT
                : strcmp(p, "uevent") == 0  ? NETLINK_KOBJECT_UEVENT
                : strcmp(p, "diag") == 0    ? NETLINK_SOCK_DIAG
                : strcmp(p, "generic") == 0 ? NETLINK_GENERIC
                : strcmp(p, "netfilter") == 0 ? NETLINK_NETFILTER
                : strcmp(p, "route") == 0   ? NETLINK_ROUTE
                                            : -1;
        if (proto < 0)
            return misuse("unknown netlink protocol %s", p);
    } else if (strcmp(n, "vsock") == 0) {
        af = AF_VSOCK;
        type = SOCK_STREAM;
    } else if (strcmp(n, "alg") == 0) {
        af = AF_ALG;
        type = SOCK_SEQPACKET;
    } else if (strcmp(n, "key") == 0) {
        af = AF_KEY;
        proto = 2; // PF_KEY_V2
    } else if (strcmp(n, "raw") == 0) {
        af = AF_INET;
        proto = IPPROTO_RAW;
    } else {
        return misuse("unknown socket %s", n);
    }
    int fd = socket(af, type | SOCK_CLOEXEC, proto);
    if (fd < 0) {
        char what[64];
        snprintf(what, sizeof what, "socket(%s)", n);
        return blocked(what, errno);
    }
    close(fd);
    return escaped("socket(%s) opened", n);
}

// ifaces: the escape is any network interface other than lo.
static int cmd_ifaces(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("ifaces");
    struct if_nameindex *ifs = if_nameindex();
    if (ifs == NULL)
        return blocked("if_nameindex", errno);
    int r = PROBE_BLOCKED;
    for (struct if_nameindex *i = ifs; i->if_index != 0; i++) {
        note("interface %u %s", i->if_index, i->if_name);
        if (strcmp(i->if_name, "lo") != 0)
            r = PROBE_ESCAPED;
    }
    if_freenameindex(ifs);
    if (r == PROBE_ESCAPED)
        return escaped("a non-loopback interface is visible");
    return blockedf("only lo");
}

const struct probe_command sock_commands[] = {
    {"connect-tcp", cmd_connect_tcp, "HOST PORT"},
    {"connect-unix", cmd_connect_unix, "PATH|@NAME"},
    {"listen-tcp", cmd_listen_tcp, "ADDR PORT"},
    {"listen-unix", cmd_listen_unix, "PATH|@NAME"},
    {"loopback", cmd_loopback, ""},
    {"socket-families", cmd_socket_families, ""},
    {"socket", cmd_socket, "NAME"},
    {"ifaces", cmd_ifaces, ""},
    {NULL, NULL, NULL},
};
