/* SPDX-License-Identifier: MIT */
#include "eventlog.h"

#include <errno.h>
#include <stdio.h>

void eventlog_init(EventLog *l, uint64_t max_bytes, unsigned keep, uint64_t size)
{
        *l = (EventLog){ .max_bytes = max_bytes, .keep = keep, .size = size };
}

EventLogStep eventlog_next_step(const EventLog *l, size_t len)
{
        if (l->size == 0)
                return EVENTLOG_APPEND;
        /* The terminator of a partial line counts too. */
        if (l->size + len + (l->partial ? 1 : 0) > l->max_bytes)
                return EVENTLOG_ROTATE;
        return EVENTLOG_APPEND;
}

int eventlog_rotation_name(const char *path, unsigned i, char *buf, size_t size)
{
        int n = i == 0 ? snprintf(buf, size, "%s", path) : snprintf(buf, size, "%s.%u", path, i);

        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void eventlog_rotated(EventLog *l, bool ok)
{
        if (!ok) {
                l->n_errors++;
                return;
        }
        l->n_rotations++;
        l->size = 0;
        l->partial = false; /* it went with the old file */
}

bool eventlog_needs_terminator(const EventLog *l)
{
        return l->partial;
}

bool eventlog_terminated(EventLog *l, ssize_t n)
{
        if (n == 1) {
                l->size++;
                l->partial = false;
                return true;
        }
        l->n_errors++;
        l->n_dropped++;
        return false;
}

bool eventlog_written(EventLog *l, size_t len, ssize_t n)
{
        if (n >= 0 && (size_t)n == len) {
                l->size += len;
                return false;
        }
        l->n_errors++;
        l->n_dropped++;
        if (n <= 0)
                return false; /* nothing of it reached the file */
        l->partial = true;
        return true;
}

void eventlog_truncated(EventLog *l, bool ok)
{
        /* Not ok: the partial bytes stay; size is still the last line's end,
         * so the rotation check is off by at most one line. */
        if (ok)
                l->partial = false;
}
