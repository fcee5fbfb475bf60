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
        json_object_close(&j);
        json_raw(&j, "\n", 1);
        c->len = j.len;
        c->off = 0;
}

/* Fill the buffer with as many cgroup lines as fit. */
static void fill(StatusClient *c)
{
        Watcher *w = c->manager->watcher;
        unsigned n = watcher_n_slots(w);

        c->len = c->off = 0;
        for (; c->cursor < n; c->cursor++) {
                const Cgroup *cg = watcher_slot(w, c->cursor);
                size_t len;

                if (!cg)
                        continue;
                if (cgroup_format_json(cg, c->buf + c->len, sizeof(c->buf) - c->len - 1, &len) < 0) {
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
        if (c->req_len >= 6 && memcmp(c->req, "status", 6) == 0) {
                header(c);
                c->cursor = 0;
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
