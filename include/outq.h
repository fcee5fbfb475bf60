/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A byte ring for an output that is not ready (a pipe whose reader lags):
 * whole lines go in, bytes come out in order with writev(2) on a
 * non-blocking fd. Allocated (and faulted in) once; never grows. */

typedef struct OutQueue {
        char *buf;
        size_t size, head, len; /* the bytes queued: [head, head + len) modulo size */
        size_t high_water;      /* the most ever queued */
} OutQueue;

/* 0 or -ENOMEM, -EINVAL (size 0). */
int outq_init(OutQueue *q, size_t size);
void outq_done(OutQueue *q);

static inline bool outq_empty(const OutQueue *q)
{
        return q->len == 0;
}

/* Free bytes, less `reserve` (held back for other lines): 0 if below. */
size_t outq_room(const OutQueue *q, size_t reserve);

/* Append n bytes: 0, or -ENOBUFS (nothing appended) if they do not fit. */
int outq_push(OutQueue *q, const void *p, size_t n);

/* Write what is queued to fd (retrying EINTR): the bytes written (the queue
 * empty or the fd full), or -errno; -EAGAIN when the fd took nothing. */
ssize_t outq_write(OutQueue *q, int fd);

/* Drop everything queued (the fd failed); returns the lines dropped,
 * counting a partly written one. */
uint64_t outq_discard(OutQueue *q);
