/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The event log's bookkeeping: when to rotate (FILE -> FILE.1 -> ... ->
 * FILE.N, the oldest dropped) and what to do after a write that did not
 * finish, as pure code. The daemon does the writes (daemon/sinks.c).
 *
 * A line is written with one write(2). A short write (ENOSPC, a signal, a
 * quota) leaves a partial line, which the next line must never be glued to:
 * the daemon truncates the file back to the last line's end, and when that
 * fails too, ends the partial line with a newline before the next one (one
 * unparsable line instead of two), or drops the next line if even that
 * cannot be written. Every such case counts as an error. */

typedef struct EventLog {
        uint64_t max_bytes; /* rotate when appending would pass it */
        unsigned keep;      /* rotated files kept; 0: the file is truncated instead */
        uint64_t size;      /* the file's size, at a line's end unless partial */
        bool partial;       /* a partial line ends the file: terminate it before the next */
        uint64_t n_errors;  /* failed or short writes, failed rotations */
        uint64_t n_dropped; /* lines not written */
        uint64_t n_rotations;
} EventLog;

typedef enum EventLogStep {
        EVENTLOG_APPEND,
        EVENTLOG_ROTATE, /* rotate (or truncate) first, then append */
        _EVENTLOG_STEP_MAX,
        _EVENTLOG_STEP_INVALID = -22,
} EventLogStep;

void eventlog_init(EventLog *l, uint64_t max_bytes, unsigned keep, uint64_t size);

/* Before appending a line of len bytes. A file with nothing in it is never
 * rotated, even for a line larger than max_bytes. */
EventLogStep eventlog_next_step(const EventLog *l, size_t len);

/* Name i of the rotation: 0 is path itself, i >= 1 "path.i". 0 or -ENAMETOOLONG. */
int eventlog_rotation_name(const char *path, unsigned i, char *buf, size_t size);

/* After a rotation: ok, the file is new (size 0); or it failed (counted; the
 * current file goes on growing). */
void eventlog_rotated(EventLog *l, bool ok);

/* Whether a newline must go out before the next line (a partial line that
 * could not be truncated away). */
bool eventlog_needs_terminator(const EventLog *l);
/* The terminator's write: n bytes written (1 on success) or -errno. false:
 * drop the line (counted). */
bool eventlog_terminated(EventLog *l, ssize_t n);

/* The line's write(2): n bytes written of len, or -errno. true when a
 * partial line was left: truncate the file to l->size, then call
 * eventlog_truncated(). */
bool eventlog_written(EventLog *l, size_t len, ssize_t n);
void eventlog_truncated(EventLog *l, bool ok);
