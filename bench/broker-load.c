/*
 * broker-load: a closed-loop HTTP/1.1 load generator for the agentrun broker socket.
 *
 * One thread per connection, blocking I/O, keep-alive over a Unix socket: each thread sends a
 * request, reads the whole response, and only then sends the next, so a request's latency
 * (CLOCK_MONOTONIC, from before the write to after the last body byte) is what an agent sees.
 * Every response is parsed strictly (status line, headers, Content-Length body); anything
 * unexpected, a non-2xx status or a closed connection stops the run with a message and exit 1.
 *
 *   gcc -O2 -pthread -o broker-load bench/broker-load.c
 *   broker-load [-s SOCKET] [-c CONNECTIONS] [-d SECONDS | -n REQUESTS] [-w WARMUP]
 *               [-X METHOD] [-p PATH] [-b BODY | -B FILE] [-e SUBSTRING] [-l LABEL] [-v]
 *
 * The socket defaults to $AGENTRUN_SOCKET (a `unix://` prefix is stripped). Every request
 * carries `AgentRun-Request: 1`, `Content-Type: application/json` and `Content-Length`.
 * Output: p50/p90/p99/max latency in µs and requests/s, then one machine-readable line
 * starting with `RESULT `.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_BODY_BYTES (16 * 1024 * 1024)

struct options {
    const char *socket_path;
    long connections;
    double duration;   /* seconds of measurement, when requests == 0 */
    long requests;     /* total measured requests over all connections, or 0 */
    long warmup;       /* unmeasured requests per connection before measuring */
    const char *method;
    const char *path;
    char *body;
    size_t body_length;
    const char *expect;  /* a substring every response body must contain, or NULL */
    const char *label;
    int verbose;
};

struct latencies {
    uint64_t *ns;
    size_t count, capacity;
};

struct worker {
    pthread_t thread;
    int index;
    long quota;  /* measured requests for this connection in -n mode */
    struct latencies samples;
};

static struct options opt;
static char *request;  /* the serialized request, identical for every call */
static size_t request_length;
static pthread_barrier_t start_barrier;
static atomic_int stop_flag;

static void die(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("broker-load: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void push_sample(struct latencies *l, uint64_t ns) {
    if (l->count == l->capacity) {
        l->capacity = l->capacity ? l->capacity * 2 : 65536;
        l->ns = realloc(l->ns, l->capacity * sizeof *l->ns);
        if (!l->ns) die("out of memory for latency samples");
    }
    l->ns[l->count++] = ns;
}

static int connect_socket(void) {
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(opt.socket_path) >= sizeof address.sun_path) die("socket path too long: %s", opt.socket_path);
    strcpy(address.sun_path, opt.socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0)
        die("connect %s: %s", opt.socket_path, strerror(errno));
    return fd;
}

static void send_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("send: %s", strerror(errno));
        }
        data += n;
        length -= (size_t)n;
    }
}

/* Per-connection receive buffer: bytes [start, end) are read but not yet consumed. */
struct reader {
    int fd;
    char *buffer;
    size_t capacity, start, end;
};

/* Reads more bytes; dies on EOF (the broker closed a keep-alive connection) or error. */
static void fill(struct reader *r, const char *waiting_for) {
    if (r->start > 0 && r->start == r->end) r->start = r->end = 0;
    if (r->end == r->capacity) {
        if (r->start > 0) {
            memmove(r->buffer, r->buffer + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        } else {
            die("response larger than the %zu-byte buffer", r->capacity);
        }
    }
    for (;;) {
        ssize_t n = recv(r->fd, r->buffer + r->end, r->capacity - r->end, 0);
        if (n > 0) {
            r->end += (size_t)n;
            return;
        }
        if (n == 0) die("connection closed by the server while waiting for %s", waiting_for);
        if (errno != EINTR) die("recv: %s", strerror(errno));
    }
}

static int header_is(const char *line, size_t length, const char *name, const char **value, size_t *value_length) {
    size_t name_length = strlen(name);
    if (length <= name_length || line[name_length] != ':' || strncasecmp(line, name, name_length) != 0) return 0;
    const char *v = line + name_length + 1, *e = line + length;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *value = v;
    *value_length = (size_t)(e - v);
    return 1;
}

/* Reads one response; returns its status (always 2xx: anything else dies). */
static int read_response(struct reader *r, int show) {
    /* Head: up to the blank line. */
    char *head_end;
    for (;;) {
        head_end = memmem(r->buffer + r->start, r->end - r->start, "\r\n\r\n", 4);
        if (head_end) break;
        if (r->end - r->start > MAX_HEADER_BYTES) die("response head longer than %d bytes", MAX_HEADER_BYTES);
        fill(r, "the response head");
    }
    char *line = r->buffer + r->start;
    char *eol = memmem(line, (size_t)(head_end + 2 - line), "\r\n", 2);
    size_t line_length = (size_t)(eol - line);
    if (line_length < 12 || memcmp(line, "HTTP/1.1 ", 9) != 0 || line[9] < '1' || line[9] > '5' || line[10] < '0' ||
        line[10] > '9' || line[11] < '0' || line[11] > '9' || (line_length > 12 && line[12] != ' '))
        die("malformed status line: %.*s", (int)line_length, line);
    int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');

    long long content_length = -1;
    int close_requested = 0;
    char *cursor = eol + 2;
    while (cursor < head_end + 2) {
        char *next = memmem(cursor, (size_t)(head_end + 4 - cursor), "\r\n", 2);
        size_t length = (size_t)(next - cursor);
        const char *value;
        size_t value_length;
        if (memchr(cursor, ':', length) == NULL) die("malformed header line: %.*s", (int)length, cursor);
        if (header_is(cursor, length, "Content-Length", &value, &value_length)) {
            long long parsed = 0;
            if (value_length == 0 || value_length > 10) die("bad Content-Length: %.*s", (int)length, cursor);
            for (size_t i = 0; i < value_length; i++) {
                if (value[i] < '0' || value[i] > '9') die("bad Content-Length: %.*s", (int)length, cursor);
                parsed = parsed * 10 + (value[i] - '0');
            }
            if (content_length >= 0 && content_length != parsed) die("conflicting Content-Length headers");
            content_length = parsed;
        } else if (header_is(cursor, length, "Transfer-Encoding", &value, &value_length)) {
            die("unexpected Transfer-Encoding: %.*s (this client reads Content-Length bodies only)", (int)value_length, value);
        } else if (header_is(cursor, length, "Connection", &value, &value_length)) {
            if (value_length == 5 && strncasecmp(value, "close", 5) == 0) close_requested = 1;
        }
        cursor = next + 2;
    }
    if (content_length < 0 && status != 204 && status != 304 && status >= 200) die("response without Content-Length (status %d)", status);
    if (content_length < 0) content_length = 0;
    if (content_length > MAX_BODY_BYTES) die("response body of %lld bytes is too large", content_length);

    size_t head_length = (size_t)(head_end + 4 - (r->buffer + r->start));
    while (r->end - r->start < head_length + (size_t)content_length) fill(r, "the response body");
    const char *body = r->buffer + r->start + head_length;

    if (status < 200 || status > 299)
        die("HTTP %d: %.*s", status, (int)(content_length > 2000 ? 2000 : content_length), body);
    if (opt.expect && !memmem(body, (size_t)content_length, opt.expect, strlen(opt.expect)))
        die("response body lacks \"%s\": %.*s", opt.expect, (int)(content_length > 2000 ? 2000 : content_length), body);
    if (close_requested) die("the server asked to close the keep-alive connection (Connection: close)");
    if (show)
        fprintf(stderr, "HTTP %d, %lld body bytes: %.*s\n", status, content_length, (int)(content_length > 500 ? 500 : content_length), body);

    r->start += head_length + (size_t)content_length;
    if (r->start != r->end) die("%zu unexpected bytes after the response", r->end - r->start);
    r->start = r->end = 0;
    return status;
}

static void *run_connection(void *argument) {
    struct worker *w = argument;
    struct reader r = {.fd = connect_socket(), .capacity = MAX_HEADER_BYTES + MAX_BODY_BYTES};
    r.buffer = malloc(r.capacity);
    if (!r.buffer) die("out of memory for the receive buffer");

    for (long i = 0; i < opt.warmup; i++) {
        send_all(r.fd, request, request_length);
        read_response(&r, 0);
    }
    if (w->index == 0 && opt.verbose) {
        send_all(r.fd, request, request_length);
        read_response(&r, 1);
    }
    pthread_barrier_wait(&start_barrier);

    for (long done = 0;; done++) {
        if (opt.requests > 0 ? done >= w->quota : atomic_load_explicit(&stop_flag, memory_order_relaxed)) break;
        uint64_t started = now_ns();
        send_all(r.fd, request, request_length);
        read_response(&r, 0);
        push_sample(&w->samples, now_ns() - started);
    }
    close(r.fd);
    free(r.buffer);
    return NULL;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static double percentile_us(const uint64_t *sorted, size_t count, double p) {
    size_t rank = (size_t)((p / 100.0) * (double)count + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > count) rank = count;
    return (double)sorted[rank - 1] / 1000.0;
}

static char *read_file(const char *path, size_t *length) {
    FILE *file = fopen(path, "rb");
    if (!file) die("%s: %s", path, strerror(errno));
    char *data = NULL;
    size_t size = 0, capacity = 0;
    for (;;) {
        if (size == capacity) {
            capacity = capacity ? capacity * 2 : 4096;
            data = realloc(data, capacity);
            if (!data) die("out of memory reading %s", path);
        }
        size_t n = fread(data + size, 1, capacity - size, file);
        size += n;
        if (n == 0) break;
    }
    if (ferror(file)) die("%s: read error", path);
    fclose(file);
    *length = size;
    return data;
}

static long parse_long(const char *text, const char *what, long minimum) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || end == text || value < minimum) die("%s must be a whole number >= %ld, not '%s'", what, minimum, text);
    return value;
}

static void usage(void) {
    fputs("usage: broker-load [-s SOCKET] [-c CONNECTIONS] [-d SECONDS | -n REQUESTS] [-w WARMUP_PER_CONNECTION]\n"
          "                   [-X METHOD] [-p PATH] [-b BODY | -B BODY_FILE] [-e EXPECTED_SUBSTRING] [-l LABEL] [-v]\n"
          "defaults: SOCKET from $AGENTRUN_SOCKET, 1 connection, 5 seconds, 200 warm-up requests,\n"
          "          POST /v1/check with body {}\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv) {
    opt = (struct options){.connections = 1, .duration = 5, .warmup = 200, .method = "POST", .path = "/v1/check",
                           .label = "broker"};
    opt.body = "{}";
    opt.body_length = 2;
    int c;
    while ((c = getopt(argc, argv, "s:c:d:n:w:X:p:b:B:e:l:vh")) != -1) {
        switch (c) {
        case 's': opt.socket_path = optarg; break;
        case 'c': opt.connections = parse_long(optarg, "-c", 1); break;
        case 'd': {
            char *end;
            opt.duration = strtod(optarg, &end);
            if (*end || end == optarg || !(opt.duration > 0)) die("-d must be a positive number of seconds, not '%s'", optarg);
            break;
        }
        case 'n': opt.requests = parse_long(optarg, "-n", 1); break;
        case 'w': opt.warmup = parse_long(optarg, "-w", 0); break;
        case 'X': opt.method = optarg; break;
        case 'p': opt.path = optarg; break;
        case 'b': opt.body = optarg; opt.body_length = strlen(optarg); break;
        case 'B': opt.body = read_file(optarg, &opt.body_length); break;
        case 'e': opt.expect = optarg; break;
        case 'l': opt.label = optarg; break;
        case 'v': opt.verbose = 1; break;
        default: usage();
        }
    }
    if (optind != argc) usage();
    if (!opt.socket_path) {
        const char *env = getenv("AGENTRUN_SOCKET");
        if (!env || !*env) die("no socket: pass -s PATH or set AGENTRUN_SOCKET");
        opt.socket_path = strncmp(env, "unix://", 7) == 0 ? env + 7 : env;
    }
    if (opt.requests > 0 && opt.requests < opt.connections) die("-n must be at least the number of connections");
    for (const char *p = opt.label; *p; p++)
        if (*p == ' ' || *p == '=') die("-l must not contain spaces or '='");

    int head = asprintf(&request,
                        "%s %s HTTP/1.1\r\nHost: agentrun\r\nAgentRun-Request: 1\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        opt.method, opt.path, opt.body_length);
    if (head < 0) die("out of memory");
    request = realloc(request, (size_t)head + opt.body_length);
    if (!request) die("out of memory");
    memcpy(request + head, opt.body, opt.body_length);
    request_length = (size_t)head + opt.body_length;

    struct worker *workers = calloc((size_t)opt.connections, sizeof *workers);
    if (!workers) die("out of memory");
    if (pthread_barrier_init(&start_barrier, NULL, (unsigned)opt.connections + 1) != 0) die("pthread_barrier_init failed");
    for (long i = 0; i < opt.connections; i++) {
        workers[i].index = (int)i;
        workers[i].quota = opt.requests / opt.connections + (i < opt.requests % opt.connections ? 1 : 0);
        int rc = pthread_create(&workers[i].thread, NULL, run_connection, &workers[i]);
        if (rc != 0) die("pthread_create: %s", strerror(rc));
    }
    pthread_barrier_wait(&start_barrier);  /* every connection is open and warmed up */
    uint64_t started = now_ns();
    if (opt.requests == 0) {
        struct timespec pause = {.tv_sec = (time_t)opt.duration,
                                 .tv_nsec = (long)((opt.duration - (double)(time_t)opt.duration) * 1e9)};
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {}
        atomic_store(&stop_flag, 1);
    }
    for (long i = 0; i < opt.connections; i++) pthread_join(workers[i].thread, NULL);
    uint64_t elapsed = now_ns() - started;

    size_t total = 0;
    for (long i = 0; i < opt.connections; i++) total += workers[i].samples.count;
    if (total == 0) die("no request completed");
    uint64_t *all = malloc(total * sizeof *all);
    if (!all) die("out of memory");
    size_t offset = 0;
    for (long i = 0; i < opt.connections; i++) {
        memcpy(all + offset, workers[i].samples.ns, workers[i].samples.count * sizeof *all);
        offset += workers[i].samples.count;
    }
    qsort(all, total, sizeof *all, compare_u64);
    double seconds = (double)elapsed / 1e9;
    double rps = (double)total / seconds;
    double p50 = percentile_us(all, total, 50), p90 = percentile_us(all, total, 90);
    double p99 = percentile_us(all, total, 99), max = (double)all[total - 1] / 1000.0;

    printf("%s: %s %s, %ld connection%s, %zu requests in %.3f s (after %ld warm-up per connection)\n", opt.label,
           opt.method, opt.path, opt.connections, opt.connections == 1 ? "" : "s", total, seconds, opt.warmup);
    printf("  latency µs: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", p50, p90, p99, max);
    printf("  throughput: %.0f requests/s\n", rps);
    printf("RESULT label=%s connections=%ld requests=%zu seconds=%.3f rps=%.0f p50_us=%.1f p90_us=%.1f p99_us=%.1f "
           "max_us=%.1f\n",
           opt.label, opt.connections, total, seconds, rps, p50, p90, p99, max);
    return 0;
}
