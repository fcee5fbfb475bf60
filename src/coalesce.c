/* SPDX-License-Identifier: MIT */
#include "coalesce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int coalesce_init(Coalescer *c, uint64_t interval_usec, unsigned n_max)
{
        *c = (Coalescer){ .interval_usec = interval_usec, .n_max = n_max ? n_max : COALESCE_MAX_DEFAULT };
        if (interval_usec == 0)
                return 0;
        c->entries = calloc(c->n_max, sizeof(CoalesceEntry));
        if (!c->entries)
                return -ENOMEM;
        /* Fault the table in now: under memory pressure is no time for it. */
        for (size_t i = 0; i < c->n_max; i++)
                ((volatile CoalesceEntry *)c->entries)[i].slot = 0;
        return 0;
}

void coalesce_done(Coalescer *c)
{
        free(c->entries);
        c->entries = NULL;
        c->n_entries = 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void delta_add(MemEventsDelta *sum, const MemEventsDelta *d)
{
        for (int i = 0; i < _MEMEV_MAX; i++)
                sum->value[i] = add_sat(sum->value[i], d->value[i]);
        for (int i = 0; i < MEMEV_EXTRA_MAX; i++)
                sum->extra[i] = add_sat(sum->extra[i], d->extra[i]);
        sum->any = sum->any || d->any;
}

static void hold(CoalesceEntry *e, const CoalesceEvent *ev)
{
        delta_add(&e->delta, ev->delta);
        if (ev->delta_local) {
                delta_add(&e->delta_local, ev->delta_local);
                e->has_local = true;
        }
        e->current = ev->current;
        e->count++;
}

/* Hand the pending sums out and start the next interval at now. */
static void take_summary(Coalescer *c, CoalesceEntry *e, uint64_t now_usec, CoalesceEntry *ret)
{
        *ret = *e;
        c->n_coalesced += e->count;
        c->n_summaries++;
        e->count = 0;
        e->has_local = false;
        e->delta = (MemEventsDelta){};
        e->delta_local = (MemEventsDelta){};
        e->window_end_usec = add_sat(now_usec, c->interval_usec);
}

static void remove_at(Coalescer *c, unsigned i)
{
        c->entries[i] = c->entries[--c->n_entries];
}

static CoalesceEntry *find(Coalescer *c, uint32_t slot, uint32_t serial)
{
        for (unsigned i = 0; i < c->n_entries; i++)
                if (c->entries[i].slot == slot && c->entries[i].serial == serial)
                        return &c->entries[i];
        return NULL;
}

/* Entries whose interval passed with nothing held are only room. */
static void expire_idle(Coalescer *c, uint64_t now_usec)
{
        for (unsigned i = 0; i < c->n_entries;)
                if (c->entries[i].count == 0 && c->entries[i].window_end_usec <= now_usec)
                        remove_at(c, i);
                else
                        i++;
}

static CoalesceEntry *add(Coalescer *c, const CoalesceEvent *ev, uint64_t now_usec)
{
        CoalesceEntry *e;

        if (c->n_entries >= c->n_max)
                expire_idle(c, now_usec);
        if (c->n_entries >= c->n_max)
                return NULL;
        e = &c->entries[c->n_entries++];
        *e = (CoalesceEntry){ .slot = ev->slot,
                              .serial = ev->serial,
                              .window_end_usec = add_sat(now_usec, c->interval_usec) };
        return e;
}

CoalesceVerdict coalesce_event(Coalescer *c, const CoalesceEvent *ev, uint64_t now_usec, CoalesceEntry *ret)
{
        CoalesceEntry *e;

        if (c->interval_usec == 0 || !ev->delta)
                return COALESCE_WRITE;
        e = find(c, ev->slot, ev->serial);
        if (!e) {
                if (!add(c, ev, now_usec))
                        c->n_untracked++;
                return COALESCE_WRITE;
        }
        if (now_usec < e->window_end_usec) {
                hold(e, ev);
                return COALESCE_HOLD;
        }
        /* The interval is over (its timer not run yet, or nothing was held). */
        if (e->count == 0) {
                e->window_end_usec = add_sat(now_usec, c->interval_usec);
                return COALESCE_WRITE;
        }
        hold(e, ev);
        take_summary(c, e, now_usec, ret);
        return COALESCE_SUMMARY;
}

uint64_t coalesce_next_usec(const Coalescer *c)
{
        uint64_t next = 0;

        for (unsigned i = 0; i < c->n_entries; i++)
                if (c->entries[i].count > 0 && (next == 0 || c->entries[i].window_end_usec < next))
                        next = c->entries[i].window_end_usec;
        return next;
}

bool coalesce_due(Coalescer *c, uint64_t now_usec, CoalesceEntry *ret)
{
        for (unsigned i = 0; i < c->n_entries;) {
                CoalesceEntry *e = &c->entries[i];

                if (e->window_end_usec > now_usec) {
                        i++;
                        continue;
                }
                if (e->count == 0) {
                        remove_at(c, i);
                        continue;
                }
                take_summary(c, e, now_usec, ret);
                return true;
        }
        return false;
}

bool coalesce_take(Coalescer *c, uint32_t slot, uint32_t serial, CoalesceEntry *ret)
{
        CoalesceEntry *e = find(c, slot, serial);
        bool pending;

        if (!e)
                return false;
        pending = e->count > 0;
        if (pending)
                take_summary(c, e, 0, ret);
        remove_at(c, (unsigned)(e - c->entries));
        return pending;
}
