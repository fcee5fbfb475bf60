/* SPDX-License-Identifier: MIT */
#include "action-state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void target_of(ActionTarget *t, const Cgroup *c)
{
        int r;

        memset(t, 0, sizeof(*t));
        t->cgroup = c;
        t->slot = c->slot;
        t->serial = c->serial;
        r = cgroup_path(c, t->path, sizeof(t->path));
        if (r < 0) {
                t->path_error = r;
                t->path[0] = '\0';
        }
}

void action_target_init(ActionTarget *t, const Cgroup *c, const Policy *p)
{
        target_of(t, c);
        snprintf(t->policy, sizeof(t->policy), "%s", p->name);
        if (p->scope_namespace)
                snprintf(t->ns, sizeof(t->ns), "%s", p->scope_namespace);
}

void action_target_init_as(ActionTarget *t, const Cgroup *c, const ActionTarget *owner)
{
        target_of(t, c);
        action_owner_take(t, owner);
}

bool action_target_same(const ActionTarget *a, const ActionTarget *b)
{
        return a->cgroup == b->cgroup && a->slot == b->slot && a->serial == b->serial;
}

/* ---- owners ---- */

bool action_owner_same(const ActionTarget *a, const ActionTarget *b)
{
        return strcmp(a->policy, b->policy) == 0 && strcmp(a->ns, b->ns) == 0;
}

bool action_owner_is_admin(const ActionTarget *t)
{
        return t->ns[0] == '\0';
}

ActionJoin action_join(const ActionTarget *owner, const ActionTarget *t)
{
        if (action_owner_same(owner, t))
                return ACTION_JOIN_OWN;
        if (action_owner_is_admin(t) && !action_owner_is_admin(owner))
                return ACTION_JOIN_TAKE;
        return ACTION_JOIN_GUEST;
}

bool action_may_undo(const ActionTarget *owner, const ActionTarget *t)
{
        return action_owner_same(owner, t);
}

void action_owner_take(ActionTarget *owner, const ActionTarget *t)
{
        memcpy(owner->policy, t->policy, sizeof(owner->policy));
        memcpy(owner->ns, t->ns, sizeof(owner->ns));
}

bool action_dry_run_stops(const Action *a)
{
        return a->dry_run && (a->type == ACTION_FREEZE || a->type == ACTION_KILL ||
                              a->type == ACTION_RESTART || a->type == ACTION_STOP);
}

/* ---- throttle ---- */

Throttle *throttle_find(ThrottleTable *tt, const ActionTarget *t)
{
        for (size_t i = 0; i < THROTTLE_MAX; i++)
                if (tt->th[i].used && action_target_same(&tt->th[i].t, t))
                        return &tt->th[i];
        return NULL;
}

Throttle *throttle_new(ThrottleTable *tt, const ActionTarget *t, const Action *a, uint64_t high,
                       uint64_t now)
{
        for (size_t i = 0; i < THROTTLE_MAX; i++) {
                Throttle *th = &tt->th[i];
                if (th->used)
                        continue;
                *th = (Throttle){ .used = true,
                                  .original = high,
                                  .current = high,
                                  .want = high,
                                  .floor = a->floor_bytes,
                                  .step_bp = a->step_bp,
                                  .interval_usec = a->interval_usec,
                                  .phase = POLICY_FIRING,
                                  .next_usec = now };
                th->t = *t;
                return th;
        }
        return NULL;
}

uint64_t throttle_begin_step(Throttle *th, uint64_t usage, uint64_t now)
{
        uint64_t next;

        if (th->in_flight || th->restoring)
                return UINT64_MAX;
        next = throttle_next_high(th->current, usage, th->floor, th->step_bp);
        if (next == UINT64_MAX) {
                th->next_usec = 0; /* at the floor: stay there until the policy clears */
                return UINT64_MAX;
        }
        th->next_usec = now + th->interval_usec;
        th->want = next;
        th->in_flight = true;
        return next;
}

bool throttle_begin_restore(Throttle *th)
{
        th->next_usec = 0;
        if (th->in_flight) {
                if (!th->restoring)
                        th->restore_pending = true; /* once the step in flight completes */
                return false;
        }
        th->restoring = true;
        th->want = th->original;
        th->in_flight = true;
        return true;
}

ThrottleNext throttle_complete(Throttle *th, int error)
{
        th->in_flight = false;
        if (error >= 0)
                th->current = th->want;
        if (!th->restoring && th->restore_pending) {
                /* The policy cleared while this step was in flight. */
                th->restore_pending = false;
                (void)throttle_begin_restore(th);
                return THROTTLE_NEXT_RESTORE;
        }
        if (th->restoring || (error < 0 && th->current == th->original)) {
                th->used = false;
                return THROTTLE_NEXT_FORGET;
        }
        return THROTTLE_NEXT_WAIT;
}

bool throttle_set_phase(Throttle *th, const ActionTarget *t, PolicyPhase phase, uint64_t now)
{
        if (!action_owner_same(&th->t, t))
                return false;
        if (th->phase != POLICY_FIRING && phase == POLICY_FIRING && th->next_usec == 0 && !th->restoring)
                th->next_usec = now + th->interval_usec;
        th->phase = phase;
        return true;
}

uint64_t throttle_join(Throttle *th, const ActionTarget *t, const Action *a, uint64_t usage, uint64_t now)
{
        ActionJoin j = action_join(&th->t, t);
        uint64_t next;

        if (j == ACTION_JOIN_TAKE)
                action_owner_take(&th->t, t);
        if (j != ACTION_JOIN_GUEST) {
                /* Throttling already: this step starts the descent again now. */
                th->floor = a->floor_bytes, th->step_bp = a->step_bp;
                th->interval_usec = a->interval_usec;
                th->phase = POLICY_FIRING;
                return throttle_begin_step(th, usage, now);
        }
        if (th->in_flight || th->restoring)
                return UINT64_MAX;
        next = throttle_next_high(th->current, usage, a->floor_bytes, a->step_bp);
        if (next == UINT64_MAX)
                return UINT64_MAX;
        th->want = next;
        th->in_flight = true;
        return next;
}

bool throttle_tick(Throttle *th, uint64_t now)
{
        if (th->phase == POLICY_FIRING)
                return true;
        th->next_usec = now + th->interval_usec; /* pending again or clearing: hold */
        return false;
}

bool throttle_due(const Throttle *th, uint64_t now)
{
        return th->used && !th->in_flight && !th->restoring && th->next_usec && th->next_usec <= now;
}

uint64_t throttle_next_usec(const ThrottleTable *tt)
{
        uint64_t next = 0;

        for (size_t i = 0; i < THROTTLE_MAX; i++) {
                const Throttle *th = &tt->th[i];
                if (th->used && !th->in_flight && !th->restoring && th->next_usec &&
                    (next == 0 || th->next_usec < next))
                        next = th->next_usec;
        }
        return next;
}

unsigned throttle_count(const ThrottleTable *tt)
{
        unsigned n = 0;

        for (size_t i = 0; i < THROTTLE_MAX; i++)
                n += tt->th[i].used;
        return n;
}

/* ---- frozen, jobs ---- */

Frozen *frozen_find(ActionTables *at, const ActionTarget *t)
{
        for (size_t i = 0; i < FROZEN_MAX; i++)
                if (at->frozen[i].used && action_target_same(&at->frozen[i].t, t))
                        return &at->frozen[i];
        return NULL;
}

Frozen *frozen_new(ActionTables *at, const ActionTarget *t)
{
        for (size_t i = 0; i < FROZEN_MAX; i++)
                if (!at->frozen[i].used) {
                        at->frozen[i] = (Frozen){ .used = true };
                        at->frozen[i].t = *t;
                        return &at->frozen[i];
                }
        return NULL;
}

Job *job_add(ActionTables *at, ActionType action, const ActionTarget *t, const char *job, uint64_t now)
{
        Job *slot = NULL;
        uint64_t oldest = UINT64_MAX;

        for (size_t i = 0; i < JOBS_MAX; i++) {
                if (!at->jobs[i].used) {
                        slot = &at->jobs[i];
                        break;
                }
                if (at->jobs[i].start_usec < oldest)
                        oldest = at->jobs[i].start_usec, slot = &at->jobs[i];
        }
        *slot = (Job){ .used = true, .action = action, .start_usec = now };
        slot->t = *t;
        snprintf(slot->job, sizeof(slot->job), "%s", job);
        return slot;
}

bool job_take(ActionTables *at, const char *job, Job *ret)
{
        for (size_t i = 0; i < JOBS_MAX; i++)
                if (at->jobs[i].used && strcmp(at->jobs[i].job, job) == 0) {
                        *ret = at->jobs[i];
                        at->jobs[i].used = false;
                        return true;
                }
        return false;
}

unsigned frozen_count(const ActionTables *at)
{
        unsigned n = 0;

        for (size_t i = 0; i < FROZEN_MAX; i++)
                n += at->frozen[i].used;
        return n;
}

unsigned job_count(const ActionTables *at)
{
        unsigned n = 0;

        for (size_t i = 0; i < JOBS_MAX; i++)
                n += at->jobs[i].used;
        return n;
}

/* ---- systemd's answers ---- */

static int cache_index(const UnitCache *uc, const Cgroup *c)
{
        for (size_t i = 0; i < UNIT_CACHE_MAX; i++)
                if (uc->e[i].used && uc->e[i].cgroup == c && uc->e[i].slot == c->slot &&
                    uc->e[i].serial == c->serial)
                        return (int)i;
        return -1;
}

static UnitCacheEntry *cache_find(UnitCache *uc, const Cgroup *c)
{
        int i = cache_index(uc, c);

        return i < 0 ? NULL : &uc->e[i];
}

/* A free entry, or the least recently used one that is not waited for. */
static UnitCacheEntry *cache_slot(UnitCache *uc)
{
        UnitCacheEntry *lru = NULL;

        for (size_t i = 0; i < UNIT_CACHE_MAX; i++) {
                UnitCacheEntry *e = &uc->e[i];
                if (!e->used)
                        return e;
                if (!e->pending && (!lru || e->used_usec < lru->used_usec))
                        lru = e;
        }
        return lru ? lru : &uc->e[0];
}

UnitState unit_cache_get(UnitCache *uc, const Cgroup *c, uint64_t now)
{
        UnitCacheEntry *e = cache_find(uc, c);

        if (!e)
                return UNIT_STATE_UNKNOWN;
        e->used_usec = now;
        return e->state;
}

UnitState unit_cache_peek(const UnitCache *uc, const Cgroup *c)
{
        int i = cache_index(uc, c);

        return i < 0 ? UNIT_STATE_UNKNOWN : uc->e[i].state;
}

bool unit_cache_begin(UnitCache *uc, const Cgroup *c, uint64_t now)
{
        UnitCacheEntry *e = cache_find(uc, c);

        if (e && e->pending && now - e->used_usec < UNIT_CACHE_PENDING_USEC)
                return false;
        if (!e)
                e = cache_slot(uc);
        *e = (UnitCacheEntry){ .cgroup = c,
                               .slot = c->slot,
                               .serial = c->serial,
                               .state = UNIT_STATE_UNKNOWN,
                               .used = true,
                               .pending = true,
                               .used_usec = now };
        return true;
}

void unit_cache_set(UnitCache *uc, const Cgroup *c, uint32_t slot, uint32_t serial, UnitState s,
                    uint64_t now)
{
        for (size_t i = 0; i < UNIT_CACHE_MAX; i++) {
                UnitCacheEntry *e = &uc->e[i];
                if (!e->used || e->cgroup != c || e->slot != slot || e->serial != serial)
                        continue;
                e->pending = false;
                e->state = s;
                e->used_usec = now;
                if (s == UNIT_STATE_UNREACHABLE || s == UNIT_STATE_UNKNOWN)
                        e->used = false;
                return;
        }
}

void unit_cache_drop(UnitCache *uc, const Cgroup *c)
{
        UnitCacheEntry *e = cache_find(uc, c);

        if (e)
                e->used = false;
}

/* ---- cookies ---- */

int action_cookie_format(const ActionTarget *t, char *buf, size_t size)
{
        int n;

        if (strchr(t->policy, '\t') || strchr(t->ns, '\t'))
                return -EINVAL;
        n = snprintf(buf, size, "%s\t%s\t%" PRIu32 "\t%" PRIu32 "\t%s", t->policy, t->ns, t->slot, t->serial,
                     t->path);
        if (n < 0 || (size_t)n >= size)
                return -ENOBUFS;
        return 0;
}

/* Decimal digits only, up to the next tab, within uint32_t. */
static const char *cookie_u32(const char *p, uint32_t *ret)
{
        uint64_t v = 0;
        const char *s = p;

        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (uint64_t)(*p - '0');
                if (v > UINT32_MAX)
                        return NULL;
        }
        if (p == s || *p != '\t')
                return NULL;
        *ret = (uint32_t)v;
        return p + 1;
}

int action_cookie_parse(const char *cookie, ActionTarget *ret)
{
        const char *b = cookie ? strchr(cookie, '\t') : NULL, *c = b ? strchr(b + 1, '\t') : NULL, *d;
        uint32_t slot, serial;
        size_t np, nn, nc;

        d = c ? cookie_u32(c + 1, &slot) : NULL;
        d = d ? cookie_u32(d, &serial) : NULL;
        if (!d)
                return -EINVAL;
        np = (size_t)(b - cookie), nn = (size_t)(c - b - 1), nc = strlen(d);
        if (np >= sizeof(ret->policy) || nn >= sizeof(ret->ns) || nc >= sizeof(ret->path))
                return -EINVAL;
        memset(ret, 0, sizeof(*ret));
        /* No cgroup pointer: the caller finds the slot's cgroup and checks its serial. */
        ret->slot = slot;
        ret->serial = serial;
        memcpy(ret->policy, cookie, np);
        memcpy(ret->ns, b + 1, nn);
        memcpy(ret->path, d, nc);
        return 0;
}
