/* SPDX-License-Identifier: MIT */
/* The status socket: a Unix stream socket; the client sends one request line
 * ("status\n"), the daemon answers with JSON lines (a header, then one line
 * per cgroup) and closes. Clients are bounded, buffers fixed, writes
 * non-blocking, and a client that stalls is dropped after a timeout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "manager.h"

#define CLIENT_TIMEOUT_USEC (5 * USEC_PER_SEC)

static void client_close(StatusClient *c)
{
        c->io = sd_event_source_disable_unref(c->io);
        c->timeout = sd_event_source_disable_unref(c->timeout);
        c->fd = safe_close(c->fd);
}

static void header(StatusClient *c)
{
        Manager *m = c->manager;
        WatcherStats st;
        JsonWriter j;
        uint64_t now;

        watcher_get_stats(m->watcher, &st);
        sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        json_init(&j, c->buf, sizeof(c->buf));
        json_object_open(&j);
        json_key(&j, "memwarden");
        json_string(&j, MEMWARDEN_VERSION);
        json_key(&j, "pid");
        json_u64(&j, (uint64_t)getpid());
        json_key(&j, "uptime_us");
        json_u64(&j, now - m->start_usec);
        json_key(&j, "cgroup_root");
        json_string(&j, m->cfg.watch.root);
        json_key(&j, "cgroups");
        json_u64(&j, st.n_cgroups);
        json_key(&j, "watched");
        json_u64(&j, st.n_watched);
        json_key(&j, "psi_triggers");
        json_u64(&j, st.n_psi);
        json_key(&j, "memory_controller");
        json_bool(&j, st.has_memory_controller);
        json_key(&j, "psi_supported");
        json_bool(&j, st.psi_supported);
        json_key(&j, "inotify_events");
        json_u64(&j, st.n_inotify_events);
        json_key(&j, "overflows");
        json_u64(&j, st.n_overflows);
        json_key(&j, "records");
        json_u64(&j, st.n_records);
        json_key(&j, "dropped_cgroups");
        json_u64(&j, st.n_dropped_cgroups);
        json_key(&j, "policies");
        json_u64(&j, m->policies.n);
        json_key(&j, "policy_reloads");
        json_u64(&j, m->policy_watch ? m->policy_watch->n_reloads : 0);
        json_key(&j, "policy_reload_failures");
        json_u64(&j, m->policy_watch ? m->policy_watch->n_reload_failures : 0);
        json_key(&j, "policy_sources");
        json_u64(&j, m->policy_watch ? m->policy_watch->last.n_sources : 0);
        json_key(&j, "policy_sources_failed");
        json_u64(&j, m->policy_watch ? m->policy_watch->last.n_failed : 0);
        if (m->executor) {
                ExecutorStats xs;
                executor_get_stats(m->executor, &xs);
                json_key(&j, "actions");
                json_object_open(&j);
                json_key(&j, "outcomes");
                json_u64(&j, xs.n_outcomes);
                json_key(&j, "failed");
                json_u64(&j, xs.n_failed);
                json_key(&j, "throttled");
                json_u64(&j, xs.n_throttled);
                json_key(&j, "frozen");
                json_u64(&j, xs.n_frozen);
                json_key(&j, "jobs");
                json_u64(&j, xs.n_jobs);
                json_key(&j, "webhooks_sent");
                json_u64(&j, xs.n_webhooks_sent);
                json_key(&j, "webhooks_failed");
                json_u64(&j, xs.n_webhooks_failed);
                json_key(&j, "webhooks_dropped");
                json_u64(&j, xs.n_webhooks_dropped);
                json_key(&j, "bus_connected");
                json_bool(&j, xs.bus_connected);
                json_object_close(&j);
        }
        json_key(&j, "cgroup_v1");
        json_bool(&j, st.v1);
        if (st.v1) {
                json_key(&j, "v1_eventfds");
                json_u64(&j, st.n_v1_fds);
        }
        json_key(&j, "node_psi_armed");
        json_bool(&j, m->node_psi_fd >= 0);
        json_key(&j, "node_psi_events");
        json_u64(&j, m->n_node_psi_events);
        json_key(&j, "node_memavailable_sampled");
        json_bool(&j, m->node_sample_timer != NULL);
        json_key(&j, "event_log_errors");
        json_u64(&j, m->n_event_log_errors);
        json_object_close(&j);
        json_raw(&j, "\n", 1);
        c->len = j.len;
        c->off = 0;
}

static void put_trigger(JsonWriter *j, const Trigger *t)
{
        char b[160];

        switch (t->type) {
        case TRIGGER_MEMORY_EVENTS:
                snprintf(b, sizeof(b), "memoryEvents %s grows by >= %llu in %llu s",
                         memevent_to_string(t->counter), (unsigned long long)t->increase,
                         (unsigned long long)(t->window_usec / USEC_PER_SEC));
                break;
        case TRIGGER_PRESSURE:
        case TRIGGER_NODE_PRESSURE:
                snprintf(b, sizeof(b), "%s %s > %u.%02u%% over %llu s", trigger_type_to_string(t->type),
                         psi_type_to_string(t->psi_type), t->above_bp / 100, t->above_bp % 100,
                         (unsigned long long)(t->window_usec / USEC_PER_SEC));
                break;
        case TRIGGER_USAGE:
                snprintf(b, sizeof(b), "usage > %u.%02u%% of memory.%s", t->above_bp / 100,
                         t->above_bp % 100, t->usage_of == USAGE_OF_HIGH ? "high" : "max");
                break;
        case TRIGGER_NODE_AVAILABLE:
                snprintf(b, sizeof(b), "nodeAvailable < %llu MiB",
                         (unsigned long long)(t->below_bytes >> 20));
                break;
        case TRIGGER_PRESSURE_LEVEL:
                snprintf(b, sizeof(b), "pressureLevel %s or worse >= %llu times in %llu s (cgroup v1)",
                         v1_level_to_string(t->level), (unsigned long long)t->increase,
                         (unsigned long long)(t->window_usec / USEC_PER_SEC));
                break;
        default:
                b[0] = '\0';
        }
        json_string(j, b);
}

/* A policy's name (the value of the key already written), then its source,
 * triggers, select, actions and whether the engine has it armed here. */
static void put_policy(Manager *m, JsonWriter *j, const Cgroup *cg, const Policy *p, bool node)
{
        char src[4200];
        PolicyPhase phase;

        json_string(j, p->name);
        json_key(j, "source");
        snprintf(src, sizeof(src), "%s:%u", p->file, p->line);
        json_string(j, src);
        json_key(j, p->all ? "all" : "any");
        json_array_open(j);
        for (size_t i = 0; i < p->n_triggers; i++)
                put_trigger(j, &p->triggers[i]);
        json_array_close(j);
        json_key(j, "for_us");
        json_u64(j, p->for_usec);
        json_key(j, "select");
        if (p->select_by == SELECT_EACH)
                json_string(j, "each");
        else {
                char sel[64];
                snprintf(sel, sizeof(sel), "%s, %u", select_by_to_string(p->select_by), p->select_count);
                json_string(j, sel);
        }
        json_key(j, "actions");
        json_array_open(j);
        for (size_t i = 0; i < p->n_actions; i++)
                json_string(j, action_type_to_string(p->actions[i].type));
        json_array_close(j);
        /* Armed: the engine evaluates it here (the cgroup is watched). */
        bool armed = m->engine && engine_policy_of(m->engine, cg, node, &phase);
        json_key(j, "armed");
        json_bool(j, armed);
        json_key(j, "phase");
        json_string(j, armed ? policy_phase_to_string(phase) : NULL);
}

/* Which policy applies to cg and why the others do not: one JSON object. */
static int explain_format(Manager *m, const Cgroup *cg, char *buf, size_t size, size_t *ret_len)
{
        char path[4096], why[256];
        CgroupIdentity id;
        JsonWriter j;
        unsigned others = 0;
        int best, node_best;

        watcher_cgroup_identity(m->watcher, cg, path, sizeof(path), &id);
        best = policy_set_lookup(&m->policies, &id);
        node_best = policy_set_lookup_kind(&m->policies, &id, true);
        json_init(&j, buf, size);
        json_object_open(&j);
        json_key(&j, "cgroup");
        json_string(&j, id.path);
        json_key(&j, "kind");
        json_string(&j, cgroup_kind_to_string(cg->kind));
        json_key(&j, "identity");
        json_object_open(&j);
        json_key(&j, "unit");
        json_string(&j, id.unit);
        json_key(&j, "namespace");
        json_string(&j, id.namespace);
        json_key(&j, "pod");
        json_string(&j, id.pod);
        json_key(&j, "container");
        json_string(&j, id.container);
        json_key(&j, "qos");
        json_string(&j, id.qos >= 0 ? qos_class_to_string(id.qos) : NULL);
        json_object_close(&j);
        json_key(&j, "policy");
        if (best >= 0)
                put_policy(m, &j, cg, &m->policies.policies[best], false);
        else
                json_null(&j);
        json_key(&j, "others");
        json_array_open(&j);
        for (size_t i = 0; i < m->policies.n && others < 16; i++) {
                const Policy *p = &m->policies.policies[i];
                if ((int)i == best || (int)i == node_best)
                        continue;
                json_object_open(&j);
                json_key(&j, "policy");
                json_string(&j, p->name);
                json_key(&j, "why");
                if (policy_match(p, &id, why, sizeof(why)))
                        json_string(&j, "matches, but a more specific policy applies");
                else
                        json_string(&j, why);
                json_object_close(&j);
                others++;
        }
        json_array_close(&j);
        /* A node policy (node triggers only) binds beside the cgroup policy. */
        json_key(&j, "node_policy");
        if (node_best >= 0) {
                json_object_open(&j);
                json_key(&j, "policy");
                put_policy(m, &j, cg, &m->policies.policies[node_best], true);
                json_object_close(&j);
        } else
                json_null(&j);
        json_object_close(&j);
        if (j.overflow)
                return -ENOBUFS;
        *ret_len = j.len;
        return 0;
}

/* Fill the buffer with as many cgroup lines as fit. */
static void fill(StatusClient *c)
{
        Watcher *w = c->manager->watcher;
        unsigned n = watcher_n_slots(w);
        char path[4096];

        c->len = c->off = 0;
        for (; c->cursor < n; c->cursor++) {
                const Cgroup *cg = watcher_slot(w, c->cursor);
                size_t len;
                int r;

                if (!cg)
                        continue;
                if (c->filter[0] &&
                    (cgroup_path(cg, path, sizeof(path)) < 0 || strcmp(path, c->filter) != 0))
                        continue;
                if (c->explain)
                        r = explain_format(c->manager, cg, c->buf + c->len, sizeof(c->buf) - c->len - 1,
                                           &len);
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

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void handle_request(StatusClient *c)
{
        char *nl = memchr(c->req, '\n', c->req_len);

        if (nl)
                *nl = '\0';
        else
                c->req[c->req_len] = '\0';
        if (strcmp(c->req, "status") == 0) {
                header(c);
                c->cursor = 0;
        } else if (strcmp(c->req, "explain") == 0 || strncmp(c->req, "explain ", 8) == 0) {
                header(c);
                c->cursor = 0;
                c->explain = true;
                snprintf(c->filter, sizeof(c->filter), "%s", c->req[7] ? c->req + 8 : "");
        } else {
                int n = snprintf(c->buf, sizeof(c->buf), "{\"error\":\"unknown request\"}\n");
                c->len = (size_t)n;
                c->off = 0;
                c->cursor = UINT_MAX;
        }
        c->writing = true;
        (void)sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        StatusClient *c = userdata;

        (void)s;
        if (revents & (EPOLLERR | EPOLLHUP) && !(revents & (EPOLLIN | EPOLLOUT))) {
                client_close(c);
                return 0;
        }
        if (!c->writing) {
                ssize_t n = read(fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        client_close(c);
                        return 0;
                }
                c->req_len += (size_t)n;
                if (memchr(c->req, '\n', c->req_len) || c->req_len == sizeof(c->req) - 1)
                        handle_request(c);
                return 0;
        }
        for (;;) {
                if (c->off == c->len) {
                        if (c->cursor == UINT_MAX)
                                break;
                        fill(c);
                        if (c->len == 0)
                                break;
                }
                ssize_t n = write(fd, c->buf + c->off, c->len - c->off);
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0)
                        break;
                c->off += (size_t)n;
        }
        client_close(c);
        return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s, (void)usec;
        client_close(userdata);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        StatusClient *c = NULL;
        int cfd;

        (void)s, (void)revents;
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                if (m->clients[i].fd < 0) {
                        c = &m->clients[i];
                        break;
                }
        if (!c) {
                log_warning("Too many status clients, refusing one.");
                close(cfd);
                return 0;
        }
        *c = (StatusClient){ .manager = m, .fd = cfd, .cursor = UINT_MAX };
        if (sd_event_add_io(m->event, &c->io, cfd, EPOLLIN, on_client_io, c) < 0 ||
            sd_event_add_time_relative(m->event, &c->timeout, CLOCK_MONOTONIC, CLIENT_TIMEOUT_USEC, 0,
                                       on_client_timeout, c) < 0) {
                client_close(c);
                return 0;
        }
        (void)sd_event_source_set_description(c->io, "status-client");
        (void)sd_event_source_set_description(c->timeout, "status-client-timeout");
        return 0;
}

static int mkdir_parent(const char *path)
{
        char dir[PATH_MAX];
        char *slash;

        if (strlen(path) >= sizeof(dir))
                return -ENAMETOOLONG;
        strcpy(dir, path);
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int status_server_start(Manager *m, const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        r = mkdir_parent(path);
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
        r = sd_event_add_io(m->event, &m->listen_source, fd, EPOLLIN, on_accept, m);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(m->listen_source, "status-listen");
        m->socket_path = strdup(path);
        m->listen_fd = TAKE_FD(fd);
        return 0;
}

void status_server_stop(Manager *m)
{
        for (unsigned i = 0; i < STATUS_CLIENTS_MAX; i++)
                if (m->clients[i].fd >= 0)
                        client_close(&m->clients[i]);
        m->listen_source = sd_event_source_disable_unref(m->listen_source);
        m->listen_fd = safe_close(m->listen_fd);
        if (m->socket_path) {
                (void)unlink(m->socket_path);
                free(m->socket_path);
                m->socket_path = NULL;
        }
}
