/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "actions.h"

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);
        return len > n && memcmp(s + len - n, suffix, n) == 0;
}

const char *cgroup_unit_name(const Cgroup *c)
{
        if (!c || c->kind == CGROUP_KIND_ROOT)
                return NULL;
        if (has_suffix(c->name, c->name_len, ".slice") || has_suffix(c->name, c->name_len, ".scope") ||
            has_suffix(c->name, c->name_len, ".service"))
                return c->name;
        return NULL;
}

/* a is b or an ancestor of b ("/a" of "/a/b", not of "/ab"). */
static bool is_ancestor_or_self(const char *a, const char *b)
{
        size_t n = strlen(a);

        if (strcmp(a, "/") == 0)
                return true;
        return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

const char *action_refusal(ActionType t, bool allow_protected, const Cgroup *c, const char *path,
                           const char *own_cgroup)
{
        bool disruptive = t == ACTION_FREEZE || t == ACTION_KILL || t == ACTION_RESTART || t == ACTION_STOP;

        if (t == ACTION_NOTIFY || t == ACTION_REPORT || t == ACTION_EXEC)
                return NULL;
        if (!path || strcmp(path, "/") == 0 || (c && c->kind == CGROUP_KIND_ROOT))
                return "never the root cgroup";
        if (own_cgroup && own_cgroup[0]) {
                if (strcmp(path, own_cgroup) == 0)
                        return "never memwarden's own cgroup";
                if (disruptive && is_ancestor_or_self(path, own_cgroup))
                        return "never a cgroup that holds memwarden itself";
        }
        /* cgroup v1: no memory.high; freezing needs the separate freezer hierarchy,
         * which only systemd (for its units) may drive here. */
        if (c && c->v1 && t == ACTION_THROTTLE)
                return "cgroup v1 has no memory.high: throttle does not apply";
        if (c && c->v1 && t == ACTION_FREEZE && !cgroup_unit_name(c))
                return "cgroup v1: only systemd units can be frozen (FreezeUnit)";
        if (allow_protected)
                return NULL;
        if (c && c->kind == CGROUP_KIND_KUBEPODS)
                return "a kubepods QoS cgroup (kubelet owns it; allowProtected to override)";
        if (strcmp(path, "/init.scope") == 0 || strcmp(path, "/system.slice") == 0)
                return "a protected cgroup (allowProtected to override)";
        return NULL;
}

uint64_t throttle_next_high(uint64_t high, uint64_t usage, uint64_t floor, uint32_t step_bp)
{
        uint64_t base = high < usage ? high : usage, next;

        if (base == UINT64_MAX)
                return UINT64_MAX; /* no usage known and no limit: nothing to step down from */
        next = base - (uint64_t)((__uint128_t)base * step_bp / 10000);
        next &= ~(uint64_t)4095;
        if (next < floor)
                next = floor;
        if (next >= high)
                return UINT64_MAX;
        return next;
}
