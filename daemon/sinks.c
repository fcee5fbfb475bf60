/* SPDX-License-Identifier: MIT */
#include "sinks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "macro.h"

/* Fixed MESSAGE_ID per record type, so journalctl MESSAGE_ID=... finds them. */
#define MW_MESSAGE_ID "6d656d7761726465e0000000000000"

/* ---- stdout or a file ---- */

static void fd_write(Sinks *s, Sink *k, const Record *r, const char *buf, size_t len)
{
        (void)s, (void)r;
        while (len > 0) {
                ssize_t n = write(k->fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        k->n_errors++;
                        return;
                }
                buf += n;
                len -= (size_t)n;
        }
}

static void fd_close(Sinks *s, Sink *k)
{
        (void)s;
        if (k->fd > STDERR_FILENO)
                close(k->fd);
        k->fd = -1;
}

/* ---- the journal ---- */

static void journal_write(Sinks *s, Sink *k, const Record *r, const char *json, size_t len)
{
        const char *type = record_type_to_string(r->type);
        int prio = r->type == RECORD_WARNING         ? LOG_WARNING
                   : r->type == RECORD_MEMORY_EVENTS ? LOG_NOTICE
                                                     : LOG_INFO;
        char id[40];

        (void)s;
        snprintf(id, sizeof(id), MW_MESSAGE_ID "%02x", (unsigned)r->type);
        if (sd_journal_send("MESSAGE=%s %s%s%s", type, r->path ? r->path : "-", r->message ? ": " : "",
                            r->message ? r->message : "", "PRIORITY=%d", prio, "MESSAGE_ID=%s", id,
                            "MEMWARDEN_EVENT=%s", type, "MEMWARDEN_CGROUP=%s", r->path ? r->path : "",
                            "MEMWARDEN_JSON=%.*s", (int)(len > 0 ? len - 1 : 0), json, NULL) < 0)
                k->n_errors++;
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
static void event_log_write(Sinks *s, Sink *k, const Record *r, const char *json, size_t len)
{
        (void)r;
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

        if (cfg->output == OUTPUT_NONE)
                return 0;
        *k = (Sink){ .accepts = SINK_KIND_OBSERVATION | SINK_KIND_DECISION,
                     .skip_quiet = true,
                     .needs_json = true,
                     .fd = -1 };
        if (cfg->output == OUTPUT_JOURNAL) {
                k->name = "journal";
                k->write = journal_write;
        } else if (cfg->output == OUTPUT_FILE) {
                k->name = "file";
                k->write = fd_write;
                k->close = fd_close;
                k->fd = open(cfg->output_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
                if (k->fd < 0)
                        return log_error_errno(-errno, "Failed to open output file '%s': %m",
                                               cfg->output_path);
        } else {
                k->name = "stdout";
                k->write = fd_write;
                k->fd = STDOUT_FILENO;
        }
        s->n_sinks++;
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
                     .close = fd_close,
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
        r = open_output(s, cfg);
        if (r < 0)
                return r;
        open_event_log(s, cfg);
        return 0;
}

void sinks_close(Sinks *s)
{
        for (unsigned i = 0; i < s->n_sinks; i++)
                if (s->sinks[i].close)
                        s->sinks[i].close(s, &s->sinks[i]);
        s->n_sinks = 0;
}

void sinks_write(Sinks *s, const Record *r, SinkKind kind)
{
        bool formatted = false;
        size_t len = 0;

        for (unsigned i = 0; i < s->n_sinks; i++) {
                Sink *k = &s->sinks[i];
                if (!(k->accepts & kind) || (k->skip_quiet && r->quiet))
                        continue;
                if (k->needs_json && !formatted) {
                        if (record_format_json(r, s->buf, sizeof(s->buf), &len) < 0) {
                                s->n_too_large++;
                                log_warning("Record about '%s' too large for the record buffer, dropped",
                                            r->path ? r->path : "-");
                                return;
                        }
                        formatted = true;
                }
                k->write(s, k, r, s->buf, len);
        }
}

uint64_t sinks_output_errors(const Sinks *s)
{
        for (unsigned i = 0; i < s->n_sinks; i++)
                if (s->sinks[i].accepts & SINK_KIND_OBSERVATION)
                        return s->sinks[i].n_errors;
        return 0;
}

uint64_t sinks_event_log_errors(const Sinks *s)
{
        return s->cfg.event_log ? s->log.n_errors : 0;
}
