/* SPDX-License-Identifier: MIT */
#include "wdmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t hash_wd(int wd, size_t mask)
{
        uint32_t x = (uint32_t)wd * 2654435761u;
        return (size_t)x & mask;
}

int wdmap_init(WdMap *m, size_t capacity)
{
        size_t cap = 16;

        while (cap < capacity)
                cap *= 2;
        m->entries = malloc(cap * sizeof(WdEntry));
        if (!m->entries)
                return -ENOMEM;
        for (size_t i = 0; i < cap; i++)
                m->entries[i].wd = -1;
        m->capacity = cap;
        m->n = 0;
        return 0;
}

void wdmap_done(WdMap *m)
{
        free(m->entries);
        *m = (WdMap){};
}

static void insert_entry(WdMap *m, WdEntry e)
{
        size_t mask = m->capacity - 1;

        for (size_t i = hash_wd(e.wd, mask);; i = (i + 1) & mask)
                if (m->entries[i].wd < 0 || m->entries[i].wd == e.wd) {
                        if (m->entries[i].wd < 0)
                                m->n++;
                        m->entries[i] = e;
                        return;
                }
}

static int grow(WdMap *m)
{
        WdMap bigger;
        int r = wdmap_init(&bigger, m->capacity * 2);

        if (r < 0)
                return r;
        for (size_t i = 0; i < m->capacity; i++)
                if (m->entries[i].wd >= 0)
                        insert_entry(&bigger, m->entries[i]);
        free(m->entries);
        *m = bigger;
        return 0;
}

int wdmap_put(WdMap *m, int wd, uint32_t slot, WdKind kind)
{
        if (wd < 0 || slot >= (1U << 30))
                return -EINVAL;
        if ((m->n + 1) * 2 > m->capacity) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        insert_entry(m, (WdEntry){ .wd = wd, .slot = slot & ((1U << 30) - 1), .kind = (uint32_t)kind & 3 });
        return 0;
}

WdEntry *wdmap_get(WdMap *m, int wd)
{
        size_t mask = m->capacity - 1;

        if (wd < 0 || !m->entries)
                return NULL;
        for (size_t i = hash_wd(wd, mask);; i = (i + 1) & mask) {
                if (m->entries[i].wd == wd)
                        return &m->entries[i];
                if (m->entries[i].wd < 0)
                        return NULL;
        }
}

void wdmap_remove(WdMap *m, int wd)
{
        size_t mask = m->capacity - 1, i, j;
        WdEntry *e = wdmap_get(m, wd);

        if (!e)
                return;
        i = (size_t)(e - m->entries);
        m->entries[i].wd = -1;
        m->n--;
        /* Backward-shift: pull later entries of the probe run into the hole. */
        for (j = (i + 1) & mask; m->entries[j].wd >= 0; j = (j + 1) & mask) {
                size_t home = hash_wd(m->entries[j].wd, mask);
                int between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
                if (between)
                        continue;
                m->entries[i] = m->entries[j];
                m->entries[j].wd = -1;
                i = j;
        }
}
