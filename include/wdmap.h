/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* inotify watch descriptor -> (cgroup, which watch). Open addressing with
 * linear probing and backward-shift deletion; grows (on cgroup appearance
 * only) to keep the load under 1/2, so a lookup is one or two probes. */

typedef enum WdKind {
        WD_DIR,
        WD_EVENTS,
        WD_CGEVENTS,
} WdKind;

struct Cgroup;

typedef struct WdEntry {
        int wd; /* -1: empty */
        WdKind kind;
        struct Cgroup *cgroup;
} WdEntry;

typedef struct WdMap {
        WdEntry *entries;
        size_t capacity; /* a power of two */
        size_t n;
} WdMap;

int wdmap_init(WdMap *m, size_t capacity);
void wdmap_done(WdMap *m);
int wdmap_put(WdMap *m, int wd, struct Cgroup *cgroup, WdKind kind);
WdEntry *wdmap_get(WdMap *m, int wd);
void wdmap_remove(WdMap *m, int wd);
