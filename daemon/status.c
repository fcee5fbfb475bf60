/* SPDX-License-Identifier: MIT */
/* The status socket: a Unix stream socket; the client sends one request line
 * ("status\n" or "explain [PATH]\n", src/status-proto.c), the daemon answers
 * with JSON lines (a header, then one line per cgroup) and closes. "events"
 * answers with the recent records (a ring of the last EVENTS_RING_N, as the
 * output writes them), "events follow" then keeps the connection and sends
 * each new record: a follower reads from the ring at its own pace, and one
 * that falls a whole ring behind is told how many it lost. Clients
 * are bounded, buffers fixed, writes non-blocking, and a client that stalls
 * is dropped after a timeout. The server reads the daemon through a
 * StatusView; only status_server_start() below knows the Manager. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "explain.h"
#include "fs-util.h"
#include "json.h"
#include "log.h"
#include "manager.h"
#include "policy-loader.h"
#include "status-proto.h"
#include "undo-log.h"

#define CLIENT_TIMEOUT_USEC  (5 * USEC_PER_SEC)
#define STATUS_CLIENTS_MAX   8
#define STATUS_BUF_SIZE      16384
#define EVENTS_RING_N        128
#define EVENTS_ENTRY_MAX     2048
#define STATUS_FOLLOWERS_MAX 4

/* What changes while the daemon runs, read at each header. */
typedef struct StatusCounters {
        uint64_t start_usec;
        uint64_t policy_reloads, policy_reload_failures, policy_reloads_abandoned, policy_load_usec;
        size_t policy_sources, policy_sources_failed;
        bool policy_reload_running;
        bool node_psi_armed, node_memavailable_sampled;
        uint64_t node_psi_events, event_log_errors;
        uint64_t node_samples, node_early_samples; /* MemAvailable reads; early ones for cgroup events */
        const char *node_sampling;                 /* "allocations", "timer" */
        const char *node_alloc_off;                /* why no counters; NULL: they are there */
        NodeAllocStats node_alloc;
        SinksStats sinks;
} StatusCounters;

/* What the server reads: borrowed, alive as long as the server. */
typedef struct StatusView {
        sd_event *event;
        Watcher *watcher; /* stats, slots, identities (looked up lazily, hence not const) */
        const Engine *engine;
        const Executor *executor;
        const PolicySet *policies; /* in force; swapped in place on reload */
        const char *cgroup_root;
        void (*counters)(void *userdata, StatusCounters *ret);
        void *userdata;
} StatusView;

typedef struct StatusClient {
        StatusServer *server;
        int fd;
        sd_event_source *io, *timeout;
        bool writing;
        bool following;  /* events follow: idle when caught up, never timed out */
        uint64_t seq;    /* events: the next record of the ring to send */
        unsigned cursor; /* next slot to list; UINT_MAX: nothing more after the buffer */
        size_t len, off;
        StatusDecoder dec;
        StatusRequest req;
        char buf[STATUS_BUF_SIZE];
} StatusClient;

/* The recent records, formatted once (record_format_json()). */
typedef struct EventsRing {
        uint64_t next_seq;
        uint64_t too_long;
        uint16_t len[EVENTS_RING_N];
        char line[EVENTS_RING_N][EVENTS_ENTRY_MAX];
} EventsRing;

struct StatusServer {
        StatusView view;
        EventsRing *ring;
        int listen_fd;
        char *socket_path;
        sd_event_source *listen_source, *pause_timer;
        int reserve_fd; /* given up to accept a client when the fds ran out (EMFILE) */
        StatusClient clients[STATUS_CLIENTS_MAX];
};

#define ACCEPT_PAUSE_USEC (1000 * 1000ULL)

static void client_close(StatusClient *c)
{
        c->io = sd_event_source_disable_unref(c->io);
        c->timeout = sd_event_source_disable_unref(c->timeout);
        c->fd = safe_close(c->fd);
        if (c->server && c->server->reserve_fd < 0) /* take the reserve back while the fd is free */
                c->server->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* ---- the header ---- */

static void put_u64(JsonWriter *j, const char *key, uint64_t v)
{
        json_key(j, key);
        json_u64(j, v);
}

static void put_str(JsonWriter *j, const char *key, const char *v)
{
        json_key(j, key);
        json_string(j, v);
}

static void put_bool(JsonWriter *j, const char *key, bool v)
{
        json_key(j, key);
        json_bool(j, v);
}

static void header_watcher(JsonWriter *j, const WatcherStats *st)
{
        put_u64(j, "cgroups", st->n_cgroups);
        put_u64(j, "watched", st->n_watched);
        put_u64(j, "psi_triggers", st->n_psi);
        put_bool(j, "memory_controller", st->has_memory_controller);
        put_bool(j, "psi_supported", st->psi_supported);
        put_u64(j, "inotify_events", st->n_inotify_events);
        put_u64(j, "overflows", st->n_overflows);
        put_u64(j, "records", st->n_records);
        put_u64(j, "dropped_cgroups", st->n_dropped_cgroups);
}

static void header_policies(JsonWriter *j, const StatusView *v, const StatusCounters *k)
{
        put_u64(j, "policies", v->policies->n);
        put_u64(j, "policy_reloads", k->policy_reloads);
        put_u64(j, "policy_reload_failures", k->policy_reload_failures);
        put_u64(j, "policy_sources", k->policy_sources);
        put_u64(j, "policy_sources_failed", k->policy_sources_failed);
        put_u64(j, "policy_reloads_abandoned", k->policy_reloads_abandoned);
        put_bool(j, "policy_reload_running", k->policy_reload_running);
        put_u64(j, "policy_load_ms", k->policy_load_usec / USEC_PER_MSEC);
}

/* The undo file's entries: what is to be given back if memwarden dies now.
 * As many as fit half the header (names cut at 256 bytes), then a count. */
static void header_undo(JsonWriter *j, const Executor *x)
{
        unsigned n = 0, shown = 0;
        UndoEntry e;
        bool pending;

        json_key(j, "undo");
        json_array_open(j);
        for (unsigned i = 0; i < UNDO_ENTRIES_MAX; i++) {
                if (!executor_undo_entry(x, i, &e, &pending))
                        continue;
                n++;
                if (j->len > STATUS_BUF_SIZE / 2)
                        continue;
                shown++;
                json_object_open(j);
                json_key(j, "kind");
                json_string(j, undo_kind_to_string(e.kind));
                json_key(j, "cgroup");
                json_string_n(j, e.path, strnlen(e.path, 256));
                json_key(j, "unit");
                json_string(j, e.unit);
                json_key(j, "policy");
                json_string_n(j, e.policy, strnlen(e.policy, 64));
                if (e.kind == UNDO_THROTTLE) {
                        json_key(j, "original");
                        json_limit(j, e.original);
                }
                put_u64(j, "since_us", e.real_usec);
                put_bool(j, "giving_back", pending);
                json_object_close(j);
        }
        json_array_close(j);
        put_u64(j, "undo_entries", n);
        if (shown < n)
                put_u64(j, "undo_not_shown", n - shown);
}

static void header_actions(JsonWriter *j, const Executor *x)
{
        ExecutorStats xs;

        if (!x)
                return;
        executor_get_stats(x, &xs);
        json_key(j, "actions");
        json_object_open(j);
        put_u64(j, "outcomes", xs.n_outcomes);
        put_u64(j, "failed", xs.n_failed);
        put_u64(j, "throttled", xs.n_throttled);
        put_u64(j, "frozen", xs.n_frozen);
        put_u64(j, "jobs", xs.n_jobs);
        put_u64(j, "webhooks_sent", xs.n_webhooks_sent);
        put_u64(j, "webhooks_failed", xs.n_webhooks_failed);
        put_u64(j, "webhooks_dropped", xs.n_webhooks_dropped);
        put_u64(j, "kube_events_sent", xs.kube_events.sent);
        put_u64(j, "kube_events_failed", xs.kube_events.failed);
        put_u64(j, "kube_events_dropped", xs.kube_events.dropped);
        put_u64(j, "kube_events_limited", xs.kube_events.limited);
        put_bool(j, "bus_connected", xs.bus_connected);
        header_undo(j, x);
        json_object_close(j);
}

static void header_node(JsonWriter *j, const WatcherStats *st, const StatusCounters *k)
{
        put_bool(j, "cgroup_v1", st->v1);
        if (st->v1)
                put_u64(j, "v1_eventfds", st->n_v1_fds);
        put_bool(j, "node_psi_armed", k->node_psi_armed);
        put_u64(j, "node_psi_events", k->node_psi_events);
        put_bool(j, "node_memavailable_sampled", k->node_memavailable_sampled);
        if (k->node_memavailable_sampled) {
                put_str(j, "node_sampling", k->node_sampling);
                put_u64(j, "node_samples", k->node_samples);
                put_u64(j, "node_early_samples", k->node_early_samples);
        }
        if (k->node_alloc_off)
                put_str(j, "node_alloc_off", k->node_alloc_off);
        else {
                put_u64(j, "node_alloc_cpus", k->node_alloc.n_cpus);
                put_bool(j, "node_alloc_attached", k->node_alloc.attached);
                put_u64(j, "node_alloc_budget_pages", k->node_alloc.budget);
                put_u64(j, "node_alloc_wakes", k->node_alloc.n_wakes);
        }
        put_u64(j, "event_log_errors", k->event_log_errors);
}

/* What the output wrote, held back (coalescing) and lost. */
static void header_output(JsonWriter *j, const SinksStats *o)
{
        json_key(j, "output");
        json_object_open(j);
        json_key(j, "sink");
        if (o->output)
                json_string(j, o->output);
        else
                json_null(j);
        put_u64(j, "written", o->written);
        put_u64(j, "dropped", o->dropped);
        put_u64(j, "errors", o->errors);
        put_u64(j, "queued_bytes", o->queued_bytes);
        put_u64(j, "queue_high_water", o->queue_high_water);
        put_u64(j, "queue_size", o->queue_size);
        put_u64(j, "coalesced", o->coalesced);
        put_u64(j, "summaries", o->summaries);
        put_u64(j, "coalesce_lost", o->coalesce_lost);
        put_u64(j, "too_long", o->too_long);
        put_u64(j, "event_log_dropped", o->event_log_dropped);
        json_object_close(j);
}

static unsigned n_followers(const StatusServer *srv)
{
        unsigned n = 0;

        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                n += srv->clients[i].fd >= 0 && srv->clients[i].following;
        return n;
}

static void header(StatusClient *c)
{
        const StatusView *v = &c->server->view;
        StatusCounters k = {};
        WatcherStats st;
        JsonWriter j;
        uint64_t now;

        watcher_get_stats(v->watcher, &st);
        v->counters(v->userdata, &k);
        sd_event_now(v->event, CLOCK_MONOTONIC, &now);
        json_init(&j, c->buf, sizeof(c->buf));
        json_object_open(&j);
        json_key(&j, "memwarden");
        json_string(&j, MEMWARDEN_VERSION);
        put_u64(&j, "pid", (uint64_t)getpid());
        put_u64(&j, "uptime_us", now - k.start_usec);
        json_key(&j, "cgroup_root");
        json_string(&j, v->cgroup_root);
        header_watcher(&j, &st);
        header_policies(&j, v, &k);
        header_actions(&j, v->executor);
        header_node(&j, &st, &k);
        header_output(&j, &k.sinks);
        put_u64(&j, "event_followers", n_followers(c->server));
        json_object_close(&j);
        json_raw(&j, "\n", 1);
        c->len = j.len;
        c->off = 0;
}

/* ---- the cgroup lines ---- */

typedef struct ArmedCtx {
        const Engine *engine;
        const Cgroup *cg;
} ArmedCtx;

static bool armed(void *userdata, bool node, PolicyPhase *ret_phase)
{
        const ArmedCtx *a = userdata;

        return a->engine && engine_policy_of(a->engine, a->cg, node, ret_phase);
}

static int explain_cgroup(const StatusView *v, const Cgroup *cg, char *buf, size_t size, size_t *ret_len)
{
        char path[4096], route[512];
        CgroupIdentity id;
        ArmedCtx a = { .engine = v->engine, .cg = cg };
        ExplainInput in = {
                .id = &id, .kind = cg->kind, .set = v->policies, .armed = armed, .userdata = &a
        };

        watcher_cgroup_identity(v->watcher, cg, path, sizeof(path), &id);
        if (v->executor) {
                executor_route_describe(v->executor, cg, route, sizeof(route));
                in.route = route;
        }
        return explain_format(&in, buf, size, ret_len);
}

/* The ring from c->seq on, as much as fits. Caught up: the end, or (following) idle. */
static void fill_events(StatusClient *c)
{
        const EventsRing *ring = c->server->ring;
        int n;

        c->len = c->off = 0;
        if (ring->next_seq > EVENTS_RING_N && c->seq < ring->next_seq - EVENTS_RING_N) {
                uint64_t lost = ring->next_seq - EVENTS_RING_N - c->seq;
                n = snprintf(c->buf, sizeof(c->buf), "{\"event\":\"events_lost\",\"count\":%llu}\n",
                             (unsigned long long)lost);
                c->len = (size_t)n;
                c->seq += lost;
        }
        for (; c->seq < ring->next_seq; c->seq++) {
                unsigned i = (unsigned)(c->seq % EVENTS_RING_N);
                if (ring->len[i] > sizeof(c->buf) - c->len)
                        return;
                memcpy(c->buf + c->len, ring->line[i], ring->len[i]);
                c->len += ring->len[i];
        }
        if (!c->following)
                c->cursor = UINT_MAX;
}

/* Fill the buffer with as many cgroup lines as fit. */
static void fill(StatusClient *c)
{
        const StatusView *v = &c->server->view;
        unsigned n = watcher_n_slots(v->watcher);
        const char *filter = c->req.filter;
        char path[4096];

        if (c->req.type == STATUS_REQUEST_EVENTS) {
                fill_events(c);
                return;
        }
        c->len = c->off = 0;
        for (; c->cursor < n; c->cursor++) {
                const Cgroup *cg = watcher_slot(v->watcher, c->cursor);
                size_t len;
                int r;

                if (!cg)
                        continue;
                if (filter[0] && (cgroup_path(cg, path, sizeof(path)) < 0 || strcmp(path, filter) != 0))
                        continue;
                if (c->req.type == STATUS_REQUEST_EXPLAIN)
                        r = explain_cgroup(v, cg, c->buf + c->len, sizeof(c->buf) - c->len - 1, &len);
                else
                        r = cgroup_format_json(cg, c->buf + c->len, sizeof(c->buf) - c->len - 1, &len);
                if (r < 0) {
                        if (c->len > 0)
                                return; /* next round */
                        continue;       /* one cgroup larger than the buffer: skip it */
                }
                c->len += len;
                c->buf[c->len++] = '\n';
        }
}

/* ---- the connection ---- */

static void answer(StatusClient *c, int r)
{
        if (r == 1 && c->req.type == STATUS_REQUEST_EVENTS && c->req.follow &&
            n_followers(c->server) >= STATUS_FOLLOWERS_MAX)
                r = -EBUSY;
        if (r == 1 && c->req.type == STATUS_REQUEST_EVENTS) {
                const EventsRing *ring = c->server->ring;
                c->seq = ring->next_seq > EVENTS_RING_N ? ring->next_seq - EVENTS_RING_N : 0;
                c->following = c->req.follow;
                c->cursor = 0;
                c->len = c->off = 0;
                if (c->following) /* from now on, for as long as the client stays */
                        (void)sd_event_source_set_enabled(c->timeout, SD_EVENT_OFF);
        } else if (r == 1) {
                header(c);
                c->cursor = 0;
        } else {
                const char *e = status_request_error_json(r);
                c->len = strlen(e);
                memcpy(c->buf, e, c->len);
                c->off = 0;
                c->cursor = UINT_MAX;
        }
        c->writing = true;
        (void)sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static void client_read(StatusClient *c)
{
        char b[1024];
        ssize_t n;
        int r;

        n = read(c->fd, b, sizeof(b));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                client_close(c);
                return;
        }
        r = n == 0 ? status_decoder_eof(&c->dec, &c->req)
                   : status_decoder_feed(&c->dec, b, (size_t)n, &c->req);
        if (r == -ENODATA) { /* connected and closed: nothing to answer */
                client_close(c);
                return;
        }
        if (r != 0)
                answer(c, r);
}

static void client_write(StatusClient *c)
{
        for (;;) {
                if (c->off == c->len) {
                        if (c->cursor == UINT_MAX)
                                break;
                        fill(c);
                        if (c->len == 0 && c->following) {
                                /* Caught up: wait for a record, or for the client to go. */
                                (void)sd_event_source_set_io_events(c->io, EPOLLIN);
                                return;
                        }
                        if (c->len == 0)
                                break;
                }
                ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0)
                        break;
                c->off += (size_t)n;
        }
        client_close(c);
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        StatusClient *c = userdata;

        (void)s, (void)fd;
        if (revents & (EPOLLERR | EPOLLHUP) && !(revents & (EPOLLIN | EPOLLOUT))) {
                client_close(c);
                return 0;
        }
        if (!c->writing)
                client_read(c);
        else if (c->following && (revents & EPOLLIN) && !(revents & EPOLLOUT)) {
                char b[256];
                ssize_t n = read(c->fd, b, sizeof(b)); /* a follower says nothing more: EOF is goodbye */
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                        client_close(c);
        } else
                client_write(c);
        return 0;
}

/* Every record, as the daemon dispatches it: into the ring, and the
 * followers woken. */
void status_server_record(StatusServer *srv, const Record *r)
{
        EventsRing *ring = srv->ring;
        unsigned i = (unsigned)(ring->next_seq % EVENTS_RING_N);
        size_t len = 0;

        if (record_format_json(r, ring->line[i], sizeof(ring->line[i]), &len) < 0) {
                int n = snprintf(ring->line[i], sizeof(ring->line[i]),
                                 "{\"event\":\"%s\",\"too_long\":true}\n",
                                 record_type_to_string(r->type) ?: "?");
                len = n > 0 ? (size_t)n : 0;
                ring->too_long++;
        }
        ring->len[i] = (uint16_t)len;
        ring->next_seq++;
        for (unsigned k = 0; k < STATUS_CLIENTS_MAX; k++) {
                StatusClient *c = &srv->clients[k];
                if (c->fd >= 0 && c->following && c->off == c->len)
                        (void)sd_event_source_set_io_events(c->io, EPOLLIN | EPOLLOUT);
        }
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s, (void)usec;
        client_close(userdata);
        return 0;
}

static int on_accept_pause(sd_event_source *s, uint64_t usec, void *userdata)
{
        StatusServer *srv = userdata;

        (void)s, (void)usec;
        return sd_event_source_set_enabled(srv->listen_source, SD_EVENT_ON);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        StatusServer *srv = userdata;
        StatusClient *c = NULL;
        int cfd;

        (void)s, (void)revents;
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0 && (errno == EMFILE || errno == ENFILE) && srv->reserve_fd >= 0) {
                /* Out of fds (the watcher holds them): the reserve makes room for one. */
                srv->reserve_fd = safe_close(srv->reserve_fd);
                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        if (cfd < 0) {
                /* The connection stays queued and the socket readable: without a pause
                 * this would spin. Listen again in a second. */
                if (errno == EMFILE || errno == ENFILE) {
                        (void)sd_event_source_set_enabled(srv->listen_source, SD_EVENT_OFF);
                        (void)sd_event_source_set_time_relative(srv->pause_timer, ACCEPT_PAUSE_USEC);
                        (void)sd_event_source_set_enabled(srv->pause_timer, SD_EVENT_ONESHOT);
                }
                return 0;
        }
        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                if (srv->clients[i].fd < 0) {
                        c = &srv->clients[i];
                        break;
                }
        if (!c) {
                log_warning("Too many status clients, refusing one.");
                close(cfd);
                return 0;
        }
        *c = (StatusClient){ .server = srv, .fd = cfd, .cursor = UINT_MAX };
        c->req.type = STATUS_REQUEST_STATUS;
        status_decoder_init(&c->dec);
        if (sd_event_add_io(srv->view.event, &c->io, cfd, EPOLLIN, on_client_io, c) < 0 ||
            sd_event_add_time_relative(srv->view.event, &c->timeout, CLOCK_MONOTONIC, CLIENT_TIMEOUT_USEC, 0,
                                       on_client_timeout, c) < 0) {
                client_close(c);
                return 0;
        }
        (void)sd_event_source_set_description(c->io, "status-client");
        (void)sd_event_source_set_description(c->timeout, "status-client-timeout");
        return 0;
}

/* ---- the server ---- */

static int listen_at(const char *path, int *ret_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        r = mkdir_parents(path, 0755);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        (void)chmod(path, 0660);
        if (listen(fd, 16) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static StatusServer *status_server_free(StatusServer *srv)
{
        if (!srv)
                return NULL;
        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                if (srv->clients[i].fd >= 0)
                        client_close(&srv->clients[i]);
        srv->listen_source = sd_event_source_disable_unref(srv->listen_source);
        srv->pause_timer = sd_event_source_disable_unref(srv->pause_timer);
        srv->listen_fd = safe_close(srv->listen_fd);
        srv->reserve_fd = safe_close(srv->reserve_fd);
        free(srv->ring);
        if (srv->socket_path) {
                (void)unlink(srv->socket_path);
                free(srv->socket_path);
        }
        free(srv);
        return NULL;
}

static int status_server_new(const StatusView *view, const char *path, StatusServer **ret)
{
        StatusServer *srv = calloc(1, sizeof(StatusServer));
        int r;

        if (!srv)
                return -ENOMEM;
        srv->view = *view;
        srv->listen_fd = -1;
        srv->ring = calloc(1, sizeof(EventsRing));
        if (!srv->ring) {
                free(srv);
                return -ENOMEM;
        }
        srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                srv->clients[i].fd = -1;
        r = listen_at(path, &srv->listen_fd);
        if (r >= 0)
                r = sd_event_add_io(view->event, &srv->listen_source, srv->listen_fd, EPOLLIN, on_accept,
                                    srv);
        if (r >= 0)
                r = sd_event_add_time_relative(view->event, &srv->pause_timer, CLOCK_MONOTONIC,
                                               ACCEPT_PAUSE_USEC, 0, on_accept_pause, srv);
        if (r >= 0)
                r = sd_event_source_set_enabled(srv->pause_timer, SD_EVENT_OFF);
        if (r >= 0 && !(srv->socket_path = strdup(path)))
                r = -ENOMEM;
        if (r < 0) {
                status_server_free(srv);
                return r;
        }
        (void)sd_event_source_set_description(srv->listen_source, "status-listen");
        *ret = srv;
        return 0;
}

/* ---- the Manager's side: the only code here that knows its fields ---- */

static void manager_counters(void *userdata, StatusCounters *ret)
{
        const Manager *m = userdata;
        const PolicyWatch *pw = m->policy_watch;

        *ret = (StatusCounters){
                .start_usec = m->start_usec,
                .policy_reloads = pw ? pw->n_reloads : 0,
                .policy_reload_failures = pw ? pw->n_reload_failures : 0,
                .policy_sources = pw ? pw->last.n_sources : 0,
                .policy_sources_failed = pw ? pw->last.n_failed : 0,
                .policy_reloads_abandoned = pw ? pw->n_reloads_abandoned : 0,
                .policy_reload_running = pw && pw->loader && policy_loader_busy(pw->loader),
                .policy_load_usec = pw ? pw->last.usec : 0,
                .node_psi_armed = m->node_psi_fd >= 0,
                .node_psi_events = m->n_node_psi_events,
                .node_memavailable_sampled = m->node_sample_timer != NULL,
                .node_samples = m->n_node_samples,
                .node_early_samples = m->n_node_wakes,
                .node_sampling = node_alloc_armed(m->node_alloc) ? "allocations" : "timer",
                .node_alloc_off = m->node_alloc       ? NULL
                                  : m->node_alloc_why ? m->node_alloc_why
                                                      : "not opened",
                .event_log_errors = sinks_event_log_errors(&m->sinks),
        };
        sinks_get_stats(&m->sinks, &ret->sinks);
        node_alloc_stats(m->node_alloc, &ret->node_alloc);
}

int status_server_start(Manager *m, const char *path)
{
        StatusView v = {
                .event = m->event,
                .watcher = m->watcher,
                .engine = m->engine,
                .executor = m->executor,
                .policies = &m->policies,
                .cgroup_root = m->cfg.watch.root,
                .counters = manager_counters,
                .userdata = m,
        };

        if (m->status)
                return -EBUSY;
        return status_server_new(&v, path, &m->status);
}

void status_server_stop(Manager *m)
{
        m->status = status_server_free(m->status);
}
