/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stddef.h>

/* Start a worker thread with stack_size bytes of stack and every signal
 * blocked on it (signals are the loop's, through signalfd; a worker that
 * needs one unblocks it itself), named name (at most 15 bytes) if not NULL.
 * The caller's signal mask is left as it was. Returns 0 or -errno. */
int thread_start(pthread_t *ret, size_t stack_size, const char *name, void *(*main)(void *), void *arg);
