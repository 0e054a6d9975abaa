// Privilege attacks: setuid/setgid, capabilities, setuid binaries, uid mapping, environment
// secrets, seccomp and no_new_privs status.
#include "probe.h"

#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// setuid0: become uid 0 (setuid, setresuid, setfsuid).
static int cmd_setuid0(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("setuid0");
    int r = PROBE_BLOCKED;
    if (setuid(0) != 0)
        r = combine(r, blocked("setuid(0)", errno));
    if (setresuid(0, 0, 0) != 0)
        r = combine(r, blocked("setresuid(0,0,0)", errno));
    setfsuid(0);
    if ((int)setfsuid((uid_t)-1) == 0)
        note("fsuid is 0");
    if (geteuid() == 0 && getuid() == 0)
        return escaped("uid 0 (ruid %d euid %d)", getuid(), geteuid());
    return r;
}

// setgid0: become gid 0 and join group 0.
static int cmd_setgid0(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("setgid0");
    int r = PROBE_BLOCKED;
    if (setgid(0) != 0)
        r = combine(r, blocked("setgid(0)", errno));
    else if (getegid() == 0)
        r = combine(r, escaped("setgid(0)"));
    gid_t g = 0;
    if (setgroups(1, &g) != 0)
        r = combine(r, blocked("setgroups([0])", errno));
    else
        r = combine(r, escaped("setgroups([0])"));
    return r;
}

static int cap_get(struct __user_cap_data_struct d[2])
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &h, d);
}

// capset-raise: raise CAP_SYS_ADMIN into the effective/permitted/inheritable sets, then into
// the ambient set.
static int cmd_capset_raise(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("capset-raise");
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (cap_get(d) != 0)
        return blocked("capget", errno);
    int r = PROBE_BLOCKED;
    const unsigned admin = 1u << CAP_SYS_ADMIN;
    d[0].permitted |= admin;
    d[0].effective |= admin;
    d[0].inheritable |= admin;
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    if (syscall(SYS_capset, &h, d) != 0) {
        r = combine(r, blocked("capset(+CAP_SYS_ADMIN)", errno));
    } else {
        memset(d, 0, sizeof d);
        cap_get(d);
        if (d[0].effective & admin)
            r = combine(r, escaped("CAP_SYS_ADMIN is effective"));
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0) == 0)
        r = combine(r, escaped("raised CAP_SYS_ADMIN into the ambient set"));
    else
        r = combine(r, blocked("prctl(PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN)", errno));
    return r;
}

// caps: the escape is any non-empty capability set (CapInh/Prm/Eff/Bnd/Amb).
static int cmd_caps(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("caps");
    char buf[8192];
    ssize_t n = read_file("/proc/self/status", buf, sizeof buf);
    if (n < 0)
        return misuse("read /proc/self/status: %s", strerror((int)-n));
    int r = PROBE_BLOCKED;
    const char *names[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
    for (size_t i = 0; i < 5; i++) {
        char *p = strstr(buf, names[i]);
        if (p == NULL)
            continue;
        unsigned long long v = strtoull(p + strlen(names[i]), NULL, 16);
        note("%s %016llx", names[i], v);
        if (v != 0)
            r = PROBE_ESCAPED;
    }
    if (r == PROBE_ESCAPED)
        return escaped("a capability set is not empty");
    return blockedf("all five capability sets are empty");
}

static int status_field(const char *field)
{
    char buf[8192];
    if (read_file("/proc/self/status", buf, sizeof buf) < 0)
        return -1;
    char *p = strstr(buf, field);
    if (p == NULL)
        return -1;
    return atoi(p + strlen(field));
}

// nnp-off: the escape is no_new_privs being unset (setuid binaries and file caps would work).
static int cmd_nnp_off(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("nnp-off");
    int v = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (v == 0)
        return escaped("no_new_privs is not set");
    if (v < 0)
        return blocked("prctl(PR_GET_NO_NEW_PRIVS)", errno);
    return blockedf("no_new_privs is set");
}

// seccomp-off: the escape is running without a seccomp filter.
static int cmd_seccomp_off(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("seccomp-off");
    int mode = status_field("Seccomp:");
    int filters = status_field("Seccomp_filters:");
    note("Seccomp: %d, Seccomp_filters: %d", mode, filters);
    if (mode != 2)
        return escaped("no seccomp filter (Seccomp: %d)", mode);
    return blockedf("seccomp filter mode, %d filter(s)", filters);
}

// euid-elevated: helper run through a setuid binary; exit 0 if the effective ids changed.
static int cmd_euid_elevated(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    note("ruid %d euid %d", getuid(), geteuid());
    if (geteuid() == 0 || geteuid() != getuid())
        return escaped("euid %d (ruid %d)", geteuid(), getuid());
    return blockedf("euid %d equals ruid", geteuid());
}

// suid-exec PATH: run a setuid-root copy of this probe; the escape is the effective uid changing.
static int cmd_suid_exec(int argc, char **argv)
{
    if (argc != 2)
        return misuse("suid-exec PATH");
    if (geteuid() == 0)
        return misuse("suid-exec must start unprivileged (euid %d)", geteuid());
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = {argv[1], "euid-elevated", NULL};
        execv(argv[1], args);
        printf("  execv(%s): %s\n", argv[1], strerror(errno));
        _exit(99);
    }
    int st = wait_status(pid);
    if (st == 0)
        return escaped("the setuid binary ran with elevated privileges");
    return blockedf("the setuid binary did not elevate (status %d)", st);
}

// uid-map: the escape is running as host root (uid 0 mapped to host uid 0).
static int cmd_uid_map(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("uid-map");
    char buf[4096];
    int r = PROBE_BLOCKED;
    const char *files[] = {"/proc/self/uid_map", "/proc/self/gid_map"};
    for (int f = 0; f < 2; f++) {
        ssize_t n = read_file(files[f], buf, sizeof buf);
        if (n < 0) {
            note("%s: %s", files[f], strerror((int)-n));
            continue;
        }
        char *save = NULL;
        for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            unsigned long inside, outside, count;
            if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3)
                continue;
            note("%s: %lu %lu %lu", files[f], inside, outside, count);
            if (outside == 0)
                r = combine(r, escaped("%s maps %lu to host id 0", files[f], inside));
        }
    }
    note("uid %d gid %d euid %d egid %d", getuid(), getgid(), geteuid(), getegid());
    if (r == PROBE_BLOCKED)
        return blockedf("host id 0 is not mapped");
    return r;
}

// env-secrets NAME...: the escape is any of the named variables being set.
static int cmd_env_secrets(int argc, char **argv)
{
    if (argc < 2)
        return misuse("env-secrets NAME...");
    int r = PROBE_BLOCKED;
    for (int i = 1; i < argc; i++) {
        if (getenv(argv[i]) != NULL)
            r = combine(r, escaped("%s is set (%zu bytes)", argv[i], strlen(getenv(argv[i]))));
        else
            note("%s is not set", argv[i]);
    }
    if (r == PROBE_BLOCKED)
        return blockedf("none of the secrets is in the environment");
    return r;
}

const struct probe_command priv_commands[] = {
    {"setuid0", cmd_setuid0, ""},
    {"setgid0", cmd_setgid0, ""},
    {"capset-raise", cmd_capset_raise, ""},
    {"caps", cmd_caps, ""},
    {"nnp-off", cmd_nnp_off, ""},
    {"seccomp-off", cmd_seccomp_off, ""},
    {"euid-elevated", cmd_euid_elevated, ""},
    {"suid-exec", cmd_suid_exec, "PATH"},
    {"uid-map", cmd_uid_map, ""},
    {"env-secrets", cmd_env_secrets, "NAME..."},
    {NULL, NULL, NULL},
};
