/* SPDX-License-Identifier: MIT */
/* explain's JSON (include/explain.h). The keys are what memwardenctl reads. */
#include "explain.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "macro.h"

void explain_trigger(const Trigger *t, char *b, size_t size)
{
        switch (t->type) {
        case TRIGGER_MEMORY_EVENTS:
                snprintf(b, size, "memoryEvents %s grows by >= %llu in %llu s",
                         memevent_to_string(t->counter), (unsigned long long)t->increase,
                         (unsigned long long)(t->window_usec / USEC_PER_SEC));
                break;
        case TRIGGER_PRESSURE:
        case TRIGGER_NODE_PRESSURE:
                snprintf(b, size, "%s %s > %u.%02u%% over %llu s", trigger_type_to_string(t->type),
                         psi_type_to_string(t->psi_type), t->above_bp / 100, t->above_bp % 100,
                         (unsigned long long)(t->window_usec / USEC_PER_SEC));
                break;
        case TRIGGER_USAGE:
                snprintf(b, size, "usage > %u.%02u%% of memory.%s", t->above_bp / 100, t->above_bp % 100,
                         t->usage_of == USAGE_OF_HIGH ? "high" : "max");
                break;
        case TRIGGER_NODE_AVAILABLE:
                snprintf(b, size, "nodeAvailable < %llu MiB", (unsigned long long)(t->below_bytes >> 20));
                break;
        case TRIGGER_PRESSURE_LEVEL:
                snprintf(b, size, "pressureLevel %s or worse >= %llu times in %llu s (cgroup v1)",
                         v1_level_to_string(t->level), (unsigned long long)t->increase,
                         (unsigned long long)(t->window_usec / USEC_PER_SEC));
                break;
        default:
                if (size > 0)
                        b[0] = '\0';
        }
}

static void put_select(JsonWriter *j, const Policy *p)
{
        char sel[64];

        json_key(j, "select");
        if (p->select_by == SELECT_EACH) {
                json_string(j, "each");
                return;
        }
        if (p->select_by == SELECT_PRESSURE)
                snprintf(sel, sizeof(sel), "%s over %" PRIu64 "s, %u", select_by_to_string(p->select_by),
                         p->select_window_usec / 1000000, p->select_count);
        else
                snprintf(sel, sizeof(sel), "%s, %u", select_by_to_string(p->select_by), p->select_count);
        json_string(j, sel);
        if (p->target_children) {
                /* The triggers are this cgroup's; the steps go to its children. */
                json_key(j, "target");
                json_string(j, "children");
        }
}

/* A policy's name (the value of the key already written), then its source,
 * triggers, select, actions and whether the engine has it armed here. */
static void put_policy(const ExplainInput *in, JsonWriter *j, const Policy *p, bool node)
{
        char src[4200], b[160];
        PolicyPhase phase = POLICY_IDLE;
        bool armed;

        json_string(j, p->name);
        json_key(j, "source");
        snprintf(src, sizeof(src), "%s:%u", p->file, p->line);
        json_string(j, src);
        json_key(j, p->all ? "all" : "any");
        json_array_open(j);
        for (size_t i = 0; i < p->n_triggers; i++) {
                explain_trigger(&p->triggers[i], b, sizeof(b));
                json_string(j, b);
        }
        json_array_close(j);
        json_key(j, "for_us");
        json_u64(j, p->for_usec);
        put_select(j, p);
        json_key(j, "actions");
        json_array_open(j);
        for (size_t i = 0; i < p->n_actions; i++)
                json_string(j, action_type_to_string(p->actions[i].type));
        json_array_close(j);
        /* Armed: the engine evaluates it here (the cgroup is watched). */
        armed = in->armed && in->armed(in->userdata, node, &phase);
        json_key(j, "armed");
        json_bool(j, armed);
        json_key(j, "phase");
        json_string(j, armed ? policy_phase_to_string(phase) : NULL);
}

static void put_identity(JsonWriter *j, const CgroupIdentity *id)
{
        json_key(j, "identity");
        json_object_open(j);
        json_key(j, "unit");
        json_string(j, id->unit);
        json_key(j, "namespace");
        json_string(j, id->namespace);
        json_key(j, "pod");
        json_string(j, id->pod);
        json_key(j, "container");
        json_string(j, id->container);
        json_key(j, "qos");
        json_string(j, id->qos >= 0 ? qos_class_to_string(id->qos) : NULL);
        json_object_close(j);
}

/* Whether policy i is the target: children policy that applies to id through
 * its parent, by the parent's path (explain has only id's identity). */
static bool child_of(const ExplainInput *in, size_t i)
{
        CgroupIdentity parent = { .qos = -1 };
        char path[4096];
        const char *slash;

        if (!in->id->path || !(slash = strrchr(in->id->path, '/')) || slash == in->id->path ||
            (size_t)(slash - in->id->path) >= sizeof(path))
                return false;
        memcpy(path, in->id->path, (size_t)(slash - in->id->path));
        path[slash - in->id->path] = '\0';
        parent.path = path;
        return policy_set_lookup_children(in->set, &parent, in->id) == (int)i;
}

/* Why each other policy does not apply, at most EXPLAIN_OTHERS_MAX of them. */
static void put_others(const ExplainInput *in, JsonWriter *j, int best, int node_best)
{
        unsigned others = 0;
        char why[256];

        json_key(j, "others");
        json_array_open(j);
        for (size_t i = 0; i < in->set->n && others < EXPLAIN_OTHERS_MAX; i++) {
                const Policy *p = &in->set->policies[i];
                if ((int)i == best || (int)i == node_best)
                        continue;
                json_object_open(j);
                json_key(j, "policy");
                json_string(j, p->name);
                json_key(j, "why");
                if (p->target_children && policy_match(p, in->id, why, sizeof(why)))
                        json_string(j, "target: children: its triggers are this cgroup's, its steps go to "
                                       "this cgroup's children");
                else if (p->target_children && child_of(in, (size_t)i))
                        json_string(j, "target: children: applies to this cgroup through its parent's "
                                       "triggers");
                else if (policy_match(p, in->id, why, sizeof(why)))
                        json_string(j, "matches, but a more specific policy applies");
                else
                        json_string(j, why);
                json_object_close(j);
                others++;
        }
        json_array_close(j);
}

int explain_format(const ExplainInput *in, char *buf, size_t size, size_t *ret_len)
{
        int best = policy_set_lookup(in->set, in->id);
        int node_best = policy_set_lookup_kind(in->set, in->id, true);
        JsonWriter j;

        json_init(&j, buf, size);
        json_object_open(&j);
        json_key(&j, "cgroup");
        json_string(&j, in->id->path);
        json_key(&j, "kind");
        json_string(&j, cgroup_kind_to_string(in->kind));
        put_identity(&j, in->id);
        if (in->route) {
                json_key(&j, "route");
                json_string(&j, in->route);
        }
        json_key(&j, "policy");
        if (best >= 0)
                put_policy(in, &j, &in->set->policies[best], false);
        else
                json_null(&j);
        put_others(in, &j, best, node_best);
        /* A node policy (node triggers only) binds beside the cgroup policy. */
        json_key(&j, "node_policy");
        if (node_best >= 0) {
                json_object_open(&j);
                json_key(&j, "policy");
                put_policy(in, &j, &in->set->policies[node_best], true);
                json_object_close(&j);
        } else
                json_null(&j);
        json_object_close(&j);
        if (j.overflow)
                return -ENOBUFS;
        *ret_len = j.len;
        return 0;
}
