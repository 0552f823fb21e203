/* The least a reverse proxy can do per request, for bench/run to measure
 * the keepalive target against: one epoll loop per worker, each client
 * connection paired with its own kept-alive upstream connection. Per
 * request it makes the four socket calls any proxy must (read the request,
 * send it on, read the answer, write it back) and looks at nothing but the
 * framing: no header is parsed or rewritten, nothing is logged. It serves
 * only what bench/run sends it (GET without a body, answers framed by
 * Content-Length), and is not a proxy for anything else.
 *
 * With WORKERS (a number, or `auto` for one per CPU) it forks that many
 * processes, each with its own SO_REUSEPORT socket, so the kernel spreads
 * connections evenly, as `worker_processes` does for nginx.
 *
 * Usage: floor LISTEN_PORT UPSTREAM_PORT [WORKERS]   (both on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF (64 * 1024)

/* One end of a pair: what it has sent so far of the message in flight. */
struct side {
    int fd;
    size_t n;
    long need; /* the whole message's length once its head is read, else -1 */
    char buf[BUF];
};

struct pair {
    struct side client, upstream;
};

/* epoll data: the pair, with the low bit set for its upstream side. */
static void *tag(struct pair *p, int upstream) { return (void *)((unsigned long)p | (unsigned long)upstream); }

static int connect_upstream(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("floor: connect upstream");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void drop(int ep, struct pair *p) {
    epoll_ctl(ep, EPOLL_CTL_DEL, p->client.fd, NULL);
    epoll_ctl(ep, EPOLL_CTL_DEL, p->upstream.fd, NULL);
    close(p->client.fd);
    close(p->upstream.fd);
    free(p);
}

/* Head length plus Content-Length once the head is whole, else -1: a
 * request (GET, no body) and an answer alike. */
static long answer_length(const char *b, size_t n) {
    const char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end) return -1;
    size_t head = (size_t)(end - b) + 4;
    for (const char *l = b; l < end; l = memchr(l, '\n', (size_t)(end - l)) + 1) {
        if (strncasecmp(l, "content-length:", 15) == 0) return (long)head + strtol(l + 15, NULL, 10);
        if (!memchr(l, '\n', (size_t)(end - l))) break;
    }
    return (long)head;
}

static int write_all(int fd, const char *b, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads what `from` has; a whole message goes to `to` in one write.
 * -1: the pair is done (closed, failed, or a message over BUF). */
static int relay(struct side *from, struct side *to) {
    ssize_t r = recv(from->fd, from->buf + from->n, BUF - from->n, 0);
    if (r < 0 && errno == EAGAIN) return 0;
    if (r <= 0) return -1;
    from->n += (size_t)r;
    if (from->need < 0) from->need = answer_length(from->buf, from->n);
    if (from->need >= 0 && from->n >= (size_t)from->need) {
        if (write_all(to->fd, from->buf, from->n) < 0) return -1;
        from->n = 0;
        from->need = -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: floor LISTEN_PORT UPSTREAM_PORT [WORKERS]\n");
        return 2;
    }
    int up_port = atoi(argv[2]), one = 1;
    long workers = argc == 4 ? (strcmp(argv[3], "auto") == 0 ? sysconf(_SC_NPROCESSORS_ONLN) : atol(argv[3])) : 1;
    pid_t parent = getpid();
    /* Workers after the first are children that end with the parent. */
    for (long w = 1; w < workers; w++) {
        if (fork() == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) return 0;
            break;
        }
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1024) < 0) {
        perror("floor: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct pair *p = calloc(1, sizeof *p);
                    p->client.fd = c;
                    p->upstream.fd = connect_upstream(up_port);
                    p->client.need = p->upstream.need = -1;
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    ev.data.ptr = tag(p, 0);
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                    ev.data.ptr = tag(p, 1);
                    epoll_ctl(ep, EPOLL_CTL_ADD, p->upstream.fd, &ev);
                }
                continue;
            }
            int from_upstream = (int)((unsigned long)evs[i].data.ptr & 1);
            struct pair *p = (struct pair *)((unsigned long)evs[i].data.ptr & ~1UL);
            if (from_upstream ? relay(&p->upstream, &p->client) : relay(&p->client, &p->upstream)) drop(ep, p);
        }
    }
}
