/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* inotify watch descriptor -> (cgroup slot, which watch), 8 bytes an entry. Open addressing with
 * linear probing and backward-shift deletion; grows (on cgroup appearance
 * only) to keep the load under 1/2, so a lookup is one or two probes. */

typedef enum WdKind {
        WD_DIR,
        WD_EVENTS,
        WD_CGEVENTS,
} WdKind;

typedef struct WdEntry {
        int32_t wd; /* -1: empty */
        uint32_t slot : 30;
        uint32_t kind : 2; /* WdKind */
} WdEntry;

typedef struct WdMap {
        WdEntry *entries;
        size_t capacity; /* a power of two */
        size_t n;
} WdMap;

/* Room for capacity entries (rounded up to a power of two). 0 or -ENOMEM. */
int wdmap_init(WdMap *m, size_t capacity);
void wdmap_done(WdMap *m); /* frees the table; m may be put to use again with wdmap_init() */
/* Insert or replace wd's entry, growing the table if needed. 0, -EINVAL for
 * a negative wd, or -ENOMEM (the map is unchanged then). */
int wdmap_put(WdMap *m, int wd, uint32_t slot, WdKind kind);
/* wd's entry (valid until the next put or remove), NULL if none. */
WdEntry *wdmap_get(WdMap *m, int wd);
void wdmap_remove(WdMap *m, int wd); /* no-op if wd is not there */
