/* SPDX-License-Identifier: MIT */
#include "planner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macro.h"

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);
        return len > n && memcmp(s + len - n, suffix, n) == 0;
}

bool plan_unit_candidate(const Cgroup *c)
{
        if (!c || c->kind == CGROUP_KIND_ROOT)
                return false;
        return has_suffix(c->name, c->name_len, ".slice") || has_suffix(c->name, c->name_len, ".scope") ||
               has_suffix(c->name, c->name_len, ".service");
}

const char *plan_unit_interface(const char *unit)
{
        size_t len = unit ? strlen(unit) : 0;

        if (has_suffix(unit, len, ".service"))
                return "org.freedesktop.systemd1.Service";
        if (has_suffix(unit, len, ".scope"))
                return "org.freedesktop.systemd1.Scope";
        if (has_suffix(unit, len, ".slice"))
                return "org.freedesktop.systemd1.Slice";
        return NULL;
}

bool plan_unit_confirmed(const char *path, const char *name, const char *unit_id, const char *unit_cgroup)
{
        /* GetUnitByControlGroup walks up: it names the unit that contains the
         * path. Only an exact match makes the cgroup that unit. */
        return path && name && unit_id && unit_cgroup && name[0] && strcmp(unit_cgroup, path) == 0 &&
               strcmp(unit_id, name) == 0;
}

/* a is b or an ancestor of b ("/a" of "/a/b", not of "/ab"). */
static bool is_ancestor_or_self(const char *a, const char *b)
{
        size_t n = strlen(a);

        if (strcmp(a, "/") == 0)
                return true;
        return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

static bool is_disruptive(ActionType t)
{
        return t == ACTION_FREEZE || t == ACTION_KILL || t == ACTION_RESTART || t == ACTION_STOP;
}

/* A lower memory.high on a cgroup that holds memwarden throttles memwarden too. */
static bool touches_holder(ActionType t)
{
        return is_disruptive(t) || t == ACTION_THROTTLE;
}

const char *plan_refusal(const PlanContext *ctx, ActionType t, bool allow_protected, const Cgroup *c,
                         const char *path)
{
        const char *own = ctx && ctx->own_cgroup ? ctx->own_cgroup : "";

        if (t == ACTION_NOTIFY || t == ACTION_REPORT || t == ACTION_EXEC)
                return NULL;
        if (!path)
                return "no usable path for the cgroup";
        if (strcmp(path, "/") == 0 || (c && c->kind == CGROUP_KIND_ROOT))
                return "never the root cgroup";
        if (own[0]) {
                if (strcmp(path, own) == 0)
                        return "never memwarden's own cgroup";
                if (touches_holder(t) && is_ancestor_or_self(path, own))
                        return "never a cgroup that holds memwarden itself";
        }
        /* cgroup v1: no memory.high; freezing needs the separate freezer hierarchy,
         * which only systemd (for its units) may drive here. */
        if (c && c->v1 && t == ACTION_THROTTLE)
                return "cgroup v1 has no memory.high: throttle does not apply";
        if (c && c->v1 && t == ACTION_FREEZE && !plan_unit_candidate(c))
                return "cgroup v1: only systemd units can be frozen (FreezeUnit)";
        if (allow_protected)
                return NULL;
        if (c && c->kind == CGROUP_KIND_KUBEPODS)
                return "a kubepods QoS cgroup (kubelet owns it; allowProtected to override)";
        if (strcmp(path, "/init.scope") == 0 || strcmp(path, "/system.slice") == 0)
                return "a protected cgroup (allowProtected to override)";
        return NULL;
}

bool plan_all_refused(const PlanContext *ctx, const Policy *p, const Cgroup *c)
{
        char path[PATH_MAX];

        if (!p || !c)
                return true;
        if (cgroup_path(c, path, sizeof(path)) < 0)
                return false; /* let it be chosen: the executor then fails the step clearly */
        for (size_t i = 0; i < p->n_actions; i++)
                if (!plan_refusal(ctx, p->actions[i].type, p->actions[i].allow_protected, c, path))
                        return false;
        return true;
}

static const char *const route_names[_PLAN_ROUTE_MAX] = {
        [PLAN_ROUTE_NONE] = "none",         [PLAN_ROUTE_UNIT] = "systemd",
        [PLAN_ROUTE_CGROUPFS] = "cgroupfs", [PLAN_ROUTE_RESOLVE] = "resolve",
        [PLAN_ROUTE_REFUSED] = "refused",   [PLAN_ROUTE_FAILED] = "failed",
};

const char *plan_route_to_string(PlanRoute r)
{
        if (r < 0 || r >= _PLAN_ROUTE_MAX)
                return NULL;
        return route_names[r];
}

static void intent(PlanIntent *ret, PlanRoute route, const char *why, int error)
{
        ret->route = route;
        ret->why = why;
        ret->error = error;
}

/* The route of a step that may touch the cgroup: unit or files. */
static void plan_route(const PlanInput *in, PlanIntent *ret)
{
        ActionType t = in->action;
        bool v1 = in->cgroup && in->cgroup->v1;
        bool unit_ok = !in->delegated && in->unit == UNIT_STATE_CONFIRMED;

        if (!in->delegated && in->unit == UNIT_STATE_UNKNOWN && plan_unit_candidate(in->cgroup))
                return intent(ret, PLAN_ROUTE_RESOLVE, NULL, 0);
        if (t == ACTION_RESTART || t == ACTION_STOP) {
                if (unit_ok)
                        return intent(ret, PLAN_ROUTE_UNIT, NULL, 0);
                if (in->delegated)
                        return intent(ret, PLAN_ROUTE_REFUSED,
                                      "inside a delegated subtree: its own manager owns the units there", 0);
                if (in->unit == UNIT_STATE_UNREACHABLE && plan_unit_candidate(in->cgroup))
                        return intent(ret, PLAN_ROUTE_FAILED,
                                      "the system bus is not reachable: systemd cannot confirm the unit",
                                      -ENOTCONN);
                return intent(ret, PLAN_ROUTE_REFUSED, "not a systemd unit (systemd does not confirm it)",
                              0);
        }
        /* Slices and pods die whole with cgroup.kill (systemd's KillUnit is for
         * services and scopes). */
        if (t == ACTION_KILL && in->cgroup &&
            (in->cgroup->kind == CGROUP_KIND_SLICE || in->cgroup->kind == CGROUP_KIND_POD))
                unit_ok = false;
        if (unit_ok)
                return intent(ret, PLAN_ROUTE_UNIT, NULL, 0);
        if (v1 && t == ACTION_FREEZE)
                return intent(
                        ret, PLAN_ROUTE_REFUSED,
                        "cgroup v1: only systemd units can be frozen (FreezeUnit), and systemd does not "
                        "confirm this one",
                        0);
        return intent(ret, PLAN_ROUTE_CGROUPFS, NULL, 0);
}

void plan_step(const PlanContext *ctx, const PlanInput *in, PlanIntent *ret)
{
        const char *why;

        *ret = (PlanIntent){ .dry_run = in->dry_run };
        if (in->action == ACTION_NOTIFY || in->action == ACTION_REPORT || in->action == ACTION_EXEC) {
                if (!in->path && in->action == ACTION_REPORT)
                        return intent(ret, PLAN_ROUTE_FAILED, "the cgroup's path does not fit",
                                      in->path_error ? in->path_error : -ENAMETOOLONG);
                return intent(ret, PLAN_ROUTE_NONE, NULL, 0);
        }
        if (!in->path)
                return intent(ret, PLAN_ROUTE_FAILED, "the cgroup's path does not fit",
                              in->path_error ? in->path_error : -ENAMETOOLONG);
        why = plan_refusal(ctx, in->action, in->allow_protected, in->cgroup, in->path);
        if (!why && !(ctx && ctx->own_cgroup && ctx->own_cgroup[0]) && touches_holder(in->action) &&
            in->holds_self != 0)
                why = in->holds_self > 0
                              ? "never a cgroup that holds memwarden itself (found in it just now)"
                              : "memwarden's own cgroup is unknown and this subtree could not be "
                                "searched for it";
        if (why)
                return intent(ret, PLAN_ROUTE_REFUSED, why, 0);
        plan_route(in, ret);
}

bool plan_unit_fallback(ActionType t, bool v1, bool cgroup_exists)
{
        if (!cgroup_exists)
                return false; /* gone: nothing left to act on */
        switch (t) {
        case ACTION_KILL:
                return true;
        case ACTION_FREEZE:
        case ACTION_THROTTLE:
                return !v1;
        default:
                return false;
        }
}

/* "user@<digits>.service": a user's own manager, whatever the xattrs say. */
static bool is_user_manager(const char *name, size_t len)
{
        size_t i = 5;

        if (len < 14 || memcmp(name, "user@", 5) != 0 || !has_suffix(name, len, ".service"))
                return false;
        for (; i < len - 8; i++)
                if (name[i] < '0' || name[i] > '9')
                        return false;
        return i > 5;
}

static int xattr_delegated(int fd, const char *name)
{
        char v[8];
        ssize_t n = fgetxattr(fd, name, v, sizeof(v));

        if (n >= 0)
                return !(n == 1 && v[0] == '0');
        if (errno == ERANGE)
                return 1; /* a longer value: set all the same */
        if (errno == ENODATA || errno == ENOTSUP)
                return 0;
        return -errno;
}

static int ancestor_delegated(int root_fd, const char *rel, const char *name, size_t name_len)
{
        _cleanup_close_ int fd = -1;
        int r;

        if (is_user_manager(name, name_len))
                return 1;
        fd = openat(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = xattr_delegated(fd, "trusted.delegate");
        if (r != 0)
                return r;
        return xattr_delegated(fd, "user.delegate");
}

int plan_delegated(int root_fd, const char *path, char *ret_by, size_t size)
{
        char buf[PATH_MAX];
        size_t len = path ? strlen(path) : 0;
        char *p;

        if (!path || len >= sizeof(buf))
                return -ENAMETOOLONG;
        while (*path == '/')
                path++, len--;
        memcpy(buf, path, len + 1);
        /* Every strict ancestor below the root, from the top: "a", "a/b", ... */
        for (p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
                const char *name;
                int r;

                *p = '\0';
                name = strrchr(buf, '/');
                name = name ? name + 1 : buf;
                r = ancestor_delegated(root_fd, buf, name, strlen(name));
                if (r != 0) {
                        if (ret_by && size)
                                snprintf(ret_by, size, "/%s", buf);
                        return r;
                }
                *p = '/';
        }
        return 0;
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

void plan_route_describe(const Cgroup *c, bool bus, bool delegated, UnitState state, char *buf, size_t size)
{
        const char *kill = c && c->kind == CGROUP_KIND_POD
                                   ? "; kill: each of its application containers, never its sandbox"
                                   : "";
        int n = (int)(c ? c->name_len : 0);
        const char *name = c ? c->name : "";

        if (!plan_unit_candidate(c))
                snprintf(buf, size, "the cgroup's files (not a systemd unit's name)%s", kill);
        else if (delegated)
                snprintf(buf, size, "the cgroup's files (in a delegated subtree: never a unit)%s", kill);
        else if (!bus)
                snprintf(buf, size, "the cgroup's files (no system bus)%s", kill);
        else if (state == UNIT_STATE_CONFIRMED)
                snprintf(buf, size, "systemd: the unit %.*s (confirmed: its ControlGroup is this cgroup)%s",
                         n, name, kill);
        else if (state == UNIT_STATE_NOT_A_UNIT)
                snprintf(buf, size, "the cgroup's files (systemd names another unit, or none, for it)%s",
                         kill);
        else
                snprintf(buf, size,
                         "systemd is asked at the first step: the unit %.*s if it confirms the cgroup is "
                         "its, else the cgroup's files%s",
                         n, name, kill);
}
