/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* memory.high writes off the loop. A lower memory.high makes the writer
 * reclaim (before Linux 6.16, which skips it for O_NONBLOCK opens), so the
 * write runs on a thread started at launch; the loop bounds each write at
 * LIMIT_WRITE_BOUND_USEC by interrupting the thread's reclaim with SIGUSR2
 * (the kernel sets the limit before it reclaims, so the limit holds). One
 * write at a time. */

#define LIMIT_WRITE_BOUND_USEC (5 * 1000000ULL)

typedef struct LimitWriter LimitWriter;
typedef void (*LimitWriterDone)(void *userdata, uint64_t token, int error);

int limit_writer_new(sd_event *event, int root_fd, LimitWriterDone done, void *userdata, LimitWriter **ret);
/* Stops the thread (interrupting a write in reclaim), within about
 * LIMIT_WRITER_STOP_TRIES * 10 ms: once it returns no write lands any more
 * (a thread that would not stop is left running, detached, and w with it). */
#define LIMIT_WRITER_STOP_TRIES 100
LimitWriter *limit_writer_free(LimitWriter *w);
bool limit_writer_busy(const LimitWriter *w);
/* Write value (UINT64_MAX: "max") to rel (relative to root_fd); done gets
 * token. -EBUSY while a write is in flight. */
int limit_writer_submit(LimitWriter *w, const char *rel, uint64_t value, uint64_t token);
