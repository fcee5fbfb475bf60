/* SPDX-License-Identifier: MIT */
#include "executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "log.h"
#include "macro.h"
#include "memcg-v1.h"
#include "report.h"

#define THROTTLE_MAX        256
#define FROZEN_MAX          64
#define JOBS_MAX            32
#define PATH_MAX_CG         1024
#define REPORT_BUF_SIZE     (256 * 1024)
#define BUS_RETRY_USEC      (10 * USEC_PER_SEC)
#define BUS_CALL_USEC       (10 * USEC_PER_SEC)
#define WRITE_BOUND_USEC    (5 * USEC_PER_SEC)
#define RESTORE_BOUND_USEC  (5 * USEC_PER_SEC)
#define NOTIFY_MESSAGE_ID   "6d656d7761726465e000000000000020"
#define MEMWARDEN_BUS_NAME  "org.memwarden1"
#define MEMWARDEN_BUS_PATH  "/org/memwarden1"
#define MEMWARDEN_BUS_IFACE "org.memwarden1.Manager"

/* What a step acts on, copied so that it outlives the cgroup and a policy reload. */
typedef struct Target {
        const Cgroup *cgroup; /* compare with slot and serial before use */
        uint32_t slot, serial;
        char path[PATH_MAX_CG];
        char unit[256]; /* "" when not a systemd unit */
        char policy[64];
        char ns[64];
} Target;

typedef struct Throttle {
        bool used;
        Target t;
        uint64_t original; /* memory.high before the first step */
        uint64_t current;  /* what was set last */
        uint64_t want;     /* in flight */
        uint64_t floor;
        uint32_t step_bp;
        uint64_t interval_usec;
        uint64_t next_usec; /* next step down; 0: none due */
        bool in_flight, queued, restoring, restore_pending, via_bus;
} Throttle;

typedef struct Frozen {
        bool used, confirmed;
        Target t;
} Frozen;

typedef struct Job {
        bool used;
        ActionType action;
        Target t;
        char job[128];
        uint64_t start_usec;
} Job;

struct Executor {
        ExecutorConfig cfg;
        sd_event *event;
        Watcher *watcher;
        Engine *engine;
        ExecutorEmit emit;
        void *userdata;
        int root_fd, proc_fd, report_fd;
        char own_cgroup[PATH_MAX_CG];

        sd_bus *bus;
        uint64_t bus_retry_usec;
        bool bus_warned;

        Throttle throttles[THROTTLE_MAX];
        sd_event_source *throttle_timer;
        Frozen frozen[FROZEN_MAX];
        Job jobs[JOBS_MAX];

        /* The writer thread: one memory.high write at a time. */
        pthread_t writer;
        bool writer_running;
        int req_efd, done_efd;
        sd_event_source *done_source, *write_timeout;
        int w_index; /* throttle in flight, -1 none */
        char w_path[PATH_MAX_CG + 32];
        char w_value[32];
        int w_result;
        volatile int w_stop;

        Webhooks *webhooks;
        ExecHelper *exec;

        uint64_t n_outcomes, n_failed;
        char json[16384];
        char report[REPORT_BUF_SIZE];
};

static void format_size(uint64_t v, char *buf, size_t size)
{
        if (v == UINT64_MAX)
                snprintf(buf, size, "max");
        else if (v >= (1ULL << 30) && v % (1ULL << 20) == 0)
                snprintf(buf, size, "%.2fGi", (double)v / (1 << 30));
        else if (v >= (1ULL << 20))
                snprintf(buf, size, "%.1fMi", (double)v / (1 << 20));
        else
                snprintf(buf, size, "%" PRIu64, v);
}

/* ---- outcomes ---- */

static bool target_alive(Executor *x, const Target *t, const Cgroup **ret)
{
        const Cgroup *c = watcher_slot(x->watcher, t->slot);

        if (c && c == t->cgroup && c->serial == t->serial) {
                if (ret)
                        *ret = c;
                return true;
        }
        return false;
}

static void emit(Executor *x, const Target *t, ActionOutcome *o, int error)
{
        Record r = record_init(RECORD_ACTION);
        r.path = t->path;
        r.outcome = o;

        (void)target_alive(x, t, &r.cgroup);
        r.error = error;
        o->policy = t->policy;
        o->policy_namespace = t->ns[0] ? t->ns : NULL;
        if (!o->unit && t->unit[0])
                o->unit = t->unit;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        x->n_outcomes++;
        if (o->result == ACTION_RESULT_FAILED)
                x->n_failed++;
        x->emit(&r, x->userdata);
}

static void outcome(Executor *x, const Target *t, ActionType type, bool undo, ActionResult result,
                    const char *via, int error, const char *fmt, ...) _printf_(8, 9);
static void outcome(Executor *x, const Target *t, ActionType type, bool undo, ActionResult result,
                    const char *via, int error, const char *fmt, ...)
{
        ActionOutcome o = { .action = type, .undo = undo, .result = result, .via = via };
        char detail[768];
        va_list ap;

        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(detail, sizeof(detail), fmt, ap);
                va_end(ap);
                o.detail = detail;
        }
        emit(x, t, &o, error);
}

static const char *rel(const char *path)
{
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

/* Just before acting: does the cgroup still exist in the kernel? */
static bool target_exists(Executor *x, const Target *t)
{
        return faccessat(x->root_fd, rel(t->path), F_OK, 0) == 0;
}

/* ---- the system bus ---- */

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int on_request_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        (void)userdata, (void)ret_error;
        if (sd_bus_message_is_method_error(m, NULL))
                log_info("Not owning the bus name " MEMWARDEN_BUS_NAME
                         " (%s); the D-Bus signal goes out without "
                         "it (install deploy/org.memwarden1.conf to own it).",
                         sd_bus_message_get_error(m)->message);
        return 1;
}

static sd_bus *get_bus(Executor *x)
{
        sd_bus *bus = NULL;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (x->bus && sd_bus_is_open(x->bus) > 0)
                return x->bus;
        if (x->bus) {
                log_warning("The system bus connection was lost; reconnecting.");
                x->bus = sd_bus_flush_close_unref(x->bus);
        }
        if (!x->cfg.bus || now < x->bus_retry_usec)
                return NULL;
        x->bus_retry_usec = now + BUS_RETRY_USEC;
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, x->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                if (!x->bus_warned)
                        log_warning_errno(r,
                                          "Cannot connect to the system bus (systemd actions and the D-Bus "
                                          "signal are unavailable until it is back): %m");
                x->bus_warned = true;
                sd_bus_unref(bus);
                return NULL;
        }
        x->bus_warned = false;
        (void)sd_bus_match_signal_async(bus, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                        "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed,
                                        NULL, x);
        (void)sd_bus_call_method_async(bus, NULL, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "Subscribe", NULL, NULL, NULL);
        /* Owning the name needs deploy/org.memwarden1.conf; the signal goes out without it.
         * With its own handler: sd-bus's default one closes the connection when the name
         * is refused, and the bus is needed for systemd units all the same. */
        (void)sd_bus_request_name_async(bus, NULL, MEMWARDEN_BUS_NAME, 0, on_request_name, x);
        x->bus = bus;
        return bus;
}

/* A bus call's userdata: which table and entry, checked against a generation. */
typedef struct CallCtx {
        Executor *x;
        ActionType action;
        bool undo;
        int index;
        Target t;
} CallCtx;

static CallCtx *call_ctx_new(Executor *x, ActionType action, bool undo, int index, const Target *t)
{
        /* Bus calls are rare (a policy step) and sd-bus allocates per message
         * anyway; the context goes with the call's slot (call_async). */
        CallCtx *c = malloc(sizeof(CallCtx));
        if (!c)
                return NULL;
        *c = (CallCtx){ .x = x, .action = action, .undo = undo, .index = index, .t = *t };
        return c;
}

/* An asynchronous call whose context is freed with its slot: after the reply,
 * or when the connection goes away first. */
static int call_async(sd_bus *bus, sd_bus_message *m, sd_bus_message_handler_t handler, CallCtx *c)
{
        sd_bus_slot *slot = NULL;
        int r;

        r = sd_bus_call_async(bus, &slot, m, handler, c, BUS_CALL_USEC);
        if (r < 0) {
                free(c);
                return r;
        }
        (void)sd_bus_slot_set_destroy_callback(slot, free);
        (void)sd_bus_slot_set_floating(slot, true);
        sd_bus_slot_unref(slot);
        return 0;
}

/* ---- throttle ---- */

static void arm_throttle_timer(Executor *x);
static void writer_kick(Executor *x);

static Throttle *throttle_find(Executor *x, const Target *t)
{
        for (int i = 0; i < THROTTLE_MAX; i++)
                if (x->throttles[i].used && x->throttles[i].t.slot == t->slot &&
                    x->throttles[i].t.serial == t->serial && x->throttles[i].t.cgroup == t->cgroup)
                        return &x->throttles[i];
        return NULL;
}

static int throttle_apply(Executor *x, Throttle *th, uint64_t value);

static void throttle_done(Executor *x, Throttle *th, int error, const char *via)
{
        uint64_t old = th->current, new = th->want;
        ActionOutcome o = { .action = ACTION_THROTTLE,
                            .undo = th->restoring,
                            .via = via,
                            .has_values = true,
                            .old_value = old,
                            .new_value = new };
        char a[32], b[32], detail[256];

        th->in_flight = false;
        format_size(old, a, sizeof(a));
        format_size(new, b, sizeof(b));
        if (error < 0) {
                o.result = ACTION_RESULT_FAILED;
                snprintf(detail, sizeof(detail), "memory.high %s -> %s: %s", a, b, strerror(-error));
        } else {
                o.result = ACTION_RESULT_DONE;
                snprintf(detail, sizeof(detail), "memory.high %s -> %s%s", a, b,
                         th->restoring      ? " (given back)"
                         : new <= th->floor ? " (at the floor)"
                                            : "");
                th->current = new;
        }
        o.detail = detail;
        emit(x, &th->t, &o, error);
        if (!th->restoring && th->restore_pending) {
                /* The policy cleared while this step was in flight. */
                th->restore_pending = false;
                th->restoring = true;
                (void)throttle_apply(x, th, th->original);
                return;
        }
        if (th->restoring || (error < 0 && th->current == th->original)) {
                /* Given back, or never lowered: nothing left to remember. */
                th->used = false;
                return;
        }
        arm_throttle_timer(x);
}

static int on_set_unit_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        CallCtx *c = userdata;
        Executor *x = c->x;
        Throttle *th = &x->throttles[c->index];
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (th->used && th->t.slot == c->t.slot && th->t.serial == c->t.serial && th->in_flight) {
                if (e)
                        log_warning("SetUnitProperties(%s, MemoryHigh) failed: %s", th->t.unit, e->message);
                throttle_done(x, th, e ? -sd_bus_message_get_errno(m) : 0, "systemd");
        }
        return 0;
}

static int throttle_apply(Executor *x, Throttle *th, uint64_t value)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus;
        int r;

        th->want = value;
        th->in_flight = true;
        bus = th->t.unit[0] ? get_bus(x) : NULL;
        th->via_bus = bus != NULL;
        if (!bus) {
                /* Not a unit, or systemd out of reach: the file itself, on the writer thread. */
                th->queued = true;
                writer_kick(x);
                return 0;
        }
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sba(sv)", th->t.unit, 1, 1, "MemoryHigh", "t", value);
        CallCtx *c =
                r >= 0 ? call_ctx_new(x, ACTION_THROTTLE, th->restoring, (int)(th - x->throttles), &th->t)
                       : NULL;
        if (!c)
                r = r < 0 ? r : -ENOMEM;
        else {
                r = call_async(bus, m, on_set_unit_properties, c);
        }
        if (r < 0)
                throttle_done(x, th, r, "systemd");
        return r;
}

static void throttle_step(Executor *x, Throttle *th)
{
        const Cgroup *c;
        uint64_t next;

        if (!target_alive(x, &th->t, &c)) {
                th->used = false;
                return;
        }
        next = throttle_next_high(th->current, watcher_read_current(x->watcher, c), th->floor, th->step_bp);
        if (next == UINT64_MAX) {
                th->next_usec = 0; /* at the floor: stay there until the policy clears */
                return;
        }
        th->next_usec = now_usec(CLOCK_MONOTONIC) + th->interval_usec;
        (void)throttle_apply(x, th, next);
}

static void throttle_restore(Executor *x, Throttle *th)
{
        th->next_usec = 0;
        if (th->in_flight) {
                th->restore_pending = true; /* once the step in flight completes (throttle_done) */
                return;
        }
        th->restoring = true;
        if (!target_alive(x, &th->t, NULL) && !target_exists(x, &th->t)) {
                th->used = false;
                return;
        }
        (void)throttle_apply(x, th, th->original);
}

static int on_throttle_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Executor *x = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles[i];
                const Cgroup *c;
                PolicyPhase phase;

                if (!th->used || th->in_flight || th->restoring || th->next_usec == 0 || th->next_usec > now)
                        continue;
                if (!target_alive(x, &th->t, &c)) {
                        th->used = false;
                        continue;
                }
                /* The policy that throttles it, cgroup or node policy. */
                const Policy *p = engine_policy_of(x->engine, c, false, &phase);
                if (!p || strcmp(p->name, th->t.policy) != 0)
                        p = engine_policy_of(x->engine, c, true, &phase);
                if (!p || strcmp(p->name, th->t.policy) != 0) {
                        throttle_restore(x, th); /* the engine unbinds with an undo; this is the net */
                        continue;
                }
                if (phase == POLICY_FIRING)
                        throttle_step(x, th);
                else
                        th->next_usec = now + th->interval_usec; /* pending again or clearing: hold */
        }
        arm_throttle_timer(x);
        return 0;
}

static void arm_throttle_timer(Executor *x)
{
        uint64_t next = 0;

        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles[i];
                if (th->used && !th->in_flight && !th->restoring && th->next_usec &&
                    (next == 0 || th->next_usec < next))
                        next = th->next_usec;
        }
        if (next == 0) {
                if (x->throttle_timer)
                        (void)sd_event_source_set_enabled(x->throttle_timer, SD_EVENT_OFF);
                return;
        }
        if (!x->throttle_timer) {
                if (sd_event_add_time(x->event, &x->throttle_timer, CLOCK_MONOTONIC, next, 0,
                                      on_throttle_timer, x) < 0)
                        return;
                (void)sd_event_source_set_description(x->throttle_timer, "throttle-steps");
        } else
                (void)sd_event_source_set_time(x->throttle_timer, next);
        (void)sd_event_source_set_enabled(x->throttle_timer, SD_EVENT_ONESHOT);
}

static void run_throttle(Executor *x, const Action *act, const Target *t, const Cgroup *c)
{
        Throttle *th = throttle_find(x, t);
        char a[32], b[32];
        uint64_t next;

        if (th) {
                /* Throttling already: this step starts the descent again now. */
                th->floor = act->floor_bytes, th->step_bp = act->step_bp,
                th->interval_usec = act->interval_usec;
                if (!th->in_flight && !th->restoring)
                        throttle_step(x, th);
                return;
        }
        next = throttle_next_high(c->high, watcher_read_current(x->watcher, c), act->floor_bytes,
                                  act->step_bp);
        format_size(c->high, a, sizeof(a));
        format_size(next, b, sizeof(b));
        if (next == UINT64_MAX) {
                format_size(act->floor_bytes, b, sizeof(b));
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_SKIPPED, NULL, 0,
                        "memory.high is %s, at or below the floor %s", a, b);
                return;
        }
        if (act->dry_run) {
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_DRY_RUN,
                        t->unit[0] ? "systemd" : "cgroupfs", 0, "would lower memory.high %s -> %s", a, b);
                return;
        }
        for (int i = 0; i < THROTTLE_MAX && !th; i++)
                if (!x->throttles[i].used)
                        th = &x->throttles[i];
        if (!th) {
                outcome(x, t, ACTION_THROTTLE, false, ACTION_RESULT_FAILED, NULL, -ENOSPC,
                        "%d cgroups are throttled already", THROTTLE_MAX);
                return;
        }
        *th = (Throttle){ .used = true,
                          .t = *t,
                          .original = c->high,
                          .current = c->high,
                          .floor = act->floor_bytes,
                          .step_bp = act->step_bp,
                          .interval_usec = act->interval_usec };
        th->next_usec = now_usec(CLOCK_MONOTONIC) + th->interval_usec;
        (void)throttle_apply(x, th, next);
}

/* ---- the writer thread ---- */

static void on_writer_alarm(int sig)
{
        (void)sig; /* only interrupts the reclaim of a memory.high write */
}

static void *writer_main(void *userdata)
{
        Executor *x = userdata;
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        for (;;) {
                uint64_t v;
                if (read(x->req_efd, &v, sizeof(v)) < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                if (x->w_stop)
                        return NULL;
                /* O_NONBLOCK: Linux 6.16+ then skips the reclaim a lower limit starts;
                 * older kernels reclaim here, bounded by the loop's SIGUSR2. */
                int fd = openat(x->root_fd, x->w_path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);
                int r = 0;
                if (fd < 0)
                        r = -errno;
                else {
                        size_t len = strlen(x->w_value);
                        ssize_t n = write(fd, x->w_value, len);
                        if (n < 0 && errno != EINTR)
                                r = -errno; /* EINTR: the limit is set, the reclaim was cut short */
                        close(fd);
                }
                x->w_result = r;
                v = 1;
                (void)write(x->done_efd, &v, sizeof(v));
        }
}

static int on_write_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Executor *x = userdata;

        if (x->w_index >= 0)
                (void)pthread_kill(x->writer, SIGUSR2);
        return 0;
}

static int on_write_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Executor *x = userdata;
        uint64_t v;
        int i = x->w_index;

        (void)read(x->done_efd, &v, sizeof(v));
        if (x->write_timeout)
                (void)sd_event_source_set_enabled(x->write_timeout, SD_EVENT_OFF);
        x->w_index = -1;
        if (i >= 0 && x->throttles[i].used)
                throttle_done(x, &x->throttles[i], x->w_result, "cgroupfs");
        writer_kick(x);
        return 0;
}

static void writer_kick(Executor *x)
{
        uint64_t one = 1;

        if (x->w_index >= 0)
                return;
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles[i];
                if (!th->used || !th->queued)
                        continue;
                th->queued = false;
                if (!x->writer_running) {
                        throttle_done(x, th, -ECHILD, "cgroupfs");
                        continue;
                }
                snprintf(x->w_path, sizeof(x->w_path), "%s/memory.high", rel(th->t.path));
                if (th->want == UINT64_MAX)
                        snprintf(x->w_value, sizeof(x->w_value), "max");
                else
                        snprintf(x->w_value, sizeof(x->w_value), "%" PRIu64, th->want);
                x->w_index = i;
                if (!x->write_timeout) {
                        if (sd_event_add_time_relative(x->event, &x->write_timeout, CLOCK_MONOTONIC,
                                                       WRITE_BOUND_USEC, 0, on_write_timeout, x) >= 0)
                                (void)sd_event_source_set_description(x->write_timeout, "limit-write-bound");
                } else {
                        (void)sd_event_source_set_time_relative(x->write_timeout, WRITE_BOUND_USEC);
                        (void)sd_event_source_set_enabled(x->write_timeout, SD_EVENT_ONESHOT);
                }
                (void)write(x->req_efd, &one, sizeof(one));
                return;
        }
}

static int writer_start(Executor *x)
{
        struct sigaction sa = { .sa_handler = on_writer_alarm }; /* no SA_RESTART */
        sigset_t set, old;
        int r;

        x->req_efd = eventfd(0, EFD_CLOEXEC);
        x->done_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (x->req_efd < 0 || x->done_efd < 0)
                return -errno;
        r = sd_event_add_io(x->event, &x->done_source, x->done_efd, EPOLLIN, on_write_done, x);
        if (r < 0)
                return r;
        (void)sd_event_source_set_description(x->done_source, "limit-writer");
        sigaction(SIGUSR2, &sa, NULL);
        /* The thread starts with every signal blocked (it unblocks SIGUSR2 only). */
        sigfillset(&set);
        pthread_sigmask(SIG_BLOCK, &set, &old);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        r = -pthread_create(&x->writer, &attr, writer_main, x);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        x->writer_running = true;
        return 0;
}

/* ---- restart, stop, freeze, kill over the bus ---- */

static Frozen *frozen_find(Executor *x, const Target *t)
{
        for (int i = 0; i < FROZEN_MAX; i++)
                if (x->frozen[i].used && strcmp(x->frozen[i].t.path, t->path) == 0)
                        return &x->frozen[i];
        return NULL;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Executor *x = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (int i = 0; i < JOBS_MAX; i++) {
                Job *j = &x->jobs[i];
                if (!j->used || strcmp(j->job, job) != 0)
                        continue;
                j->used = false;
                outcome(x, &j->t, j->action, false,
                        strcmp(result, "done") == 0 ? ACTION_RESULT_DONE : ACTION_RESULT_FAILED, "systemd",
                        strcmp(result, "done") == 0 ? 0 : -EIO, "job %" PRIu32 " %s: %s", id, unit, result);
        }
        return 0;
}

static int on_unit_call(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        CallCtx *c = userdata;
        Executor *x = c->x;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *job = NULL;

        if (e) {
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_FAILED, "systemd",
                        -sd_bus_message_get_errno(m), "%s", e->message ? e->message : e->name);
                Frozen *f = c->action == ACTION_FREEZE && !c->undo ? frozen_find(x, &c->t) : NULL;
                if (f)
                        f->used = false;
        } else if ((c->action == ACTION_RESTART || c->action == ACTION_STOP) &&
                   sd_bus_message_read(m, "o", &job) >= 0) {
                Job *slot = NULL;
                uint64_t oldest = UINT64_MAX;
                for (int i = 0; i < JOBS_MAX; i++) {
                        if (!x->jobs[i].used) {
                                slot = &x->jobs[i];
                                break;
                        }
                        if (x->jobs[i].start_usec < oldest)
                                oldest = x->jobs[i].start_usec, slot = &x->jobs[i];
                }
                *slot = (Job){
                        .used = true, .action = c->action, .t = c->t, .start_usec = now_usec(CLOCK_MONOTONIC)
                };
                snprintf(slot->job, sizeof(slot->job), "%s", job);
                outcome(x, &c->t, c->action, false, ACTION_RESULT_STARTED, "systemd", 0, "job %s queued",
                        job);
        } else if (c->action == ACTION_FREEZE) {
                Frozen *f = frozen_find(x, &c->t);
                if (f) {
                        f->confirmed = true;
                        f->used = !c->undo;
                }
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_DONE, "systemd", 0,
                        c->undo ? "thawed" : "frozen");
        } else
                outcome(x, &c->t, c->action, c->undo, ACTION_RESULT_DONE, "systemd", 0, NULL);
        return 0;
}

static int unit_call(Executor *x, ActionType action, bool undo, const Target *t, const char *method,
                     const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = get_bus(x);
        CallCtx *c;
        va_list ap;
        int r;

        if (!bus)
                return -ENOTCONN;
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", method);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        c = call_ctx_new(x, action, undo, -1, t);
        if (!c)
                return -ENOMEM;
        r = call_async(bus, m, on_unit_call, c);
        return r;
}

static int write_cgroup_file(Executor *x, const Target *t, const char *file, const char *value)
{
        char path[PATH_MAX_CG + 32];
        _cleanup_close_ int fd = -1;

        snprintf(path, sizeof(path), "%s/%s", rel(t->path), file);
        fd = openat(x->root_fd, path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                return -errno;
        return 0;
}

static void freeze(Executor *x, const Target *t, bool thaw)
{
        Frozen *f = frozen_find(x, t);
        int r;

        if (!thaw && !f) {
                for (int i = 0; i < FROZEN_MAX && !f; i++)
                        if (!x->frozen[i].used)
                                f = &x->frozen[i];
                if (!f) {
                        outcome(x, t, ACTION_FREEZE, false, ACTION_RESULT_FAILED, NULL, -ENOSPC,
                                "%d cgroups frozen already", FROZEN_MAX);
                        return;
                }
                *f = (Frozen){ .used = true, .t = *t };
        }
        if (t->unit[0]) {
                r = unit_call(x, ACTION_FREEZE, thaw, t, thaw ? "ThawUnit" : "FreezeUnit", "s", t->unit);
                if (r >= 0)
                        return;
                if (r != -ENOTCONN) {
                        outcome(x, t, ACTION_FREEZE, thaw, ACTION_RESULT_FAILED, "systemd", r, "%s: %s",
                                thaw ? "ThawUnit" : "FreezeUnit", strerror(-r));
                        if (f && !thaw)
                                f->used = false; /* not frozen: nothing to thaw later */
                        return;
                }
        }
        r = write_cgroup_file(x, t, "cgroup.freeze", thaw ? "0" : "1");
        if (r < 0) {
                outcome(x, t, ACTION_FREEZE, thaw, ACTION_RESULT_FAILED, "cgroupfs", r, "cgroup.freeze: %s",
                        strerror(-r));
                if (f && !thaw)
                        f->used = false;
                return;
        }
        if (thaw) {
                if (f)
                        f->used = false;
                outcome(x, t, ACTION_FREEZE, true, ACTION_RESULT_DONE, "cgroupfs", 0, "thawed");
        } else
                /* Done when cgroup.events says frozen 1 (executor_observe). */
                outcome(x, t, ACTION_FREEZE, false, ACTION_RESULT_STARTED, "cgroupfs", 0,
                        "cgroup.freeze 1 written");
}

static void kill_cgroup(Executor *x, const Action *act, const Target *t, const Cgroup *c)
{
        int r;

        /* Services and scopes through systemd (it then knows why they died);
         * slices and plain cgroups with cgroup.kill (the whole subtree, races
         * with fork handled by the kernel). */
        if (t->unit[0] && c->kind != CGROUP_KIND_SLICE && c->kind != CGROUP_KIND_POD) {
                r = unit_call(x, ACTION_KILL, false, t, "KillUnit", "ssi", t->unit, "all", SIGKILL);
                if (r >= 0)
                        return;
                if (r != -ENOTCONN) {
                        outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "systemd", r, "KillUnit: %s",
                                strerror(-r));
                        return;
                }
        }
        if (x->cfg.v1) {
                /* No cgroup.kill on v1: every process listed in the subtree (memcg-v1.c). */
                _cleanup_close_ int dfd = -1;
                unsigned n = 0;
                char path[PATH_MAX_CG + 8];
                snprintf(path, sizeof(path), "%s", rel(t->path));
                dfd = openat(x->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = dfd < 0 ? -errno : memcg_v1_kill_subtree(dfd, SIGKILL, &n);
                if (r < 0)
                        outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "cgroupfs", r,
                                "cgroup v1 kill (cgroup.procs): %s", strerror(-r));
                else
                        outcome(x, t, ACTION_KILL, false, ACTION_RESULT_DONE, "cgroupfs", 0,
                                "cgroup v1: %u processes SIGKILLed from cgroup.procs", n);
                return;
        }
        r = write_cgroup_file(x, t, "cgroup.kill", "1");
        if (r == -ENOENT && target_exists(x, t))
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "cgroupfs", r,
                        "cgroup.kill needs Linux 5.14");
        else if (r < 0)
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_FAILED, "cgroupfs", r, "cgroup.kill: %s",
                        strerror(-r));
        else
                outcome(x, t, ACTION_KILL, false, ACTION_RESULT_DONE, "cgroupfs", 0,
                        "cgroup.kill: every process SIGKILLed");
}

/* ---- notify ---- */

/* Webhook and exec results come back later, named by a cookie
 * "policy\tnamespace\tpath" (the cgroup may be gone by then). */
static void target_cookie(const Target *t, char *buf, size_t size)
{
        snprintf(buf, size, "%s\t%s\t%s", t->policy, t->ns, t->path);
}

static bool target_from_cookie(const char *cookie, Target *t)
{
        const char *b = strchr(cookie, '\t'), *c = b ? strchr(b + 1, '\t') : NULL;

        if (!c)
                return false;
        *t = (Target){ .slot = UINT32_MAX };
        snprintf(t->policy, sizeof(t->policy), "%.*s", (int)(b - cookie), cookie);
        snprintf(t->ns, sizeof(t->ns), "%.*s", (int)(c - b - 1), b + 1);
        snprintf(t->path, sizeof(t->path), "%s", c + 1);
        return true;
}

static void on_webhook_done(void *userdata, const char *url, const char *cookie, bool ok, long http_code,
                            unsigned attempts, const char *error)
{
        Executor *x = userdata;
        Target t;

        if (!target_from_cookie(cookie, &t))
                return;
        char answer[32];
        if (http_code)
                snprintf(answer, sizeof(answer), "HTTP %ld", http_code);
        else
                snprintf(answer, sizeof(answer), "no answer");
        outcome(x, &t, ACTION_NOTIFY, false, ok ? ACTION_RESULT_DONE : ACTION_RESULT_FAILED, "webhook",
                ok ? 0 : -EIO, "POST %s: %s after %u attempt%s%s%s", url, answer, attempts,
                attempts == 1 ? "" : "s", error ? ": " : "", error ? error : "");
}

static void run_notify(Executor *x, const Action *act, const Target *t, const Cgroup *c,
                       const EngineDecision *d)
{
        ActionOutcome o = { .action = ACTION_NOTIFY,
                            .result = act->dry_run ? ACTION_RESULT_DRY_RUN : ACTION_RESULT_DONE };
        Record r = record_init(RECORD_ACTION);
        r.cgroup = c;
        r.path = t->path;
        r.outcome = &o;
        char via[96], detail[PATH_MAX_CG + 200], cookie[PATH_MAX_CG + 160];
        size_t len = 0;
        sd_bus *bus;

        bus = x->cfg.bus && !act->dry_run ? get_bus(x) : NULL;
        snprintf(via, sizeof(via), "journal%s%s", bus ? ",dbus" : "", act->webhook ? ",webhook" : "");
        snprintf(detail, sizeof(detail), "policy %s %s on %s", t->policy, policy_phase_to_string(d->phase),
                 t->path);
        o.via = via;
        o.detail = detail;
        o.policy = t->policy;
        o.policy_namespace = t->ns[0] ? t->ns : NULL;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        r.current = watcher_read_current(x->watcher, c);
        if (record_format_json(&r, x->json, sizeof(x->json), &len) < 0)
                len = 0;
        if (act->dry_run || len == 0) {
                emit(x, t, &o, len == 0 ? -ENOBUFS : 0);
                return;
        }
        (void)sd_journal_send("MESSAGE=memwarden: policy %s fired on %s", t->policy, t->path, "PRIORITY=%d",
                              LOG_WARNING, "MESSAGE_ID=" NOTIFY_MESSAGE_ID, "MEMWARDEN_EVENT=notify",
                              "MEMWARDEN_POLICY=%s", t->policy, "MEMWARDEN_CGROUP=%s", t->path,
                              "MEMWARDEN_JSON=%.*s", (int)(len - 1), x->json, NULL);
        if (bus)
                (void)sd_bus_emit_signal(bus, MEMWARDEN_BUS_PATH, MEMWARDEN_BUS_IFACE, "PolicyEvent", "ssss",
                                         t->policy, t->path, policy_phase_to_string(d->phase), x->json);
        if (act->webhook) {
                target_cookie(t, cookie, sizeof(cookie));
                int k = x->webhooks ? webhooks_post(x->webhooks, act->webhook, x->json, len - 1, cookie,
                                                    on_webhook_done, x)
                                    : -ENOTSUP;
                if (k < 0)
                        outcome(x, t, ACTION_NOTIFY, false, ACTION_RESULT_FAILED, "webhook", k,
                                "POST %s not queued: %s", act->webhook,
                                k == -ENOBUFS    ? "queue full"
                                : k == -ENOTCONN ? "libcurl is not set up"
                                                 : strerror(-k));
        }
        emit(x, t, &o, 0);
}

/* ---- report ---- */

typedef struct PruneCtx {
        unsigned n;
        char oldest[256];
} PruneCtx;

static int count_report(const char *name, unsigned char type, void *userdata)
{
        PruneCtx *ctx = userdata;
        size_t l = strlen(name);

        if (type != DT_REG || l < 6 || strcmp(name + l - 5, ".json") != 0 || l >= sizeof(ctx->oldest))
                return 0;
        ctx->n++;
        /* Names start with the UTC time: the smallest is the oldest. */
        if (!ctx->oldest[0] || strcmp(name, ctx->oldest) < 0)
                memcpy(ctx->oldest, name, l + 1);
        return 0;
}

static void prune_reports(Executor *x)
{
        int fd = openat(x->report_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return;
        for (int round = 0; round < 8; round++) {
                PruneCtx ctx = {};
                (void)dir_for_each(fd, count_report, &ctx);
                if (ctx.n <= x->cfg.report_keep || !ctx.oldest[0])
                        break;
                (void)unlinkat(x->report_fd, ctx.oldest, 0);
        }
        close(fd);
}

static void run_report(Executor *x, const Action *act, const Target *t)
{
        ActionOutcome o = { .action = ACTION_REPORT };
        ReportSummary sum;
        char name[200], detail[512], full[700], a[32], b[32], cs[32];
        size_t len, k = 0;
        uint64_t real = now_usec(CLOCK_REALTIME);
        time_t tt = (time_t)(real / USEC_PER_SEC);
        struct tm tm;
        int r, fd;

        if (x->report_fd < 0) {
                outcome(x, t, ACTION_REPORT, false, ACTION_RESULT_FAILED, NULL, -ENOTDIR,
                        "no report directory (--report-dir)");
                return;
        }
        r = report_build(x->root_fd, rel(t->path), x->proc_fd, t->path, t->policy, real, x->report,
                         sizeof(x->report), &len, &sum);
        if (r < 0) {
                outcome(x, t, ACTION_REPORT, false, ACTION_RESULT_FAILED, NULL, r, "building the report: %s",
                        strerror(-r));
                return;
        }
        /* Names sort by time: the oldest go first when the directory is full. */
        gmtime_r(&tt, &tm);
        k = strftime(name, sizeof(name), "%Y%m%dT%H%M%S", &tm);
        k += (size_t)snprintf(name + k, sizeof(name) - k, ".%06uZ-%s-", (unsigned)(real % USEC_PER_SEC),
                              t->policy);
        for (const char *p = t->path; *p && k < sizeof(name) - 8; p++)
                name[k++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                                            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'
                                    ? *p
                                    : '_';
        snprintf(name + k, sizeof(name) - k, ".json");
        format_size(sum.top.rss, a, sizeof(a));
        format_size(sum.anon, b, sizeof(b));
        format_size(sum.file, cs, sizeof(cs));
        snprintf(detail, sizeof(detail),
                 "top process: pid %d (%s) rss %s; anon %s, file %s; %u processes, %u children%s",
                 sum.top.pid, sum.top.comm, a, b, cs, sum.n_processes, sum.n_children,
                 sum.truncated ? " (truncated)" : "");
        snprintf(full, sizeof(full), "%s/%s", x->cfg.report_dir, name);
        o.detail = detail;
        o.report = full;
        if (act->dry_run) {
                o.result = ACTION_RESULT_DRY_RUN;
                emit(x, t, &o, 0);
                return;
        }
        fd = openat(x->report_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
        r = fd < 0 ? -errno : 0;
        if (fd >= 0) {
                for (size_t off = 0; off < len;) {
                        ssize_t n = write(fd, x->report + off, len - off);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                r = -errno;
                                break;
                        }
                        off += (size_t)n;
                }
                close(fd);
        }
        if (r < 0) {
                (void)unlinkat(x->report_fd, name, 0);
                o.result = ACTION_RESULT_FAILED;
                o.report = NULL;
                emit(x, t, &o, r);
                return;
        }
        o.result = ACTION_RESULT_DONE;
        emit(x, t, &o, 0);
        prune_reports(x);
}

/* ---- exec ---- */

static void on_exec_done(void *userdata, const char *cookie, int status, const char *detail)
{
        Executor *x = userdata;
        Target t;

        if (!target_from_cookie(cookie, &t))
                return;
        outcome(x, &t, ACTION_EXEC, false, status == 0 ? ACTION_RESULT_DONE : ACTION_RESULT_FAILED,
                "exec-helper", status == 0 ? 0 : -EIO, "%s", detail);
}

static void run_exec(Executor *x, const Action *act, const Target *t, const Cgroup *c,
                     const EngineDecision *d)
{
        ActionOutcome o = { .action = ACTION_EXEC, .result = ACTION_RESULT_STARTED, .via = "exec-helper" };
        Record r = record_init(RECORD_ACTION);
        r.cgroup = c;
        r.path = t->path;
        r.outcome = &o;
        char cookie[PATH_MAX_CG + 160], detail[300];
        size_t len;
        int k;

        o.policy = t->policy;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        snprintf(detail, sizeof(detail), "%s", act->argv[0]);
        o.detail = detail;
        if (act->dry_run) {
                o.result = ACTION_RESULT_DRY_RUN;
                emit(x, t, &o, 0);
                return;
        }
        if (record_format_json(&r, x->json, sizeof(x->json), &len) < 0)
                len = 0;
        target_cookie(t, cookie, sizeof(cookie));
        k = x->exec ? exec_helper_run(x->exec, act->argv, act->argc, act->timeout_usec, x->json, len, cookie)
                    : -ECHILD;
        if (k < 0) {
                o.result = ACTION_RESULT_FAILED;
                snprintf(detail, sizeof(detail), "%s: the exec helper %s", act->argv[0],
                         k == -ENOBUFS ? "queue is full" : "is not running");
                emit(x, t, &o, k);
                return;
        }
        emit(x, t, &o, 0);
}

/* ---- dispatch ---- */

static void make_target(Executor *x, const EngineDecision *d, Target *t)
{
        const char *unit = plan_unit_candidate(d->cgroup) ? d->cgroup->name : NULL;

        *t = (Target){ .cgroup = d->cgroup, .slot = d->cgroup->slot, .serial = d->cgroup->serial };
        if (cgroup_path(d->cgroup, t->path, sizeof(t->path)) < 0)
                snprintf(t->path, sizeof(t->path), "?");
        if (unit)
                snprintf(t->unit, sizeof(t->unit), "%s", unit);
        snprintf(t->policy, sizeof(t->policy), "%s", d->policy->name);
        if (d->policy->scope_namespace)
                snprintf(t->ns, sizeof(t->ns), "%s", d->policy->scope_namespace);
}

static void run_step(Executor *x, const EngineDecision *d, const Action *act, const Target *t)
{
        const char *why = action_refusal(act->type, act->allow_protected, d->cgroup, t->path, x->own_cgroup);
        const Cgroup *c = d->cgroup;
        int r;

        if (why) {
                outcome(x, t, act->type, false, ACTION_RESULT_REFUSED, NULL, 0, "%s", why);
                return;
        }
        if (act->type != ACTION_NOTIFY && act->type != ACTION_EXEC && !target_exists(x, t)) {
                outcome(x, t, act->type, false, ACTION_RESULT_SKIPPED, NULL, -ENOENT, "the cgroup is gone");
                return;
        }
        if ((act->type == ACTION_RESTART || act->type == ACTION_STOP) && !t->unit[0]) {
                outcome(x, t, act->type, false, ACTION_RESULT_REFUSED, NULL, 0, "not a systemd unit");
                return;
        }
        if (act->dry_run && act->type != ACTION_THROTTLE && act->type != ACTION_NOTIFY &&
            act->type != ACTION_REPORT && act->type != ACTION_EXEC) {
                outcome(x, t, act->type, false, ACTION_RESULT_DRY_RUN, t->unit[0] ? "systemd" : "cgroupfs",
                        0, NULL);
                return;
        }
        switch (act->type) {
        case ACTION_NOTIFY:
                run_notify(x, act, t, c, d);
                break;
        case ACTION_REPORT:
                run_report(x, act, t);
                break;
        case ACTION_THROTTLE:
                run_throttle(x, act, t, c);
                break;
        case ACTION_RESTART:
        case ACTION_STOP:
                r = unit_call(x, act->type, false, t,
                              act->type == ACTION_RESTART ? "RestartUnit" : "StopUnit", "ss", t->unit,
                              "replace");
                if (r < 0)
                        outcome(x, t, act->type, false, ACTION_RESULT_FAILED, "systemd", r, "%s",
                                r == -ENOTCONN ? "the system bus is not reachable" : strerror(-r));
                break;
        case ACTION_FREEZE:
                freeze(x, t, false);
                break;
        case ACTION_KILL:
                kill_cgroup(x, act, t, c);
                break;
        case ACTION_EXEC:
                run_exec(x, act, t, c, d);
                break;
        default:
                break;
        }
}

static void undo_step(Executor *x, const Action *act, const Target *t)
{
        if (act->dry_run)
                return;
        if (act->type == ACTION_THROTTLE) {
                Throttle *th = throttle_find(x, t);
                if (th)
                        throttle_restore(x, th);
        } else if (act->type == ACTION_FREEZE && frozen_find(x, t))
                freeze(x, t, true);
}

void executor_decision(Executor *x, const EngineDecision *d)
{
        Target t;

        if (!d->d.run_steps && !d->d.undo_steps)
                return;
        make_target(x, d, &t);
        for (size_t i = 0; i < d->policy->n_actions; i++)
                if (d->d.undo_steps & (1U << i))
                        undo_step(x, &d->policy->actions[i], &t);
        for (size_t i = 0; i < d->policy->n_actions; i++)
                if (d->d.run_steps & (1U << i))
                        run_step(x, d, &d->policy->actions[i], &t);
}

void executor_observe(Executor *x, const Record *r)
{
        const Cgroup *c = r->cgroup;

        if (!c)
                return;
        if (r->type == RECORD_CGROUP_REMOVED) {
                for (int i = 0; i < THROTTLE_MAX; i++)
                        if (x->throttles[i].used && x->throttles[i].t.cgroup == c &&
                            x->throttles[i].t.serial == c->serial && !x->throttles[i].in_flight)
                                x->throttles[i].used = false;
                for (int i = 0; i < FROZEN_MAX; i++)
                        if (x->frozen[i].used && x->frozen[i].t.cgroup == c &&
                            x->frozen[i].t.serial == c->serial)
                                x->frozen[i].used = false;
        } else if (r->type == RECORD_CGROUP_EVENTS && c->cgevents.frozen && !r->cgevents_old->frozen) {
                for (int i = 0; i < FROZEN_MAX; i++) {
                        Frozen *f = &x->frozen[i];
                        if (f->used && !f->confirmed && f->t.cgroup == c && f->t.serial == c->serial &&
                            !f->t.unit[0]) {
                                f->confirmed = true;
                                outcome(x, &f->t, ACTION_FREEZE, false, ACTION_RESULT_DONE, "cgroupfs", 0,
                                        "cgroup.events: frozen 1");
                        }
                }
        }
}

void executor_restore_all(Executor *x)
{
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles[i];
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                int r;

                if (!th->used)
                        continue;
                if (th->t.unit[0] && th->via_bus && get_bus(x)) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                        r = sd_bus_message_new_method_call(
                                x->bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "SetUnitProperties");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "sba(sv)", th->t.unit, 1, 1, "MemoryHigh", "t",
                                                          th->original);
                        if (r >= 0)
                                r = sd_bus_call(x->bus, m, RESTORE_BOUND_USEC, &e, &reply);
                } else {
                        char v[32];
                        if (th->original == UINT64_MAX)
                                snprintf(v, sizeof(v), "max");
                        else
                                snprintf(v, sizeof(v), "%" PRIu64, th->original);
                        /* Raising the limit does not reclaim: safe on this thread. */
                        r = write_cgroup_file(x, &th->t, "memory.high", v);
                }
                th->want = th->original;
                th->restoring = true;
                th->in_flight = true;
                throttle_done(x, th, r, th->t.unit[0] && th->via_bus ? "systemd" : "cgroupfs");
                th->used = false;
        }
        for (int i = 0; i < FROZEN_MAX; i++) {
                Frozen *f = &x->frozen[i];
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                int r;

                if (!f->used)
                        continue;
                bool bus = f->t.unit[0] && get_bus(x);
                if (bus)
                        r = sd_bus_call_method(
                                x->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "ThawUnit", &e, NULL, "s", f->t.unit);
                else
                        r = write_cgroup_file(x, &f->t, "cgroup.freeze", "0");
                outcome(x, &f->t, ACTION_FREEZE, true, r < 0 ? ACTION_RESULT_FAILED : ACTION_RESULT_DONE,
                        bus ? "systemd" : "cgroupfs", r < 0 ? r : 0, "thawed at shutdown");
                f->used = false;
        }
}

/* ---- life cycle ---- */

static void read_own_cgroup(Executor *x)
{
        char buf[4096];
        size_t len;

        x->own_cgroup[0] = '\0';
        if (cg_read_file(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf), &len) < 0)
                return;
        /* The v2 line "0::/path", or on cgroup v1 the memory controller's "N:memory:/path". */
        for (char *p = buf; p && *p;) {
                char *nl = strchr(p, '\n'), *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (nl)
                        *nl = '\0';
                if (!c2)
                        ;
                else if (!x->cfg.v1 && strncmp(p, "0::", 3) == 0)
                        snprintf(x->own_cgroup, sizeof(x->own_cgroup), "%s", p + 3);
                else if (x->cfg.v1 && c2 - c1 == 7 && memcmp(c1 + 1, "memory", 6) == 0)
                        snprintf(x->own_cgroup, sizeof(x->own_cgroup), "%s", c2 + 1);
                p = nl ? nl + 1 : NULL;
        }
}

int executor_new(sd_event *event, Watcher *w, Engine *engine, const ExecutorConfig *cfg, ExecutorEmit emitf,
                 void *userdata, Executor **ret)
{
        Executor *x;
        int r;

        x = calloc(1, sizeof(Executor));
        if (!x)
                return -ENOMEM;
        x->cfg = *cfg;
        x->event = sd_event_ref(event);
        x->watcher = w;
        x->engine = engine;
        x->emit = emitf;
        x->userdata = userdata;
        x->w_index = -1;
        x->req_efd = x->done_efd = x->report_fd = -1;
        x->root_fd = open(cfg->cgroup_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        x->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (x->root_fd < 0 || x->proc_fd < 0) {
                r = -errno;
                executor_free(x);
                return r;
        }
        read_own_cgroup(x);
        if (cfg->report_dir && cfg->report_dir[0]) {
                char dir[4096];
                snprintf(dir, sizeof(dir), "%s", cfg->report_dir);
                for (char *p = dir + 1; *p; p++)
                        if (*p == '/') {
                                *p = '\0';
                                (void)mkdir(dir, 0755);
                                *p = '/';
                        }
                (void)mkdir(dir, 0750);
                x->report_fd = open(cfg->report_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (x->report_fd < 0)
                        log_warning_errno(-errno, "Report directory %s unusable, reports will fail: %m",
                                          cfg->report_dir);
        }
        r = writer_start(x);
        if (r < 0)
                log_warning_errno(r,
                                  "Cannot start the limit writer thread; throttling by file will fail: %m");
        r = webhooks_new(event, cfg->webhook_timeout_usec, &x->webhooks);
        if (r < 0)
                log_warning_errno(r, "Webhooks unavailable: %m");
        if (cfg->exec_helper) {
                r = exec_helper_start(event, cfg->exec_helper, on_exec_done, x, &x->exec);
                if (r < 0)
                        log_warning_errno(r, "Cannot start the exec helper; exec steps will fail: %m");
        }
        if (cfg->bus)
                (void)get_bus(x);
        *ret = x;
        return 0;
}

Executor *executor_free(Executor *x)
{
        if (!x)
                return NULL;
        if (x->writer_running) {
                uint64_t one = 1;
                x->w_stop = 1;
                (void)write(x->req_efd, &one, sizeof(one));
                (void)pthread_kill(x->writer, SIGUSR2);
                pthread_join(x->writer, NULL);
        }
        sd_event_source_disable_unref(x->done_source);
        sd_event_source_disable_unref(x->write_timeout);
        sd_event_source_disable_unref(x->throttle_timer);
        webhooks_free(x->webhooks);
        exec_helper_free(x->exec);
        sd_bus_flush_close_unref(x->bus);
        safe_close(x->req_efd);
        safe_close(x->done_efd);
        safe_close(x->root_fd);
        safe_close(x->proc_fd);
        safe_close(x->report_fd);
        sd_event_unref(x->event);
        free(x);
        return NULL;
}

void executor_prepare(Executor *x, const PolicySet *set)
{
        for (size_t i = 0; set && i < set->n; i++)
                for (size_t k = 0; k < set->policies[i].n_actions; k++)
                        if (set->policies[i].actions[k].webhook && x->webhooks) {
                                int r = webhooks_prepare(x->webhooks);
                                if (r < 0)
                                        log_warning_errno(r,
                                                          "Cannot set up libcurl; webhooks will fail: %m");
                                return;
                        }
}

void executor_get_stats(const Executor *x, ExecutorStats *ret)
{
        *ret = (ExecutorStats){ .n_outcomes = x->n_outcomes, .n_failed = x->n_failed };
        for (int i = 0; i < THROTTLE_MAX; i++)
                ret->n_throttled += x->throttles[i].used;
        for (int i = 0; i < FROZEN_MAX; i++)
                ret->n_frozen += x->frozen[i].used;
        for (int i = 0; i < JOBS_MAX; i++)
                ret->n_jobs += x->jobs[i].used;
        if (x->webhooks)
                webhooks_get_stats(x->webhooks, &ret->n_webhooks_sent, &ret->n_webhooks_failed,
                                   &ret->n_webhooks_dropped);
        ret->bus_connected = x->bus && sd_bus_is_open(x->bus) > 0;
}
