/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "memevents.h"

/* Coalescing of memory_events records on their way out (the engine sees
 * every notification; this only decides what is written). The first
 * notification of a cgroup is written at once; those that follow within the
 * interval are summed, and one summary per interval carries the sums and how
 * many notifications they hold. Nothing is lost: the sum of the written deltas
 * is the sum of the notified ones. A fixed table, allocated at init: no
 * allocation per event; a cgroup that finds it full is written uncoalesced. */

#define COALESCE_MAX_DEFAULT 1024

typedef struct CoalesceEntry {
        uint32_t slot, serial;    /* the cgroup (cgroup.h) */
        uint64_t window_end_usec; /* its summary is due then; a record may go at once after it */
        uint64_t count;           /* notifications held since the last record */
        uint64_t current;         /* memory.current with the last one held */
        bool has_local;
        MemEventsDelta delta, delta_local;
} CoalesceEntry;

typedef struct Coalescer {
        uint64_t interval_usec; /* 0: off, every notification written */
        CoalesceEntry *entries; /* [0, n_entries) in use */
        unsigned n_entries, n_max;
        uint64_t n_coalesced; /* notifications that went into a summary */
        uint64_t n_summaries;
        uint64_t n_untracked; /* written at once: the table was full */
} Coalescer;

typedef struct CoalesceEvent {
        uint32_t slot, serial;
        const MemEventsDelta *delta, *delta_local; /* delta_local may be NULL (v1) */
        uint64_t current;
} CoalesceEvent;

typedef enum CoalesceVerdict {
        COALESCE_WRITE,   /* write the notification's own record now */
        COALESCE_HOLD,    /* summed into the pending summary */
        COALESCE_SUMMARY, /* write *ret instead: the late summary, this notification included */
        _COALESCE_VERDICT_MAX,
        _COALESCE_VERDICT_INVALID = -22,
} CoalesceVerdict;

/* n_max 0: COALESCE_MAX_DEFAULT. 0 or -ENOMEM. */
int coalesce_init(Coalescer *c, uint64_t interval_usec, unsigned n_max);
void coalesce_done(Coalescer *c);

CoalesceVerdict coalesce_event(Coalescer *c, const CoalesceEvent *ev, uint64_t now_usec, CoalesceEntry *ret);

/* When the next summary is due (0: none pending; no timer needed). */
uint64_t coalesce_next_usec(const Coalescer *c);

/* One summary due at now into *ret, true; false when none is left. Call
 * until false. UINT64_MAX as now flushes everything (at exit). */
bool coalesce_due(Coalescer *c, uint64_t now_usec, CoalesceEntry *ret);

/* The cgroup is going: forget it; true with its pending summary in *ret. */
bool coalesce_take(Coalescer *c, uint32_t slot, uint32_t serial, CoalesceEntry *ret);
