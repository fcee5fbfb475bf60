/* SPDX-License-Identifier: MIT */
/* The undo file (src/undo-log.c) kept in step with the throttle and frozen
 * tables: written before a throttle or freeze is applied, brought up to
 * date from the loop when entries go; what a previous run left is given
 * back at start; and the asynchronous give-back of everything at SIGTERM,
 * within a deadline. Nothing here blocks the loop: the files are written
 * with O_NONBLOCK (raising memory.high never reclaims), systemd is asked
 * asynchronously. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "executor-internal.h"
#include "fs-util.h"
#include "log.h"

_Static_assert(THROTTLE_MAX == UNDO_THROTTLES_MAX && FROZEN_MAX == UNDO_FROZEN_MAX,
               "the undo file holds exactly the tables");

/* ---- entries from the tables ---- */

static void entry_of(const ActionTarget *t, bool via_unit, uint64_t since, UndoEntry *ret)
{
        *ret = (UndoEntry){ .via_unit = via_unit && t->unit[0], .real_usec = since };
        snprintf(ret->policy, sizeof(ret->policy), "%s", t->policy);
        snprintf(ret->path, sizeof(ret->path), "%s", t->path);
        if (ret->via_unit)
                snprintf(ret->unit, sizeof(ret->unit), "%s", t->unit);
}

static void throttle_entry(const Throttle *th, UndoEntry *ret)
{
        entry_of(&th->t, th->via_unit, th->since_real_usec, ret);
        ret->kind = UNDO_THROTTLE;
        ret->original = th->original;
}

static void frozen_entry(const Frozen *f, UndoEntry *ret)
{
        entry_of(&f->t, f->via_unit, f->since_real_usec, ret);
        ret->kind = UNDO_FREEZE;
}

bool executor_undo_entry(const Executor *x, unsigned i, UndoEntry *ret, bool *ret_pending)
{
        if (i < THROTTLE_MAX) {
                const Throttle *th = &x->throttles.th[i];
                if (!th->used)
                        return false;
                throttle_entry(th, ret);
                *ret_pending = th->giving_back || th->leftover;
                return true;
        }
        i -= THROTTLE_MAX;
        if (i >= FROZEN_MAX || !x->tables.frozen[i].used)
                return false;
        frozen_entry(&x->tables.frozen[i], ret);
        *ret_pending = x->tables.frozen[i].giving_back || x->tables.frozen[i].leftover;
        return true;
}

typedef struct Iter {
        Executor *x;
        unsigned i;
} Iter;

static bool next_entry(void *userdata, UndoEntry *ret)
{
        Iter *it = userdata;
        bool pending;

        while (it->i < UNDO_ENTRIES_MAX)
                if (executor_undo_entry(it->x, it->i++, ret, &pending))
                        return true;
        return false;
}

static void used_bits(const Executor *x, uint64_t *bits)
{
        memset(bits, 0, sizeof(x->undo_saved));
        for (unsigned i = 0; i < THROTTLE_MAX; i++)
                if (x->throttles.th[i].used)
                        bits[i / 64] |= 1ULL << (i % 64);
        for (unsigned i = 0; i < FROZEN_MAX; i++)
                if (x->tables.frozen[i].used)
                        bits[(THROTTLE_MAX + i) / 64] |= 1ULL << ((THROTTLE_MAX + i) % 64);
}

int undo_save(Executor *x)
{
        Iter it = { .x = x };
        int r;

        if (x->state_fd < 0)
                return 0;
        r = undo_log_write(x->state_fd, UNDO_FILE_NAME, next_entry, &it, x->undo_line, sizeof(x->undo_line));
        if (r >= 0)
                used_bits(x, x->undo_saved);
        return r;
}

/* Entries only go here (an addition is saved at once, undo_save), so the
 * set of used slots tells whether the file is behind. */
static int on_undo_defer(sd_event_source *s, void *userdata)
{
        Executor *x = userdata;
        uint64_t bits[ELEMENTSOF(x->undo_saved)];
        int r;

        (void)s;
        used_bits(x, bits);
        if (memcmp(bits, x->undo_saved, sizeof(bits)) == 0)
                return 0;
        r = undo_save(x);
        if (r < 0)
                log_warning_errno(r,
                                  "Cannot update the undo file in '%s' (given-back entries stay in it): %m",
                                  x->cfg.state_dir);
        return 0;
}

void undo_changed(Executor *x)
{
        if (x->undo_defer)
                (void)sd_event_source_set_enabled(x->undo_defer, SD_EVENT_ONESHOT);
}

/* A unit's give-back that systemd never answered (no bus, a timeout): the
 * limit is set through the file at once, and the entry stays in the undo
 * file, without its cgroup, to be given back through systemd at shutdown
 * or at the next start (the runtime property would outlive the cgroup).
 * false: the error is systemd's answer, the caller goes on as before. */
bool undo_keep_unanswered(Executor *x, Throttle *th, int error, const char *message)
{
        char v[24];
        UndoEntry e;
        int r = -ENOENT;

        throttle_entry(th, &e);
        if (!th->restoring || !e.via_unit || undo_settled(&e, 0, error))
                return false;
        snprintf(v, sizeof(v), "%" PRIu64, th->original);
        if (target_exists(x, &th->t))
                r = write_cgroup_file(x, &th->t, "memory.high", th->original == UINT64_MAX ? "max" : v);
        outcome(x, &th->t, ACTION_THROTTLE, true, ACTION_RESULT_FAILED, "systemd", error,
                "SetUnitProperties(%s) failed: %s; memory.high %s%s; stays in the undo file", th->t.unit,
                message ? message : strerror(-error), r < 0 ? "not written: " : "set directly",
                r < 0 ? strerror(-r) : "");
        th->t.cgroup = NULL, th->t.slot = UINT32_MAX, th->t.serial = 0;
        th->in_flight = th->restoring = th->leftover = true;
        th->restore_pending = th->giving_back = false;
        undo_changed(x);
        return true;
}

/* ---- start ---- */

static void load_entry(const UndoEntry *e, void *userdata)
{
        Executor *x = userdata;
        ActionTarget t = { .slot = UINT32_MAX };

        snprintf(t.path, sizeof(t.path), "%s", e->path);
        snprintf(t.unit, sizeof(t.unit), "%s", e->unit);
        snprintf(t.policy, sizeof(t.policy), "%s", e->policy);
        if (e->kind == UNDO_THROTTLE) {
                for (int i = 0; i < THROTTLE_MAX; i++) {
                        Throttle *th = &x->throttles.th[i];
                        if (th->used)
                                continue;
                        /* In flight and restoring: no step, no timer touches it. */
                        *th = (Throttle){ .used = true,
                                          .original = e->original,
                                          .current = e->original,
                                          .want = e->original,
                                          .in_flight = true,
                                          .restoring = true,
                                          .via_unit = e->via_unit,
                                          .since_real_usec = e->real_usec,
                                          .leftover = true };
                        th->t = t;
                        return;
                }
        } else {
                Frozen *f = frozen_new(&x->tables, &t);
                if (f) {
                        f->confirmed = true, f->via_unit = e->via_unit, f->leftover = true;
                        f->since_real_usec = e->real_usec;
                }
        }
}

static void load_bad(unsigned line, int error, void *userdata)
{
        Executor *x = userdata;

        if (x->undo_n_bad++ == 0)
                x->undo_bad_line = line, x->undo_bad_error = error;
}

void undo_open(Executor *x)
{
        const char *dir = x->cfg.state_dir;
        int r;

        x->state_fd = -1;
        if (!dir || !dir[0])
                return;
        r = mkdir_p(dir, 0700);
        if (r >= 0) {
                x->state_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = x->state_fd < 0 ? -errno : 0;
        }
        if (r < 0) {
                log_warning_errno(r,
                                  "State directory '%s' unusable: throttles and freezes are not written "
                                  "down, a crash would leave them in place: %m",
                                  dir);
                x->undo_read_error = r;
                return;
        }
        r = undo_log_read(x->state_fd, UNDO_FILE_NAME, x->undo_line, sizeof(x->undo_line), load_entry,
                          load_bad, x);
        if (r < 0)
                x->undo_read_error = r;
        else if (r > 0)
                log_info("The undo file in '%s' holds %d entries of a previous run: giving them back.", dir,
                         r);
        {
                r = sd_event_add_defer(x->event, &x->undo_defer, on_undo_defer, x);
                if (r >= 0) {
                        (void)sd_event_source_set_enabled(x->undo_defer, SD_EVENT_OFF);
                        (void)sd_event_source_set_description(x->undo_defer, "undo-file");
                }
        }
}

void undo_close(Executor *x)
{
        x->undo_defer = sd_event_source_disable_unref(x->undo_defer);
        x->stop_timer = sd_event_source_disable_unref(x->stop_timer);
        x->state_fd = safe_close(x->state_fd);
}

/* ---- giving back ---- */

static void stop_check(Executor *x);

static bool *giving_back_of(Executor *x, UndoKind kind, int i, bool **ret_used, const ActionTarget **ret_t)
{
        if (kind == UNDO_THROTTLE) {
                *ret_used = &x->throttles.th[i].used, *ret_t = &x->throttles.th[i].t;
                return &x->throttles.th[i].giving_back;
        }
        *ret_used = &x->tables.frozen[i].used, *ret_t = &x->tables.frozen[i].t;
        return &x->tables.frozen[i].giving_back;
}

static void give_back_detail(const GiveBackCtx *c, const UndoStep *s, int unit_error, const char *message,
                             bool settled, char *buf, size_t size)
{
        int n;

        if (c->kind == UNDO_THROTTLE)
                n = snprintf(buf, size, "memory.high %s given back%s", s->value[0] ? s->value : "-", c->why);
        else
                n = snprintf(buf, size, "thawed%s", c->why);
        if (n < 0 || (size_t)n >= size)
                return;
        if (s->file && c->file_error < 0)
                n += snprintf(buf + n, size - (size_t)n, "; %s: %s", s->file, strerror(-c->file_error));
        if (n >= 0 && (size_t)n < size && s->unit_call && unit_error < 0)
                n += snprintf(buf + n, size - (size_t)n, "; systemd: %s",
                              message ? message : strerror(-unit_error));
        if (n >= 0 && (size_t)n < size && !settled)
                snprintf(buf + n, size - (size_t)n, "; stays in the undo file for the next start");
}

/* The end of a give-back: the record, and the entry out of the table (and so
 * out of the file) if it is settled. */
static void give_back_end(Executor *x, const GiveBackCtx *c, int unit_error, const char *message)
{
        bool *used, *giving = NULL;
        const ActionTarget *t;
        UndoEntry e;
        UndoStep s;
        bool settled, ok;
        char detail[768];

        giving = giving_back_of(x, c->kind, c->index, &used, &t);
        if (!*used || !*giving || !action_target_same(t, &c->t) || strcmp(t->path, c->t.path) != 0)
                return; /* given back some other way meanwhile */
        if (c->kind == UNDO_THROTTLE)
                throttle_entry(&x->throttles.th[c->index], &e);
        else
                frozen_entry(&x->tables.frozen[c->index], &e);
        undo_step_for(&e, x->cfg.v1, &s);
        settled = undo_settled(&e, c->file_error, unit_error);
        ok = (!s.file || c->file_error >= 0 || c->file_error == -ENOENT) &&
             (!s.unit_call || unit_error >= 0);
        give_back_detail(c, &s, unit_error, message, settled, detail, sizeof(detail));
        *giving = false;
        outcome(x, &c->t, c->kind == UNDO_THROTTLE ? ACTION_THROTTLE : ACTION_FREEZE, true,
                ok ? ACTION_RESULT_DONE : ACTION_RESULT_FAILED, s.unit_call ? "systemd" : "cgroupfs",
                ok ? 0 : (unit_error < 0 ? unit_error : c->file_error), "%s", detail);
        if (settled)
                *used = false;
        undo_changed(x);
        stop_check(x);
}

static void on_give_back(void *ctx, int error, const char *message, const char *job)
{
        GiveBackCtx *c = ctx;

        (void)job;
        give_back_end(c->x, c, error, message);
}

/* Write the file at once, ask systemd if it was a unit. */
static void give_back(Executor *x, UndoKind kind, int i, const char *why)
{
        GiveBackCtx c = { .x = x, .kind = kind, .index = i, .why = why };
        const ActionTarget *t;
        bool *used, *giving = giving_back_of(x, kind, i, &used, &t);
        UndoEntry e;
        UndoStep s;
        int r;

        c.t = *t;
        if (kind == UNDO_THROTTLE)
                throttle_entry(&x->throttles.th[i], &e);
        else
                frozen_entry(&x->tables.frozen[i], &e);
        undo_step_for(&e, x->cfg.v1, &s);
        if (s.file)
                c.file_error = t->path[0] ? write_cgroup_file(x, t, s.file, s.value) : -ENOENT;
        *giving = true;
        if (!s.unit_call) {
                give_back_end(x, &c, 0, NULL);
                return;
        }
        r = bus_unit_call(x->bus, kind == UNDO_THROTTLE ? BUS_SET_MEMORY_HIGH : BUS_THAW, e.unit, e.original,
                          on_give_back, &c, sizeof(c));
        if (r < 0)
                give_back_end(x, &c, r, r == -ENOTCONN ? "the system bus is not reachable" : NULL);
}

static void warn_bad_lines(Executor *x)
{
        Record r = record_init(RECORD_WARNING);
        char msg[PATH_MAX + 200];

        if (x->undo_read_error < 0)
                snprintf(msg, sizeof(msg), "undo file in '%s' not read: %s%s", x->cfg.state_dir,
                         strerror(-x->undo_read_error),
                         x->undo_read_error == -EPROTO ? " (not a version this memwarden knows)" : "");
        else if (x->undo_n_bad > 0)
                snprintf(msg, sizeof(msg), "undo file in '%s': %u bad line%s skipped (line %u: %s)",
                         x->cfg.state_dir, x->undo_n_bad, x->undo_n_bad == 1 ? "" : "s", x->undo_bad_line,
                         x->undo_bad_error == -ENODATA  ? "cut short"
                         : x->undo_bad_error == -E2BIG  ? "too long"
                         : x->undo_bad_error == -ENOSPC ? "more entries than the tables hold"
                                                        : "malformed");
        else
                return;
        r.message = msg;
        r.error = x->undo_read_error < 0 ? x->undo_read_error : x->undo_bad_error;
        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        x->emit(&r, x->userdata);
        x->undo_read_error = 0, x->undo_n_bad = 0;
}

void executor_undo_previous(Executor *x)
{
        warn_bad_lines(x);
        for (int i = 0; i < THROTTLE_MAX; i++)
                if (x->throttles.th[i].used && x->throttles.th[i].leftover &&
                    !x->throttles.th[i].giving_back)
                        give_back(x, UNDO_THROTTLE, i, " (left by a previous run)");
        for (int i = 0; i < FROZEN_MAX; i++)
                if (x->tables.frozen[i].used && x->tables.frozen[i].leftover &&
                    !x->tables.frozen[i].giving_back)
                        give_back(x, UNDO_FREEZE, i, " (left by a previous run)");
        /* Written now: the file says what is still to be given back before anything new is added. */
        if (undo_save(x) < 0)
                undo_changed(x);
}

/* ---- shutdown ---- */

static unsigned count_used(const Executor *x, bool only_pending)
{
        unsigned n = 0;

        for (int i = 0; i < THROTTLE_MAX; i++)
                n += x->throttles.th[i].used && (!only_pending || x->throttles.th[i].giving_back);
        for (int i = 0; i < FROZEN_MAX; i++)
                n += x->tables.frozen[i].used && (!only_pending || x->tables.frozen[i].giving_back);
        return n;
}

static void stop_finish(Executor *x)
{
        ExecutorStopped done = x->stopped;
        unsigned left = count_used(x, false);
        int r;

        x->stopped = NULL;
        (void)sd_event_source_set_enabled(x->stop_timer, SD_EVENT_OFF);
        r = undo_save(x);
        if (r < 0)
                log_warning_errno(r, "Cannot update the undo file in '%s': %m", x->cfg.state_dir);
        if (done)
                done(x->stopped_userdata, left);
}

static void stop_check(Executor *x)
{
        if (x->stopping && x->stopped && count_used(x, true) == 0)
                stop_finish(x);
}

static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Executor *x = userdata;

        (void)s, (void)usec;
        if (x->stopped) {
                log_warning("%u give-backs unanswered at the shutdown deadline: they stay in the undo file.",
                            count_used(x, true));
                stop_finish(x);
        }
        return 0;
}

int executor_shutdown(Executor *x, uint64_t timeout_usec, ExecutorStopped done, void *userdata)
{
        int r;

        if (x->stopping)
                return -EALREADY;
        x->stopping = true;
        x->stopped = NULL; /* not before every give-back is under way */
        x->stopped_userdata = userdata;
        /* No write of a lower limit may land after the give-back. */
        x->writer = limit_writer_free(x->writer);
        r = sd_event_add_time_relative(x->event, &x->stop_timer, CLOCK_MONOTONIC, timeout_usec, 0,
                                       on_stop_timer, x);
        if (r >= 0)
                (void)sd_event_source_set_description(x->stop_timer, "shutdown-deadline");
        for (int i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &x->throttles.th[i];
                if (!th->used || th->giving_back)
                        continue;
                /* Whatever was in flight: the original is what is set now. */
                th->in_flight = th->restoring = true;
                th->want = th->original;
                x->queued[i] = false;
                give_back(x, UNDO_THROTTLE, i, " (at shutdown)");
        }
        for (int i = 0; i < FROZEN_MAX; i++)
                if (x->tables.frozen[i].used && !x->tables.frozen[i].giving_back)
                        give_back(x, UNDO_FREEZE, i, " (at shutdown)");
        x->stopped = done;
        if (r < 0)
                stop_finish(x); /* no timer: nobody would end the wait */
        else
                stop_check(x);
        return 0;
}
