/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* memory.events / memory.events.local counters, parsed by key. Keys this code
 * does not know (newer kernels add some) are kept in `extra`, up to a bound. */
typedef enum MemEvent {
        MEMEV_LOW,
        MEMEV_HIGH,
        MEMEV_MAX,
        MEMEV_OOM,
        MEMEV_OOM_KILL,
        MEMEV_OOM_GROUP_KILL,
        _MEMEV_MAX,
        _MEMEV_INVALID = -22,
} MemEvent;

#define MEMEV_EXTRA_MAX      2
#define MEMEV_EXTRA_NAME_MAX 20

typedef struct MemEventsExtra {
        char name[MEMEV_EXTRA_NAME_MAX];
        uint64_t value;
} MemEventsExtra;

typedef struct MemEvents {
        uint64_t value[_MEMEV_MAX];
        uint32_t present; /* bit per MemEvent seen in the file */
        unsigned n_extra;
        MemEventsExtra extra[MEMEV_EXTRA_MAX];
} MemEvents;

/* The differences new - old, key by key. A counter that went backwards (a
 * cgroup re-created under the same name) counts from zero. */
typedef struct MemEventsDelta {
        uint64_t value[_MEMEV_MAX];
        uint64_t extra[MEMEV_EXTRA_MAX]; /* indexed like new->extra */
        bool any;
} MemEventsDelta;

/* The kernel's key for e; NULL when out of range. */
const char *memevent_to_string(MemEvent e);
/* The MemEvent whose key is [s, s+len); _MEMEV_INVALID if none. */
MemEvent memevent_from_string_n(const char *s, size_t len);

/* Parse the text of memory.events. -EINVAL on malformed lines (the caller
 * keeps its previous counters then). */
int memevents_parse(const char *buf, size_t len, MemEvents *ret);

/* Never fails; *ret is always set. */
void memevents_diff(const MemEvents *old, const MemEvents *new, MemEventsDelta *ret);
