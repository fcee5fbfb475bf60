/* SPDX-License-Identifier: MIT */
/* The watcher on a cgroup v1 memory hierarchy: eventfds registered through
 * cgroup.event_control (memcg-v1.c) stand in for memory.events and the PSI
 * trigger of cgroup v2. See watcher.h for how v1 files map onto the model. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "macro.h"
#include "watcher-internal.h"

#define PRESSURE_LEVEL_OUTPUT_USEC (1000 * 1000ULL)

static int v1_alloc(Cgroup *c)
{
        c->v1 = calloc(1, sizeof(CgroupV1));
        if (!c->v1)
                return -ENOMEM;
        for (unsigned i = 0; i < _V1_FD_MAX; i++)
                c->v1->fd[i] = -1;
        return 0;
}

static void v1_free(Cgroup *c)
{
        free(c->v1);
        c->v1 = NULL;
}

static void v1_dir_file_modified(Watcher *w, Cgroup *c, const char *name)
{
        if (strcmp(name, "memory.limit_in_bytes") == 0 || strcmp(name, "memory.soft_limit_in_bytes") == 0)
                watcher_handle_limits(w, c);
}

/* v1 writes "no limit" as PAGE_COUNTER_MAX pages in bytes (9223372036854771712
 * on 4 KiB pages): anything this large is no limit. */
static uint64_t v1_limit(uint64_t v)
{
        return v >= (UINT64_C(1) << 62) ? UINT64_MAX : v;
}

static void v1_read_limits(Watcher *w, Cgroup *c)
{
        const char *rel = watcher_relpath(w, c, "memory.limit_in_bytes");

        c->has_memory = rel && cg_read_u64(w->root_fd, rel, &c->max) >= 0;
        c->max = c->has_memory ? v1_limit(c->max) : UINT64_MAX;
        rel = watcher_relpath(w, c, "memory.soft_limit_in_bytes");
        if (!rel || cg_read_u64(w->root_fd, rel, &c->high) < 0)
                c->high = UINT64_MAX;
        c->high = v1_limit(c->high);
}

static void v1_arm(Watcher *w, Cgroup *c, int dirfd, V1Fd which, uint64_t threshold)
{
        CgroupV1 *v = c->v1;
        int fd;

        if (v->fd[which] >= 0)
                return;
        switch (which) {
        case V1_FD_LOW:
        case V1_FD_MEDIUM:
        case V1_FD_CRITICAL:
                fd = memcg_v1_watch_pressure(dirfd, (V1Level)which, w->cfg.v1_mode);
                break;
        case V1_FD_OOM:
                fd = memcg_v1_watch_oom(dirfd);
                break;
        case V1_FD_THRESHOLD:
                fd = memcg_v1_watch_threshold(dirfd, threshold);
                break;
        default:
                return;
        }
        if (fd == -EMFILE || fd == -ENFILE) {
                watcher_fd_trouble(w, c, fd);
                return;
        }
        if (fd < 0) {
                /* ENOENT: it went away; the rest says the kernel will not do it. */
                if (fd != -ENOENT && !w->v1_reported) {
                        w->v1_reported = true;
                        watcher_emit_warning(w, c, fd,
                                             "cannot register a cgroup v1 memory notification through "
                                             "cgroup.event_control");
                }
                return;
        }
        /* Unlike a PSI trigger, an eventfd stays readable until it is read: it can
         * sit in the watcher's own epoll set, which the owner polls as one fd (no
         * event source of the owner's per eventfd). */
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = watcher_key(c, KEY_V1 + which) };
        if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                close(fd);
                return;
        }
        v->fd[which] = fd;
        if (which == V1_FD_THRESHOLD)
                v->threshold = threshold;
        w->n_v1_fds++;
}

/* Closing the eventfd is what unregisters it: the kernel drops an event whose
 * eventfd is released. */
static void v1_disarm(Watcher *w, Cgroup *c, V1Fd which)
{
        CgroupV1 *v = c->v1;

        if (v->fd[which] < 0)
                return;
        (void)epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, v->fd[which], NULL);
        v->fd[which] = safe_close(v->fd[which]);
        if (which == V1_FD_THRESHOLD)
                v->threshold = 0;
        w->n_v1_fds--;
}

void watcher_v1_detach(Watcher *w, Cgroup *c)
{
        for (unsigned i = 0; i < _V1_FD_MAX; i++)
                v1_disarm(w, c, (V1Fd)i);
}

/* failcnt into ev (a copy of the counters), and oom_control's oom_kill when
 * it can have changed: only an OOM makes it grow, so pressure notifications
 * (hundreds a second under pressure) leave it alone. */
static void read_counters(Watcher *w, Cgroup *c, MemEvents *ev, bool oom_control)
{
        const char *rel = watcher_relpath(w, c, "memory.failcnt");
        uint64_t x;
        bool under;
        size_t len;

        if (rel && cg_read_u64(w->root_fd, rel, &x) >= 0) {
                ev->value[MEMEV_MAX] = x;
                ev->present |= 1U << MEMEV_MAX;
        }
        if (oom_control && watcher_read_attr(w, c, "memory.oom_control", &len) >= 0 &&
            memcg_v1_oom_control_parse(w->text, len, &under, &x) >= 0) {
                ev->value[MEMEV_OOM_KILL] = x;
                ev->present |= 1U << MEMEV_OOM_KILL | 1U << MEMEV_OOM;
                c->v1->under_oom = under;
        }
}

/* Counters re-read (oom_notifications more OOMs seen); a memory_events record
 * if any grew. current: the usage if the caller has just read it. */
static void counters_changed(Watcher *w, Cgroup *c, uint64_t oom_notifications, bool oom_control,
                             uint64_t current)
{
        MemEvents ev = c->events;
        MemEventsDelta d;
        Record r = record_init(RECORD_MEMORY_EVENTS);
        r.current = current;

        ev.value[MEMEV_OOM] += oom_notifications;
        read_counters(w, c, &ev, oom_control);
        memevents_diff(&c->events, &ev, &d);
        c->events = ev;
        if (!d.any)
                return;
        if (r.current == UINT64_MAX)
                r.current = watcher_read_current(w, c);
        r.delta = &d;
        watcher_emit(w, &r, c);
}

static void v1_refresh(Watcher *w, Cgroup *c)
{
        if (c->watched)
                counters_changed(w, c, 0, true, UINT64_MAX);
}

static void v1_attach(Watcher *w, Cgroup *c)
{
        _cleanup_close_ int dfd = -1;
        CgroupV1 *v = c->v1;

        read_counters(w, c, &c->events, true);
        dfd = watcher_cg_open(w, c, NULL, O_RDONLY | O_DIRECTORY);
        if (dfd < 0) {
                watcher_fd_trouble(w, c, dfd);
                return;
        }
        v1_arm(w, c, dfd, V1_FD_MEDIUM, 0);
        v1_arm(w, c, dfd, V1_FD_CRITICAL, 0);
        v1_arm(w, c, dfd, V1_FD_OOM, 0);
        if (v->want_low)
                v1_arm(w, c, dfd, V1_FD_LOW, 0);
        if (v->want_threshold)
                v1_arm(w, c, dfd, V1_FD_THRESHOLD, v->want_threshold);
}

int watcher_v1_request(Watcher *w, const Cgroup *cg, bool low, uint64_t threshold)
{
        Cgroup *c = (Cgroup *)cg;
        CgroupV1 *v = c->v1;

        if (!v)
                return 0;
        v->want_low = low;
        v->want_threshold = threshold;
        if (!c->watched)
                return 0;
        if (!low)
                v1_disarm(w, c, V1_FD_LOW);
        if (v->threshold != threshold)
                v1_disarm(w, c, V1_FD_THRESHOLD);
        if ((low && v->fd[V1_FD_LOW] < 0) || (threshold && v->fd[V1_FD_THRESHOLD] < 0)) {
                _cleanup_close_ int dfd = watcher_cg_open(w, c, NULL, O_RDONLY | O_DIRECTORY);
                if (dfd >= 0) {
                        if (low)
                                v1_arm(w, c, dfd, V1_FD_LOW, 0);
                        if (threshold)
                                v1_arm(w, c, dfd, V1_FD_THRESHOLD, threshold);
                }
        }
        return v->fd[V1_FD_THRESHOLD] >= 0;
}

/* n notifications at level (or worse). Under pressure these come by the
 * hundred per second, at every ancestor too: the output gets one per second
 * and level, with the count since the last; the engine gets every one. */
static void pressure_level(Watcher *w, Cgroup *c, V1Level level, uint64_t n, uint64_t current)
{
        CgroupV1 *v = c->v1;
        Record r = record_init(RECORD_PRESSURE_LEVEL);
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        r.level = level;
        v->pressure[level] += n;
        v->unreported[level] += n;
        if (now - v->last_output_usec[level] >= PRESSURE_LEVEL_OUTPUT_USEC) {
                r.count = v->unreported[level];
                v->unreported[level] = 0;
                v->last_output_usec[level] = now;
        } else
                r.quiet = true;
        r.current = current;
        watcher_emit(w, &r, c);
        counters_changed(w, c, 0, false, current);
}

static void v1_handle(Watcher *w, Cgroup *c, V1Fd which, uint32_t revents)
{
        CgroupV1 *v = c->v1;
        uint64_t n;

        if (v->fd[which] < 0)
                return;
        if (read(v->fd[which], &n, sizeof(n)) != (ssize_t)sizeof(n)) {
                if (revents & (EPOLLERR | EPOLLHUP))
                        v1_disarm(w, c, which);
                return;
        }
        /* Every registration is signalled once more when its cgroup is removed:
         * that is no event (inotify tells of the removal). The usage, which every
         * record carries, is what tells. */
        const char *rel = watcher_relpath(w, c, "memory.usage_in_bytes");
        uint64_t current = UINT64_MAX;
        if (!rel || cg_read_u64(w->root_fd, rel, &current) == -ENOENT) {
                watcher_v1_detach(w, c);
                return;
        }
        /* The same path in the unified hierarchy is often made after the v1 one
         * (by whoever made both): try its PSI trigger again, a few times. */
        if (c->psi_fd < 0 && w->psi_root_fd >= 0 && v->psi_tries < 8) {
                v->psi_tries++;
                watcher_arm_psi(w, c);
        }
        switch (which) {
        case V1_FD_LOW:
        case V1_FD_MEDIUM:
        case V1_FD_CRITICAL:
                pressure_level(w, c, (V1Level)which, n, current);
                break;
        case V1_FD_OOM:
                /* The notification comes just before the OOM killer picks a victim:
                 * oom_kill grows a moment later (v1_tick). */
                if (!v->oom_pending)
                        w->n_v1_oom_pending++;
                v->oom_pending = true;
                if (!w->v1_recheck_usec) {
                        /* One deadline for every cgroup waiting (watcher_tick). */
                        w->v1_recheck_usec = now_usec(CLOCK_MONOTONIC) + WATCHER_V1_RECHECK_USEC;
                        w->v1_recheck_tries = 0;
                }
                counters_changed(w, c, n, true, current);
                break;
        case V1_FD_THRESHOLD: {
                Record r = record_init(RECORD_USAGE_THRESHOLD);
                r.threshold = v->threshold;
                r.current = current;
                watcher_emit(w, &r, c);
                counters_changed(w, c, 0, false, current);
                break;
        }
        default:
                break;
        }
}

/* oom_kill of every cgroup still waiting for it; returns how many still wait. */
static unsigned v1_recheck(Watcher *w)
{
        unsigned pending = 0;

        if (w->n_v1_oom_pending == 0)
                return 0;
        /* Rare (after an OOM): a scan of the slots is fine. */
        for (unsigned i = 0; i < w->n_slots; i++) {
                Cgroup *c = w->slots[i];
                if (!c || !c->v1 || !c->v1->oom_pending)
                        continue;
                uint64_t before = c->events.value[MEMEV_OOM_KILL];
                counters_changed(w, c, 0, true, UINT64_MAX);
                if (c->events.value[MEMEV_OOM_KILL] != before || !c->watched)
                        c->v1->oom_pending = false;
                else
                        pending++;
        }
        w->n_v1_oom_pending = pending;
        if (pending == 0)
                w->v1_recheck_usec = 0;
        return pending;
}

static void v1_recheck_done(Watcher *w)
{
        for (unsigned i = 0; i < w->n_slots; i++)
                if (w->slots[i] && w->slots[i]->v1)
                        w->slots[i]->v1->oom_pending = false;
        w->n_v1_oom_pending = 0;
        w->v1_recheck_usec = 0;
}

static void v1_tick(Watcher *w, uint64_t now)
{
        if (!w->v1_recheck_usec || now < w->v1_recheck_usec)
                return;
        if (v1_recheck(w) == 0 || ++w->v1_recheck_tries >= WATCHER_V1_RECHECK_TRIES) {
                v1_recheck_done(w);
                return;
        }
        w->v1_recheck_usec = now + WATCHER_V1_RECHECK_USEC;
}

static uint64_t v1_next_usec(const Watcher *w)
{
        return w->v1_recheck_usec;
}

static int v1_handle_key(Watcher *w, Cgroup *c, unsigned kind, uint32_t revents)
{
        if (!c->v1 || kind < KEY_V1 || kind >= KEY_V1 + _V1_FD_MAX)
                return 0;
        v1_handle(w, c, (V1Fd)(kind - KEY_V1), revents);
        return 1;
}

static void v1_open_psi_root(Watcher *w)
{
        if (!w->cfg.psi_root)
                return; /* without it (or when it cannot be opened) v1 cgroups have no PSI */
        w->psi_root_fd = open(w->cfg.psi_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->psi_root_fd < 0)
                watcher_emit_warning(w, NULL, -errno,
                                     "cannot open the unified hierarchy (--psi-root): cgroups have no PSI");
}

static bool v1_probe_memory(Watcher *w)
{
        return faccessat(w->root_fd, "memory.usage_in_bytes", F_OK, 0) == 0;
}

static void v1_describe(Watcher *w, char *buf, size_t size)
{
        snprintf(buf, size,
                 "watching %u of %u cgroups under %s (cgroup v1 memory controller, pressure_level mode %s); "
                 "PSI %s%s",
                 w->n_watched, w->n_cgroups, w->cfg.root, v1_mode_to_string(w->cfg.v1_mode),
                 !w->cfg.psi          ? "off by configuration"
                 : !w->psi_supported  ? "NOT available"
                 : w->psi_root_fd < 0 ? "of the node only (no unified hierarchy)"
                                      : "from the same paths under ",
                 w->cfg.psi && w->psi_supported && w->psi_root_fd >= 0 ? w->cfg.psi_root : "");
}

const WatchBackend watch_backend_v1 = {
        .alloc = v1_alloc,
        .free = v1_free,
        .attach = v1_attach,
        .detach = watcher_v1_detach,
        .read_limits = v1_read_limits,
        .refresh = v1_refresh,
        .dir_file_modified = v1_dir_file_modified,
        .handle_key = v1_handle_key,
        .open_psi_root = v1_open_psi_root,
        .probe_memory = v1_probe_memory,
        .describe = v1_describe,
        .next_usec = v1_next_usec,
        .tick = v1_tick,
        .current_file = "memory.usage_in_bytes",
};
