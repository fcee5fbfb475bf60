/* SPDX-License-Identifier: MIT */
#include "sinks.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include "fs-util.h"
#include "journal-native.h"
#include "log.h"
#include "macro.h"

/* Fixed MESSAGE_ID per record type, so journalctl MESSAGE_ID=... finds them. */
#define MW_MESSAGE_ID "6d656d7761726465e0000000000000"

/* A drop is told at most this late: at exit, the queue gets this long. */
#define CLOSE_DRAIN_USEC (1 * USEC_PER_SEC)

static void set_now(Record *r)
{
        r->mono_usec = now_usec(CLOCK_MONOTONIC);
        r->real_usec = now_usec(CLOCK_REALTIME);
}

/* The warning that goes ahead of the first line after a drop. */
static Record dropped_record(const Sink *k)
{
        Record m = record_init(RECORD_WARNING);

        set_now(&m);
        m.message = "records dropped: the output did not keep up";
        m.dropped = k->n_unreported;
        m.sink = k->name;
        return m;
}

static void count_drop(Sink *k, uint64_t n)
{
        k->n_dropped += n;
        k->n_unreported += n;
}

/* ---- stdout or a file ---- */

static int write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* A regular file cannot say EAGAIN: written in full, as ever (a failed
 * write, ENOSPC say, is a drop, told with the next line that goes). */
static void fd_write(Sinks *s, Sink *k, const Record *r, SinkKind kind, const char *buf, size_t len)
{
        (void)r, (void)kind;
        if (k->n_unreported > 0) {
                Record m = dropped_record(k);
                size_t mlen;
                if (record_format_json(&m, s->marker, sizeof(s->marker), &mlen) >= 0 &&
                    write_all(k->fd, s->marker, mlen) < 0) {
                        k->n_errors++;
                        count_drop(k, 1);
                        return;
                }
        }
        if (write_all(k->fd, buf, len) < 0) {
                k->n_errors++;
                count_drop(k, 1);
                return;
        }
        k->n_written++;
        k->n_unreported = 0;
}

static void output_wants_write(Sink *k)
{
        if (k->io && !outq_empty(&k->q))
                (void)sd_event_source_set_enabled(k->io, SD_EVENT_ON);
}

/* The fd failed for good (the reader went away): what waits is lost. */
static void output_failed(Sink *k)
{
        k->n_errors++;
        count_drop(k, outq_discard(&k->q));
}

/* Queue what writev did not take, skipping the first `done` bytes. */
static void queue_rest(Sink *k, const struct iovec *iov, unsigned n_iov, size_t done)
{
        for (unsigned i = 0; i < n_iov; i++) {
                size_t skip = done < iov[i].iov_len ? done : iov[i].iov_len;
                done -= skip;
                /* Fits: checked by the caller, or the queue was empty (and holds many records). */
                (void)outq_push(&k->q, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip);
        }
}

/* A pipe, tty or socket: never wait for the reader. */
static void fdq_write(Sinks *s, Sink *k, const Record *r, SinkKind kind, const char *json, size_t len)
{
        size_t reserve = kind & SINK_KIND_DECISION ? 0 : k->q.size / 4, total = len;
        struct iovec iov[2];
        unsigned n_iov = 0;
        ssize_t n;

        (void)r;
        if (k->n_unreported > 0) {
                Record m = dropped_record(k);
                size_t mlen = 0;
                if (record_format_json(&m, s->marker, sizeof(s->marker), &mlen) >= 0) {
                        iov[n_iov++] = (struct iovec){ s->marker, mlen };
                        total += mlen;
                }
        }
        iov[n_iov++] = (struct iovec){ (void *)json, len };
        if (!outq_empty(&k->q)) {
                /* Behind what waits, in order, or not at all. */
                if (outq_room(&k->q, reserve) < total) {
                        count_drop(k, 1);
                        return;
                }
                queue_rest(k, iov, n_iov, 0);
        } else {
                do
                        n = writev(k->fd, iov, (int)n_iov);
                while (n < 0 && errno == EINTR);
                if (n < 0 && errno != EAGAIN) {
                        k->n_errors++;
                        count_drop(k, 1);
                        return;
                }
                queue_rest(k, iov, n_iov, n < 0 ? 0 : (size_t)n);
        }
        k->n_written++;
        k->n_unreported = 0;
        output_wants_write(k);
}

static int on_output_writable(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Sink *k = userdata;
        ssize_t n;

        (void)fd, (void)revents;
        n = outq_write(&k->q, k->fd);
        if (n < 0 && n != -EAGAIN)
                output_failed(k);
        if (outq_empty(&k->q))
                (void)sd_event_source_set_enabled(src, SD_EVENT_OFF);
        return 0;
}

/* At exit: give a slow reader a moment, not forever. */
static void output_drain_at_close(Sink *k)
{
        uint64_t end = now_usec(CLOCK_MONOTONIC) + CLOSE_DRAIN_USEC, now;

        while (!outq_empty(&k->q) && (now = now_usec(CLOCK_MONOTONIC)) < end) {
                struct pollfd p = { .fd = k->fd, .events = POLLOUT };
                if (poll(&p, 1, (int)((end - now) / USEC_PER_MSEC) + 1) <= 0)
                        break;
                ssize_t n = outq_write(&k->q, k->fd);
                if (n < 0 && n != -EAGAIN) {
                        output_failed(k);
                        break;
                }
        }
        count_drop(k, outq_discard(&k->q));
}

static void fd_close(Sinks *s, Sink *k)
{
        (void)s;
        if (k->queued)
                output_drain_at_close(k);
        if (k->restore_blocking) {
                int flags = fcntl(k->fd, F_GETFL);
                if (flags >= 0)
                        (void)fcntl(k->fd, F_SETFL, flags & ~O_NONBLOCK);
        }
        k->io = sd_event_source_disable_unref(k->io);
        if (k->fd > STDERR_FILENO)
                close(k->fd);
        k->fd = -1;
        outq_done(&k->q);
}

/* stdout is shared with whoever started us (a shell's tty): a description of
 * our own, from /proc, gets O_NONBLOCK; failing that (a socket), stdout's
 * own, given back at close. */
static int stdout_nonblocking(Sink *k)
{
        int fd, flags;

        fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                k->fd = fd;
                return 0;
        }
        flags = fcntl(k->fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if (!(flags & O_NONBLOCK)) {
                if (fcntl(k->fd, F_SETFL, flags | O_NONBLOCK) < 0)
                        return -errno;
                k->restore_blocking = true;
        }
        return 0;
}

/* Regular files are written as they are; anything else non-blocking, with
 * the queue. */
static int output_fd_setup(Sinks *s, Sink *k, bool is_stdout)
{
        size_t size = s->cfg.queue_size ? s->cfg.queue_size : SINKS_QUEUE_SIZE_DEFAULT;
        struct stat st;
        int r;

        if (fstat(k->fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
                return 0;
        r = is_stdout ? stdout_nonblocking(k) : 0;
        if (r < 0)
                return r;
        r = outq_init(&k->q, size < SINKS_QUEUE_SIZE_MIN ? SINKS_QUEUE_SIZE_MIN : size);
        if (r < 0)
                return r;
        k->queued = true;
        k->write = fdq_write;
        return 0;
}

/* ---- the journal, over its native protocol ---- */

static int journal_send(Sinks *s, Sink *k, const Record *r, const char *json, size_t len)
{
        const char *type = record_type_to_string(r->type), *path = r->path ? r->path : "";
        int prio = r->type == RECORD_WARNING         ? LOG_WARNING
                   : r->type == RECORD_MEMORY_EVENTS ? LOG_NOTICE
                                                     : LOG_INFO;
        char id[40], p[4];
        int t = snprintf(s->text, sizeof(s->text), "%s %s%s%s", type, r->path ? r->path : "-",
                         r->message ? ": " : "", r->message ? r->message : "");
        size_t tlen = t < 0 ? 0 : (size_t)t >= sizeof(s->text) ? sizeof(s->text) - 1 : (size_t)t;
        JournalField f[] = {
                { "MESSAGE=", s->text, tlen },
                { "PRIORITY=", p, (size_t)snprintf(p, sizeof(p), "%d", prio) },
                { "MESSAGE_ID=", id,
                  (size_t)snprintf(id, sizeof(id), MW_MESSAGE_ID "%02x", (unsigned)r->type) },
                { "MEMWARDEN_EVENT=", type, strlen(type) },
                { "MEMWARDEN_CGROUP=", path, strlen(path) },
                { "MEMWARDEN_JSON=", json, len > 0 ? len - 1 : 0 }, /* without the line's '\n' */
        };
        JournalSocket j = { .fd = k->fd, .addr = s->journal_addr, .addr_len = s->journal_addr_len };

        return journal_send_fields(&j, f, ELEMENTSOF(f));
}

/* One datagram per record; journald full (EAGAIN) or away: dropped, counted. */
static void journal_write(Sinks *s, Sink *k, const Record *r, SinkKind kind, const char *json, size_t len)
{
        int e;

        (void)kind;
        if (k->n_unreported > 0) {
                Record m = dropped_record(k);
                size_t mlen;
                if (record_format_json(&m, s->marker, sizeof(s->marker), &mlen) >= 0) {
                        e = journal_send(s, k, &m, s->marker, mlen);
                        if (e < 0) {
                                k->n_errors += e != -EAGAIN;
                                count_drop(k, 1);
                                return;
                        }
                        k->n_unreported = 0;
                }
        }
        e = journal_send(s, k, r, json, len);
        if (e < 0) {
                k->n_errors += e != -EAGAIN;
                count_drop(k, 1);
                return;
        }
        k->n_written++;
}

static int journal_open(Sinks *s, Sink *k)
{
        JournalSocket j;
        int r = journal_socket_open(&j, s->cfg.journal_socket);

        if (r < 0)
                return r;
        k->fd = j.fd;
        s->journal_addr = j.addr;
        s->journal_addr_len = j.addr_len;
        return 0;
}

static void plain_close(Sinks *s, Sink *k)
{
        (void)s;
        k->fd = safe_close(k->fd);
}

/* ---- the event log ---- */

static int event_log_open(Sinks *s, Sink *k)
{
        struct stat st;

        k->fd = safe_close(k->fd);
        k->fd = open(s->cfg.event_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (k->fd < 0)
                return -errno;
        s->log.size = fstat(k->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        return 0;
}

/* FILE -> FILE.1 -> ... -> FILE.N, the oldest dropped; with N = 0 FILE is
 * emptied. A missing FILE.i is normal (a young log). */
static void event_log_rotate(Sinks *s, Sink *k)
{
        char from[4200], to[4200];
        uint64_t size;
        int r;

        for (unsigned i = s->cfg.event_log_keep; i > 0; i--)
                if (eventlog_rotation_name(s->cfg.event_log, i, to, sizeof(to)) >= 0 &&
                    eventlog_rotation_name(s->cfg.event_log, i - 1, from, sizeof(from)) >= 0)
                        (void)rename(from, to);
        if (s->cfg.event_log_keep == 0)
                (void)truncate(s->cfg.event_log, 0);
        r = event_log_open(s, k);
        size = s->log.size; /* not 0 if a rename failed */
        eventlog_rotated(&s->log, r >= 0);
        if (r >= 0)
                s->log.size = size;
}

static ssize_t write_once(int fd, const char *buf, size_t len)
{
        ssize_t n;

        do
                n = write(fd, buf, len);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

/* One write(2) per line; see eventlog.h for what a short one leads to. */
static void event_log_write(Sinks *s, Sink *k, const Record *r, SinkKind kind, const char *json, size_t len)
{
        (void)r, (void)kind;
        if (k->fd >= 0 && eventlog_next_step(&s->log, len) == EVENTLOG_ROTATE)
                event_log_rotate(s, k);
        if (k->fd < 0) {
                s->log.n_dropped++;
                return;
        }
        if (eventlog_needs_terminator(&s->log) && !eventlog_terminated(&s->log, write_once(k->fd, "\n", 1)))
                return;
        if (eventlog_written(&s->log, len, write_once(k->fd, json, len)))
                eventlog_truncated(&s->log, ftruncate(k->fd, (off_t)s->log.size) == 0);
        k->n_errors = s->log.n_errors;
}

/* ---- the set ---- */

static int open_output(Sinks *s, const SinksConfig *cfg)
{
        Sink *k = &s->sinks[s->n_sinks];
        int r = 0;

        if (cfg->output == OUTPUT_NONE)
                return 0;
        *k = (Sink){ .accepts = SINK_KIND_OBSERVATION | SINK_KIND_DECISION,
                     .skip_quiet = true,
                     .needs_json = true,
                     .fd = -1 };
        if (cfg->output == OUTPUT_JOURNAL) {
                k->name = "journal";
                k->write = journal_write;
                k->close = plain_close;
                r = journal_open(s, k);
                if (r < 0)
                        return log_error_errno(r, "Failed to open a socket for the journal: %m");
        } else if (cfg->output == OUTPUT_FILE) {
                k->name = "file";
                k->write = fd_write;
                k->close = fd_close;
                /* O_NONBLOCK: a FIFO without a reader fails here rather than hang us. */
                k->fd = open(cfg->output_path,
                             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
                if (k->fd < 0)
                        return log_error_errno(-errno, "Failed to open output file '%s': %m",
                                               cfg->output_path);
                r = output_fd_setup(s, k, false);
        } else {
                k->name = "stdout";
                k->write = fd_write;
                k->close = fd_close;
                k->fd = STDOUT_FILENO;
                r = output_fd_setup(s, k, true);
        }
        s->n_sinks++; /* closed by sinks_close, even on failure */
        if (r < 0)
                return log_error_errno(r, "Failed to set up the %s output: %m", k->name);
        return 0;
}

static void open_event_log(Sinks *s, const SinksConfig *cfg)
{
        Sink *k = &s->sinks[s->n_sinks];
        int r;

        if (!cfg->event_log)
                return;
        *k = (Sink){ .name = "event-log",
                     .accepts = SINK_KIND_DECISION,
                     .needs_json = true,
                     .write = event_log_write,
                     .close = plain_close,
                     .fd = -1 };
        eventlog_init(&s->log, cfg->event_log_max, cfg->event_log_keep, 0);
        (void)mkdir_parents(cfg->event_log, 0750);
        r = event_log_open(s, k);
        if (r < 0)
                log_warning_errno(r, "Cannot open the event log '%s', continuing without: %m",
                                  cfg->event_log);
        /* Kept without an fd: its lines count as dropped, status shows it. */
        s->n_sinks++;
}

int sinks_open(Sinks *s, const SinksConfig *cfg)
{
        int r;

        *s = (Sinks){ .cfg = *cfg };
        r = coalesce_init(&s->co, cfg->coalesce_usec, cfg->coalesce_max);
        if (r < 0)
                return log_error_errno(r, "Cannot set up output coalescing: %m");
        r = open_output(s, cfg);
        if (r < 0)
                return r;
        open_event_log(s, cfg);
        return 0;
}

static Sink *output_sink(const Sinks *s)
{
        for (unsigned i = 0; i < s->n_sinks; i++)
                if (s->sinks[i].accepts & SINK_KIND_OBSERVATION)
                        return (Sink *)&s->sinks[i];
        return NULL;
}

int sinks_attach_event(Sinks *s, sd_event *e, SinksLookup lookup, void *userdata)
{
        Sink *k = output_sink(s);
        int r;

        s->event = e;
        s->lookup = lookup;
        s->lookup_userdata = userdata;
        if (!k || !k->queued || k->io)
                return 0;
        r = sd_event_add_io(e, &k->io, k->fd, EPOLLOUT, on_output_writable, k);
        if (r == -EPERM) {
                /* Not pollable (/dev/null): it cannot say EAGAIN either. */
                k->queued = false;
                k->write = fd_write;
                count_drop(k, outq_discard(&k->q));
                outq_done(&k->q);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to watch the %s output: %m", k->name);
        (void)sd_event_source_set_description(k->io, "output-queue");
        (void)sd_event_source_set_enabled(k->io, outq_empty(&k->q) ? SD_EVENT_OFF : SD_EVENT_ON);
        return 0;
}

void sinks_close(Sinks *s)
{
        for (unsigned i = 0; i < s->n_sinks; i++)
                if (s->sinks[i].close)
                        s->sinks[i].close(s, &s->sinks[i]);
        s->n_sinks = 0;
        s->coalesce_timer = sd_event_source_disable_unref(s->coalesce_timer);
        coalesce_done(&s->co);
        s->event = NULL;
}

/* A record that does not fit goes as a warning naming it, its path cut if
 * need be: never lost without a word. Returns the record formatted into
 * s->buf (r or *alt), or NULL. */
static const Record *format(Sinks *s, const Record *r, Record *alt, size_t *ret_len)
{
        if (record_format_json(r, s->buf, sizeof(s->buf), ret_len) >= 0)
                return r;
        s->n_too_large++;
        *alt = record_init(RECORD_WARNING);
        alt->mono_usec = r->mono_usec;
        alt->real_usec = r->real_usec;
        alt->cgroup = r->cgroup;
        alt->path = r->path;
        alt->message = "record too long for the output buffer (16 KiB): this warning stands for it";
        alt->error = -EMSGSIZE;
        alt->too_long = record_type_to_string(r->type);
        if (record_format_json(alt, s->buf, sizeof(s->buf), ret_len) >= 0)
                return alt;
        if (r->path) {
                /* Its path escaped (\udcXX per byte) can be 24 KiB: cut, marked. */
                snprintf(s->cut_path, sizeof(s->cut_path), "%.1024s...(cut)", r->path);
                alt->path = s->cut_path;
                alt->cgroup = NULL;
                if (record_format_json(alt, s->buf, sizeof(s->buf), ret_len) >= 0)
                        return alt;
        }
        s->n_lost++;
        return NULL;
}

static void write_out(Sinks *s, const Record *r, SinkKind kind)
{
        const Record *f = r;
        bool formatted = false;
        Record alt;
        size_t len = 0;

        for (unsigned i = 0; i < s->n_sinks; i++) {
                Sink *k = &s->sinks[i];
                if (!(k->accepts & kind) || (k->skip_quiet && r->quiet))
                        continue;
                if (k->needs_json && !formatted) {
                        f = format(s, r, &alt, &len);
                        if (!f)
                                return;
                        formatted = true;
                }
                k->write(s, k, f, kind, s->buf, len);
        }
}

/* ---- coalescing ---- */

static void write_summary(Sinks *s, const Cgroup *c, const char *path, const CoalesceEntry *e)
{
        Record r = record_init(RECORD_MEMORY_EVENTS);

        set_now(&r);
        r.cgroup = c;
        r.path = path;
        r.delta = &e->delta;
        r.delta_local = e->has_local ? &e->delta_local : NULL;
        r.current = e->current;
        r.coalesced = e->count;
        write_out(s, &r, SINK_KIND_OBSERVATION);
}

static int on_coalesce_timer(sd_event_source *src, uint64_t usec, void *userdata);

/* One timer for every cgroup, armed only while a summary is pending. */
static void arm_coalesce_timer(Sinks *s)
{
        uint64_t next = coalesce_next_usec(&s->co), when;
        int enabled = SD_EVENT_OFF;

        if (!s->event)
                return;
        if (next == 0) {
                if (s->coalesce_timer)
                        (void)sd_event_source_set_enabled(s->coalesce_timer, SD_EVENT_OFF);
                return;
        }
        if (!s->coalesce_timer) {
                if (sd_event_add_time(s->event, &s->coalesce_timer, CLOCK_MONOTONIC, next,
                                      10 * USEC_PER_MSEC, on_coalesce_timer, s) < 0)
                        return; /* summaries go with the cgroup's next notification */
                (void)sd_event_source_set_description(s->coalesce_timer, "output-coalesce");
        } else if (sd_event_source_get_enabled(s->coalesce_timer, &enabled) >= 0 &&
                   enabled != SD_EVENT_OFF && sd_event_source_get_time(s->coalesce_timer, &when) >= 0 &&
                   when <= next)
                return;
        else
                (void)sd_event_source_set_time(s->coalesce_timer, next);
        (void)sd_event_source_set_enabled(s->coalesce_timer, SD_EVENT_ONESHOT);
}

void sinks_flush_summaries(Sinks *s, uint64_t now)
{
        CoalesceEntry e;

        while (coalesce_due(&s->co, now, &e)) {
                const Cgroup *c = s->lookup ? s->lookup(s->lookup_userdata, e.slot, e.serial) : NULL;
                if (!c || cgroup_path(c, s->path, sizeof(s->path)) < 0) {
                        /* Gone without a cgroup_removed (a rescan drops silently): say so. */
                        Record w = record_init(RECORD_WARNING);
                        set_now(&w);
                        w.message =
                                "a coalesced memory_events summary is lost: its cgroup went during a rescan";
                        w.coalesced = e.count;
                        s->n_coalesce_lost++;
                        write_out(s, &w, SINK_KIND_OBSERVATION);
                        continue;
                }
                write_summary(s, c, s->path, &e);
        }
}

static int on_coalesce_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        Sinks *s = userdata;

        (void)src;
        sinks_flush_summaries(s, usec > now_usec(CLOCK_MONOTONIC) ? usec : now_usec(CLOCK_MONOTONIC));
        arm_coalesce_timer(s);
        return 0;
}

/* memory_events: true if coalescing took the record (held, or written as a summary). */
static bool coalesce_record(Sinks *s, const Record *r)
{
        CoalesceEntry e;
        CoalesceVerdict v;

        if (r->type == RECORD_CGROUP_REMOVED && r->cgroup &&
            coalesce_take(&s->co, r->cgroup->slot, r->cgroup->serial, &e))
                write_summary(s, r->cgroup, r->path, &e); /* before the record of its removal */
        if (r->type != RECORD_MEMORY_EVENTS || !r->cgroup || !r->delta || r->quiet)
                return false;
        v = coalesce_event(&s->co,
                           &(CoalesceEvent){ .slot = r->cgroup->slot,
                                             .serial = r->cgroup->serial,
                                             .delta = r->delta,
                                             .delta_local = r->delta_local,
                                             .current = r->current },
                           r->mono_usec ? r->mono_usec : now_usec(CLOCK_MONOTONIC), &e);
        if (v == COALESCE_SUMMARY)
                write_summary(s, r->cgroup, r->path, &e);
        if (v != COALESCE_WRITE)
                arm_coalesce_timer(s);
        return v != COALESCE_WRITE;
}

void sinks_write(Sinks *s, const Record *r, SinkKind kind)
{
        if ((kind & SINK_KIND_OBSERVATION) && coalesce_record(s, r))
                return;
        write_out(s, r, kind);
}

size_t sinks_drain(Sinks *s)
{
        Sink *k = output_sink(s);

        if (!k || !k->queued)
                return 0;
        ssize_t n = outq_write(&k->q, k->fd);
        if (n < 0 && n != -EAGAIN)
                output_failed(k);
        return k->q.len;
}

void sinks_get_stats(const Sinks *s, SinksStats *ret)
{
        const Sink *k = output_sink(s);

        *ret = (SinksStats){
                .coalesced = s->co.n_coalesced,
                .summaries = s->co.n_summaries,
                .coalesce_untracked = s->co.n_untracked,
                .coalesce_lost = s->n_coalesce_lost,
                .too_long = s->n_too_large,
                .event_log_errors = sinks_event_log_errors(s),
                .event_log_dropped = s->cfg.event_log ? s->log.n_dropped : 0,
        };
        if (!k)
                return;
        ret->output = k->name;
        ret->written = k->n_written;
        ret->dropped = k->n_dropped;
        ret->errors = k->n_errors;
        ret->queued_bytes = k->q.len;
        ret->queue_high_water = k->q.high_water;
        ret->queue_size = k->q.size;
}

uint64_t sinks_output_errors(const Sinks *s)
{
        const Sink *k = output_sink(s);

        return k ? k->n_errors : 0;
}

uint64_t sinks_event_log_errors(const Sinks *s)
{
        return s->cfg.event_log ? s->log.n_errors : 0;
}
