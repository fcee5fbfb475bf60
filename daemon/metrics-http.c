/* SPDX-License-Identifier: MIT */
/* /metrics and /healthz, served by libmicrohttpd on the daemon's own loop
 * with no thread of its own (as systemd-journal-remote runs it): MHD keeps
 * its sockets in an epoll fd that sd-event watches; MHD_run() runs when it
 * is readable or when MHD_get_timeout() says. A scrape is a response read
 * through a callback: each call writes whole items into one of a few
 * preallocated staging buffers, so a scrape is many short steps, never one
 * long one, and allocates nothing of ours.
 *
 * libmicrohttpd is dlopen()ed when --metrics-listen is given: linked in, it
 * and GnuTLS cost 6.9 MiB of locked memory with --mlock all (3.1 MiB resident
 * with onfault) on every node, metrics or not (docs/observability.md).
 *
 * /healthz: the loop answers it, so while the loop is stuck nothing answers
 * at all, which a liveness probe's timeout takes as a failure (as systemd's
 * watchdog does). No timer of its own: an idle node stays without wake-ups. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "manager.h"
#include "metrics-http.h"

#define SCRAPES_MAX          4
#define SCRAPE_BUF_SIZE      (64 * 1024)
#define HEARTBEAT_USEC       (1 * USEC_PER_SEC)
#define HTTP_CONNECTIONS     8
#define HTTP_TIMEOUT_SEC     10
#define HTTP_MEMORY_LIMIT    (32 * 1024)
#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
/* What one scrape may write in one turn of the loop before it lets the
 * other sources run: the loop's longest step stays short at any tree size. */
#define SCRAPE_TURN_BYTES (64 * 1024)

typedef struct Scrape {
        Metrics *owner;
        bool busy;
        ScrapeCursor cursor;
        size_t len, off;
        char buf[SCRAPE_BUF_SIZE];
} Scrape;

struct Metrics {
        Manager *manager;
        MetricsConfig cfg;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        uint64_t n_scrapes, n_busy;
        uint64_t turn_iteration, turn_bytes;
        MetricsCounters counters;
        Scrape scrapes[SCRAPES_MAX];
};

/* libmicrohttpd, resolved at metrics_start(). */
static struct MHD_Daemon *(*sym_MHD_start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                                  MHD_AccessHandlerCallback, void *, ...);
static void (*sym_MHD_stop_daemon)(struct MHD_Daemon *);
static const union MHD_DaemonInfo *(*sym_MHD_get_daemon_info)(struct MHD_Daemon *, enum MHD_DaemonInfoType,
                                                              ...);
static enum MHD_Result (*sym_MHD_run)(struct MHD_Daemon *);
static enum MHD_Result (*sym_MHD_get_timeout)(struct MHD_Daemon *, MHD_UNSIGNED_LONG_LONG *);
static struct MHD_Response *(*sym_MHD_create_response_from_callback)(uint64_t, size_t,
                                                                     MHD_ContentReaderCallback, void *,
                                                                     MHD_ContentReaderFreeCallback);
static struct MHD_Response *(*sym_MHD_create_response_from_buffer)(size_t, void *,
                                                                   enum MHD_ResponseMemoryMode);
static enum MHD_Result (*sym_MHD_add_response_header)(struct MHD_Response *, const char *, const char *);
static enum MHD_Result (*sym_MHD_queue_response)(struct MHD_Connection *, unsigned int,
                                                 struct MHD_Response *);
static void (*sym_MHD_destroy_response)(struct MHD_Response *);

static int mhd_dlopen(void)
{
        static void *dl;

        if (dl)
                return 0;
        dl = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl) {
                log_error(
                        "Cannot load libmicrohttpd.so.12 (install libmicrohttpd12 for --metrics-listen): %s",
                        dlerror());
                return -EOPNOTSUPP;
        }
#define SYM(n)                                                                                              \
        do {                                                                                                \
                if (!(*(void **)&sym_##n = dlsym(dl, #n))) {                                                \
                        log_error("libmicrohttpd.so.12 lacks %s", #n);                                      \
                        dlclose(dl);                                                                        \
                        dl = NULL;                                                                          \
                        return -EOPNOTSUPP;                                                                 \
                }                                                                                           \
        } while (0)
        SYM(MHD_start_daemon);
        SYM(MHD_stop_daemon);
        SYM(MHD_get_daemon_info);
        SYM(MHD_run);
        SYM(MHD_get_timeout);
        SYM(MHD_create_response_from_callback);
        SYM(MHD_create_response_from_buffer);
        SYM(MHD_add_response_header);
        SYM(MHD_queue_response);
        SYM(MHD_destroy_response);
#undef SYM
        return 0;
}

/* ---- the loop ---- */

static void arm_timer(Metrics *x)
{
        MHD_UNSIGNED_LONG_LONG ms = 0;

        if (sym_MHD_get_timeout(x->mhd, &ms) != MHD_YES) {
                (void)sd_event_source_set_enabled(x->timer, SD_EVENT_OFF);
                return;
        }
        (void)sd_event_source_set_time_relative(x->timer, (uint64_t)ms * USEC_PER_MSEC);
        (void)sd_event_source_set_enabled(x->timer, SD_EVENT_ONESHOT);
}

static int on_mhd_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Metrics *x = userdata;

        (void)s, (void)fd, (void)revents;
        (void)sym_MHD_run(x->mhd);
        arm_timer(x);
        return 0;
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Metrics *x = userdata;

        (void)s, (void)usec;
        (void)sym_MHD_run(x->mhd);
        arm_timer(x);
        return 0;
}

/* ---- the responses ---- */

static ssize_t scrape_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        Scrape *s = cls;
        uint64_t it;
        size_t n;

        (void)pos;
        if (sd_event_get_iteration(s->owner->manager->event, &it) >= 0 && it != s->owner->turn_iteration) {
                s->owner->turn_iteration = it;
                s->owner->turn_bytes = 0;
        }
        if (s->owner->turn_bytes >= SCRAPE_TURN_BYTES)
                return 0; /* the rest on a later turn: MHD asks again (MHD_get_timeout says 0) */
        while (s->off == s->len) {
                MetricsWriter w;
                if (s->cursor.done)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                metrics_init(&w, s->buf, sizeof(s->buf));
                metrics_scrape_fill(s->owner->manager, &s->owner->cfg, &s->owner->counters, &s->cursor, &w);
                s->len = w.len;
                s->off = 0;
                if (s->len == 0 && !s->cursor.done) /* one item larger than the buffer: cannot be */
                        return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        n = s->len - s->off < max ? s->len - s->off : max;
        memcpy(buf, s->buf + s->off, n);
        s->off += n;
        s->owner->turn_bytes += n;
        return (ssize_t)n;
}

static void scrape_free(void *cls)
{
        Scrape *s = cls;

        s->busy = false;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
        struct MHD_Response *resp;
        enum MHD_Result r;

        resp = sym_MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        (void)sym_MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
        r = sym_MHD_queue_response(conn, status, resp);
        sym_MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result reply_metrics(Metrics *x, struct MHD_Connection *conn)
{
        struct MHD_Response *resp;
        Scrape *s = NULL;
        enum MHD_Result r;

        for (unsigned i = 0; i < SCRAPES_MAX && !s; i++)
                if (!x->scrapes[i].busy)
                        s = &x->scrapes[i];
        if (!s) {
                x->n_busy++;
                return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too many scrapes at once\n");
        }
        s->busy = true;
        s->owner = x;
        s->cursor = (ScrapeCursor){};
        s->len = s->off = 0;
        resp = sym_MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, scrape_read, s,
                                                     scrape_free);
        if (!resp) {
                s->busy = false;
                return MHD_NO;
        }
        x->n_scrapes++;
        (void)sym_MHD_add_response_header(resp, "Content-Type", CONTENT_TYPE_METRICS);
        r = sym_MHD_queue_response(conn, MHD_HTTP_OK, resp);
        sym_MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result reply_healthz(Metrics *x, struct MHD_Connection *conn)
{
        (void)x;
        return reply_text(conn, MHD_HTTP_OK, "ok\n"); /* answered: the loop runs */
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        Metrics *x = cls;

        (void)version, (void)upload_data;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
        if (*upload_data_size != 0) { /* a body with a GET: ignore it */
                *upload_data_size = 0;
                return MHD_YES;
        }
        (void)con_cls;
        if (strcmp(url, "/metrics") == 0)
                return reply_metrics(x, conn);
        if (strcmp(url, "/healthz") == 0)
                return reply_healthz(x, conn);
        return reply_text(conn, MHD_HTTP_NOT_FOUND, "/metrics or /healthz\n");
}

/* ---- start and stop ---- */

/* "ADDR:PORT" or "[ADDR6]:PORT", numeric only (no name lookup on the loop). */
static int parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon, *h = s;
        size_t hl;
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM },
                        *ai = NULL;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                h = s + 1;
                hl = (size_t)(end - h);
                colon = end + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon)
                        return -EINVAL;
                hl = (size_t)(colon - s);
        }
        if (hl == 0 || hl >= sizeof(host) || !colon[1])
                return -EINVAL;
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
                return -EINVAL;
        memcpy(ret, ai->ai_addr, ai->ai_addrlen);
        *ret_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

int metrics_listen_valid(const char *s)
{
        struct sockaddr_storage sa;
        socklen_t len;

        return parse_listen(s, &sa, &len);
}

static int add_sources(Metrics *x)
{
        const union MHD_DaemonInfo *info = sym_MHD_get_daemon_info(x->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        sd_event *e = x->manager->event;
        int r;

        if (!info)
                return -EIO;
        r = sd_event_add_io(e, &x->io, info->epoll_fd, EPOLLIN, on_mhd_io, x);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &x->timer, CLOCK_MONOTONIC, 0, 0, on_mhd_timer, x);
        if (r < 0)
                return r;
        (void)sd_event_source_set_enabled(x->timer, SD_EVENT_OFF);
        (void)sd_event_source_set_time_accuracy(x->timer, 1); /* MHD's "now" means now, not in 250 ms */
        /* The normal priority, as the kernel's sources: sd-event dispatches one
         * source per turn, the highest first, so a scrape that yields (its
         * timer due at once) must not outrank inotify and PSI. */
        (void)sd_event_source_set_description(x->io, "metrics-http");
        (void)sd_event_source_set_description(x->timer, "metrics-http-timer");
        return 0;
}

int metrics_start(Manager *m, const MetricsConfig *cfg, Metrics **ret)
{
        struct sockaddr_storage sa;
        socklen_t salen;
        Metrics *x;
        int r;

        r = parse_listen(cfg->listen, &sa, &salen);
        if (r < 0)
                return log_error_errno(r, "--metrics-listen: expected ADDR:PORT or [ADDR6]:PORT, got '%s'",
                                       cfg->listen);
        r = mhd_dlopen();
        if (r < 0)
                return r;
        x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->manager = m;
        x->cfg = *cfg;
        x->mhd = sym_MHD_start_daemon(
                MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL,
                NULL, on_request, x, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                (unsigned)HTTP_TIMEOUT_SEC, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_LIMIT,
                MHD_OPTION_END);
        if (!x->mhd) {
                free(x);
                return log_error_errno(-EADDRNOTAVAIL, "Cannot listen for /metrics on '%s'", cfg->listen);
        }
        r = add_sources(x);
        if (r < 0) {
                metrics_stop(x);
                return log_error_errno(r, "Cannot add the metrics server to the loop: %m");
        }
        log_info("Serving /metrics and /healthz on '%s'.", cfg->listen);
        *ret = x;
        return 0;
}

Metrics *metrics_stop(Metrics *x)
{
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->io);
        sd_event_source_disable_unref(x->timer);
        if (x->mhd)
                sym_MHD_stop_daemon(x->mhd); /* frees the responses: scrape_free */
        free(x);
        return NULL;
}

static MetricsOrigin origin_of(int origin)
{
        switch (origin) {
        case RECORD_ORIGIN_WATCHER:
                return METRICS_ORIGIN_KERNEL;
        case RECORD_ORIGIN_DECISION:
                return METRICS_ORIGIN_DECISION;
        case RECORD_ORIGIN_OUTCOME:
                return METRICS_ORIGIN_OUTCOME;
        default:
                return METRICS_ORIGIN_OTHER;
        }
}

void metrics_record(Metrics *x, int origin, const Record *r)
{
        metrics_counters_record(&x->counters, origin_of(origin), r,
                                r->mono_usec ? r->mono_usec : now_usec(CLOCK_MONOTONIC));
}

void metrics_record_done(Metrics *x, int origin)
{
        metrics_counters_record_done(&x->counters, origin_of(origin));
}
