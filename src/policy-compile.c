/* SPDX-License-Identifier: MIT */
/* Policies, the compile half: libyaml's nodes (from policy-parse.c) to Policy,
 * every field validated, unknown keys refused, confinement of a namespace's
 * files applied; every error collected with its line and column. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "policy-internal.h"

static const char *const select_names[_SELECT_BY_MAX] = { "each", "hungriest", "leastImportant",
                                                          "pressure" };

const char *select_by_to_string(SelectBy s)
{
        return s >= 0 && s < _SELECT_BY_MAX ? select_names[s] : NULL;
}

static const char *const trigger_names[_TRIGGER_TYPE_MAX] = {
        "memoryEvents", "pressure", "usage", "nodePressure", "nodeAvailable", "pressureLevel",
};
static const char *const action_names[_ACTION_TYPE_MAX] = {
        "notify", "report", "throttle", "restart", "stop", "freeze", "kill", "exec",
};

const char *trigger_type_to_string(TriggerType t)
{
        return t >= 0 && t < _TRIGGER_TYPE_MAX ? trigger_names[t] : NULL;
}

const char *action_type_to_string(ActionType t)
{
        return t >= 0 && t < _ACTION_TYPE_MAX ? action_names[t] : NULL;
}

/* ---- match ---- */

static void match_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        PolicyMatch *m = userdata;
        bool ns_file = c->scope_ns != NULL;

        if (strcmp(key, "cgroup") == 0 || strcmp(key, "unit") == 0) {
                if (ns_file) {
                        error_node(c, k,
                                   "'%s' is for node-admin policies only: a namespace's policy matches "
                                   "its own pods",
                                   key);
                        return;
                }
                char **dst = key[0] == 'c' ? &m->cgroup : &m->unit;
                *dst = policy_node_string(c, v, key);
                if (*dst && key[0] == 'c' && (*dst)[0] != '/')
                        error_node(c, v, "cgroup: a path from the cgroup root, starting with '/'");
        } else if (strcmp(key, "namespace") == 0) {
                m->namespace = policy_node_string(c, v, key);
                if (m->namespace && ns_file && strcmp(m->namespace, c->scope_ns) != 0)
                        error_node(c, v, "namespace '%s': a policy in '%s/' can only match namespace '%s'",
                                   m->namespace, c->scope_ns, c->scope_ns);
        } else if (strcmp(key, "pod") == 0)
                m->pod = policy_node_string(c, v, key);
        else if (strcmp(key, "container") == 0)
                m->container = policy_node_string(c, v, key);
        else if (strcmp(key, "qos") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                if (s && (m->qos = policy_names_lookup(
                                  (const char *const[]){ "guaranteed", "burstable", "besteffort" }, _QOS_MAX,
                                  s)) < 0)
                        error_node(c, v, "qos: expected guaranteed, burstable or besteffort, got '%s'", s);
        } else
                policy_node_unknown_key(c, k, key, "match", "cgroup, unit, namespace, pod, container, qos");
}

/* ---- triggers ---- */

typedef struct TriggerCtx {
        Trigger *t;
        bool seen_window, seen_above, seen_counter, seen_increase, seen_below, seen_of, seen_level;
} TriggerCtx;

static void trigger_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        TriggerCtx *tc = userdata;
        Trigger *t = tc->t;
        bool psi = t->type == TRIGGER_PRESSURE || t->type == TRIGGER_NODE_PRESSURE;

        if (t->type == TRIGGER_MEMORY_EVENTS && strcmp(key, "counter") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                tc->seen_counter = true;
                if (s && (t->counter = memevent_from_string_n(s, strlen(s))) < 0)
                        error_node(c, v,
                                   "counter: expected high, max, oom, oom_kill, oom_group_kill or low, got "
                                   "'%s'",
                                   s);
        } else if (t->type == TRIGGER_MEMORY_EVENTS && strcmp(key, "increase") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                tc->seen_increase = true;
                if (s && (parse_u64(s, &t->increase) < 0 || t->increase == 0))
                        error_node(c, v, "increase: expected a whole number of at least 1, got '%s'", s);
        } else if (t->type == TRIGGER_PRESSURE_LEVEL && strcmp(key, "level") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                tc->seen_level = true;
                int l = -1;
                for (int i = 0; s && i < _V1_LEVEL_MAX; i++)
                        if (strcmp(s, v1_level_to_string((V1Level)i)) == 0)
                                l = i;
                if (s && l < 0)
                        error_node(c, v, "level: expected low, medium or critical, got '%s'", s);
                t->level = l < 0 ? V1_LEVEL_MEDIUM : (V1Level)l;
        } else if (t->type == TRIGGER_PRESSURE_LEVEL && strcmp(key, "count") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                if (s && (parse_u64(s, &t->increase) < 0 || t->increase == 0))
                        error_node(c, v, "count: expected a whole number of at least 1, got '%s'", s);
        } else if ((t->type == TRIGGER_MEMORY_EVENTS || t->type == TRIGGER_PRESSURE_LEVEL || psi) &&
                   strcmp(key, "window") == 0) {
                tc->seen_window = true;
                (void)policy_node_duration(c, v, key, psi ? 2 * USEC_PER_SEC : USEC_PER_SEC,
                                           psi ? 600 * USEC_PER_SEC : 3600 * USEC_PER_SEC, &t->window_usec);
        } else if (psi && strcmp(key, "type") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                if (s && (t->psi_type = psi_type_from_string(s)) < 0)
                        error_node(c, v, "type: expected some or full, got '%s'", s);
        } else if ((psi || t->type == TRIGGER_USAGE) && strcmp(key, "above") == 0) {
                tc->seen_above = true;
                (void)policy_node_percent(c, v, key, &t->above_bp);
        } else if (t->type == TRIGGER_USAGE && strcmp(key, "of") == 0) {
                const char *s = policy_node_scalar(c, v, key);
                tc->seen_of = true;
                if (s && strcmp(s, "high") == 0)
                        t->usage_of = USAGE_OF_HIGH;
                else if (s && strcmp(s, "max") == 0)
                        t->usage_of = USAGE_OF_MAX;
                else if (s)
                        error_node(c, v, "of: expected high or max, got '%s'", s);
        } else if (t->type == TRIGGER_NODE_AVAILABLE && strcmp(key, "below") == 0) {
                tc->seen_below = true;
                (void)policy_node_size(c, v, key, &t->below_bytes);
        } else {
                static const char *const expected[_TRIGGER_TYPE_MAX] = {
                        [TRIGGER_MEMORY_EVENTS] = "counter, increase, window",
                        [TRIGGER_PRESSURE] = "type, above, window",
                        [TRIGGER_USAGE] = "of, above",
                        [TRIGGER_NODE_PRESSURE] = "type, above, window",
                        [TRIGGER_NODE_AVAILABLE] = "below",
                        [TRIGGER_PRESSURE_LEVEL] = "level, count, window",
                };
                char what[48];
                snprintf(what, sizeof(what), "a %s trigger", trigger_names[t->type]);
                policy_node_unknown_key(c, k, key, what, expected[t->type]);
        }
}

static void parse_trigger(Ctx *c, yaml_node_t *item, Policy *p)
{
        yaml_node_pair_t *pair;
        yaml_node_t *k, *v;
        const char *key;
        TriggerCtx tc;
        Trigger *t;
        int type;

        if (!policy_node_is_map(c, item, "a trigger"))
                return;
        if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
                error_node(c, item,
                           "a trigger is one of: memoryEvents, pressure, usage, nodePressure, "
                           "nodeAvailable, pressureLevel");
                return;
        }
        pair = item->data.mapping.pairs.start;
        k = policy_node_get(c, pair->key);
        v = policy_node_get(c, pair->value);
        if (!k || !v || !(key = policy_node_scalar(c, k, "a trigger's kind")))
                return;
        type = policy_names_lookup(trigger_names, _TRIGGER_TYPE_MAX, key);
        if (type < 0) {
                policy_node_unknown_key(
                        c, k, key, "triggers",
                        "memoryEvents, pressure, usage, nodePressure, nodeAvailable, pressureLevel");
                return;
        }
        if (p->n_triggers >= POLICY_TRIGGERS_MAX) {
                error_node(c, item, "at most %d triggers per policy", POLICY_TRIGGERS_MAX);
                return;
        }
        t = &p->triggers[p->n_triggers++];
        *t = (Trigger){ .type = type,
                        .line = (unsigned)item->start_mark.line + 1,
                        .column = (unsigned)item->start_mark.column + 1,
                        .psi_type = PSI_SOME,
                        .window_usec = 10 * USEC_PER_SEC,
                        .increase = 1 };
        if (!policy_node_is_map(c, v, key))
                return;
        tc = (TriggerCtx){ .t = t };
        policy_node_each_key(c, v, key, trigger_key, &tc);
        if (type == TRIGGER_MEMORY_EVENTS && !tc.seen_counter)
                error_node(c, v, "memoryEvents needs 'counter'");
        if ((type == TRIGGER_PRESSURE || type == TRIGGER_NODE_PRESSURE || type == TRIGGER_USAGE) &&
            !tc.seen_above)
                error_node(c, v, "%s needs 'above'", key);
        if (type == TRIGGER_USAGE && !tc.seen_of)
                error_node(c, v, "usage needs 'of' (high or max)");
        if (type == TRIGGER_NODE_AVAILABLE && !tc.seen_below)
                error_node(c, v, "nodeAvailable needs 'below'");
        if (type == TRIGGER_PRESSURE_LEVEL && !tc.seen_level)
                error_node(c, v, "pressureLevel needs 'level' (low, medium or critical)");
}

typedef struct TriggersCtx {
        Policy *p;
        bool seen_list;
} TriggersCtx;

static void triggers_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        TriggersCtx *tc = userdata;
        Policy *p = tc->p;

        if (strcmp(key, "any") == 0 || strcmp(key, "all") == 0) {
                if (tc->seen_list) {
                        error_node(c, k, "give either 'any' or 'all', not both");
                        return;
                }
                tc->seen_list = true;
                p->all = key[1] == 'l';
                if (!policy_node_is_seq(c, v, key))
                        return;
                if (v->data.sequence.items.top == v->data.sequence.items.start)
                        error_node(c, v, "'%s' needs at least one trigger", key);
                for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                     i++) {
                        yaml_node_t *item = policy_node_get(c, *i);
                        if (item)
                                parse_trigger(c, item, p);
                }
        } else if (strcmp(key, "for") == 0)
                (void)policy_node_duration(c, v, key, 0, 3600 * USEC_PER_SEC, &p->for_usec);
        else if (strcmp(key, "clearAfter") == 0)
                (void)policy_node_duration(c, v, key, 0, 3600 * USEC_PER_SEC, &p->clear_usec);
        else
                policy_node_unknown_key(c, k, key, "triggers", "any, all, for, clearAfter");
}

/* ---- actions ---- */

static void action_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        Action *a = userdata;

        if (strcmp(key, "type") == 0)
                return; /* read first, by parse_action */
        if (strcmp(key, "after") == 0)
                (void)policy_node_duration(c, v, key, 0, 24 * 3600 * USEC_PER_SEC, &a->after_usec);
        else if (strcmp(key, "cooldown") == 0)
                (void)policy_node_duration(c, v, key, 0, 24 * 3600 * USEC_PER_SEC, &a->cooldown_usec);
        else if (strcmp(key, "dryRun") == 0)
                (void)policy_node_bool(c, v, key, &a->dry_run);
        else if (strcmp(key, "allowProtected") == 0 &&
                 (a->type == ACTION_THROTTLE || a->type == ACTION_RESTART || a->type == ACTION_STOP ||
                  a->type == ACTION_FREEZE || a->type == ACTION_KILL)) {
                if (c->scope_ns) {
                        error_node(c, k, "allowProtected: for node-admin policies only");
                        return;
                }
                (void)policy_node_bool(c, v, key, &a->allow_protected);
        } else if (a->type == ACTION_THROTTLE && strcmp(key, "overrideKubelet") == 0)
                (void)policy_node_bool(c, v, key, &a->override_kubelet);
        else if (a->type == ACTION_EXEC && strcmp(key, "timeout") == 0)
                (void)policy_node_duration(c, v, key, USEC_PER_SEC, 600 * USEC_PER_SEC, &a->timeout_usec);
        else if (a->type == ACTION_THROTTLE && strcmp(key, "floor") == 0)
                (void)policy_node_size(c, v, key, &a->floor_bytes);
        else if (a->type == ACTION_THROTTLE && strcmp(key, "step") == 0)
                (void)policy_node_percent(c, v, key, &a->step_bp);
        else if (a->type == ACTION_THROTTLE && strcmp(key, "interval") == 0)
                (void)policy_node_duration(c, v, key, USEC_PER_SEC, 3600 * USEC_PER_SEC, &a->interval_usec);
        else if (a->type == ACTION_NOTIFY && strcmp(key, "webhook") == 0) {
                if (c->scope_ns) {
                        error_node(c, k,
                                   "webhook: not allowed in a namespace's policy (webhooks outside the "
                                   "node admin's allowlist are refused; no allowlist is configured)");
                        return;
                }
                a->webhook = policy_node_string(c, v, key);
                if (a->webhook && strncmp(a->webhook, "http://", 7) != 0 &&
                    strncmp(a->webhook, "https://", 8) != 0)
                        error_node(c, v, "webhook: expected an http:// or https:// URL");
        } else if (a->type == ACTION_EXEC && strcmp(key, "command") == 0) {
                if (!policy_node_is_seq(c, v, key))
                        return;
                size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
                if (n == 0 || n > 64) {
                        error_node(c, v, "command: 1 to 64 words (no shell: the first is the program)");
                        return;
                }
                a->argv = calloc(n + 1, sizeof(char *));
                if (!a->argv)
                        return;
                for (size_t i = 0; i < n; i++) {
                        yaml_node_t *w = policy_node_get(c, v->data.sequence.items.start[i]);
                        a->argv[i] = w ? policy_node_string(c, w, "command") : NULL;
                        if (!a->argv[i])
                                break;
                        a->argc++;
                }
                if (a->argc == n && a->argv[0][0] != '/')
                        error_node(c, v, "command: the program must be an absolute path");
        } else {
                static const char *const expected[_ACTION_TYPE_MAX] = {
                        [ACTION_NOTIFY] = "type, after, cooldown, dryRun, webhook",
                        [ACTION_REPORT] = "type, after, cooldown, dryRun",
                        /* parenthesised: clang's -Wstring-concatenation */
                        [ACTION_THROTTLE] =
                                ("type, after, cooldown, dryRun, floor, step, interval, allowProtected, "
                                 "overrideKubelet"),
                        [ACTION_RESTART] = "type, after, cooldown, dryRun, allowProtected",
                        [ACTION_STOP] = "type, after, cooldown, dryRun, allowProtected",
                        [ACTION_FREEZE] = "type, after, cooldown, dryRun, allowProtected",
                        [ACTION_KILL] = "type, after, cooldown, dryRun, allowProtected",
                        [ACTION_EXEC] = "type, after, cooldown, dryRun, command, timeout",
                };
                char what[48];
                snprintf(what, sizeof(what), "a %s action", action_names[a->type]);
                policy_node_unknown_key(c, k, key, what, expected[a->type]);
        }
}

static void parse_action(Ctx *c, yaml_node_t *item, Policy *p)
{
        const char *type = NULL;
        yaml_node_t *typenode = NULL;
        Action *a;
        int t;

        if (!policy_node_is_map(c, item, "an action"))
                return;
        for (yaml_node_pair_t *q = item->data.mapping.pairs.start; q < item->data.mapping.pairs.top; q++) {
                yaml_node_t *k = policy_node_get(c, q->key);
                if (k && k->type == YAML_SCALAR_NODE &&
                    strcmp((const char *)k->data.scalar.value, "type") == 0)
                        typenode = policy_node_get(c, q->value);
        }
        if (!typenode) {
                error_node(c, item,
                           "an action needs 'type' (notify, report, throttle, restart, stop, freeze, "
                           "kill, exec)");
                return;
        }
        type = policy_node_scalar(c, typenode, "type");
        if (!type)
                return;
        t = policy_names_lookup(action_names, _ACTION_TYPE_MAX, type);
        if (t < 0) {
                error_node(c, typenode,
                           "unknown action type '%s' (expected notify, report, throttle, restart, "
                           "stop, freeze, kill or exec)",
                           type);
                return;
        }
        if (c->scope_ns && (t == ACTION_RESTART || t == ACTION_STOP || t == ACTION_EXEC)) {
                error_node(c, typenode, "action '%s' is for node-admin policies only", type);
                return;
        }
        if (p->n_actions >= POLICY_ACTIONS_MAX) {
                error_node(c, item, "at most %d actions per policy", POLICY_ACTIONS_MAX);
                return;
        }
        a = &p->actions[p->n_actions++];
        *a = (Action){ .type = t,
                       .line = (unsigned)item->start_mark.line + 1,
                       .column = (unsigned)item->start_mark.column + 1,
                       .cooldown_usec = 300 * USEC_PER_SEC };
        if (t == ACTION_THROTTLE)
                a->step_bp = 1000, a->interval_usec = 10 * USEC_PER_SEC;
        if (t == ACTION_EXEC)
                a->timeout_usec = 10 * USEC_PER_SEC;
        policy_node_each_key(c, item, "an action", action_key, a);
        if (t == ACTION_THROTTLE && a->floor_bytes == 0)
                error_node(c, item,
                           "throttle needs 'floor': the lowest memory.high it may set (e.g. 256Mi)");
        if (t == ACTION_EXEC && a->argc == 0)
                error_node(c, item, "exec needs 'command'");
        if (p->n_actions > 1 && a->after_usec < p->actions[p->n_actions - 2].after_usec)
                error_node(c, item,
                           "the ladder goes up: this step's 'after' is shorter than the step before");
}

/* ---- document ---- */

typedef struct SpecCtx {
        Policy *p;
        bool seen_match, seen_triggers, seen_actions;
} SpecCtx;

static void select_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        Policy *p = userdata;
        const char *s;
        uint64_t n;

        if (strcmp(key, "by") == 0) {
                s = policy_node_scalar(c, v, key);
                int by = s ? policy_names_lookup(select_names, _SELECT_BY_MAX, s) : -1;
                if (s && by < 0)
                        error_node(c, v,
                                   "by: expected each, hungriest, leastImportant or pressure, got '%s'", s);
                p->select_by = by < 0 ? SELECT_EACH : (SelectBy)by;
        } else if (strcmp(key, "count") == 0) {
                s = policy_node_scalar(c, v, key);
                if (s && (parse_u64(s, &n) < 0 || n == 0 || n > 64))
                        error_node(c, v, "count: expected 1 to 64, got '%s'", s);
                else if (s)
                        p->select_count = (unsigned)n;
        } else if (strcmp(key, "window") == 0) {
                (void)policy_node_duration(c, v, key, 2 * USEC_PER_SEC, 600 * USEC_PER_SEC,
                                           &p->select_window_usec);
        } else
                policy_node_unknown_key(c, k, key, "select", "by, count, window");
}

static void spec_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        SpecCtx *sc = userdata;
        Policy *p = sc->p;

        if (strcmp(key, "match") == 0) {
                sc->seen_match = true;
                if (policy_node_is_map(c, v, key))
                        policy_node_each_key(c, v, key, match_key, &p->match);
        } else if (strcmp(key, "triggers") == 0) {
                TriggersCtx tc = { .p = p };
                sc->seen_triggers = true;
                if (!policy_node_is_map(c, v, key))
                        return;
                policy_node_each_key(c, v, key, triggers_key, &tc);
                if (!tc.seen_list)
                        error_node(c, v, "triggers need 'any' or 'all'");
                if (p->clear_usec == 0)
                        p->clear_usec = p->for_usec > 10 * USEC_PER_SEC ? p->for_usec : 10 * USEC_PER_SEC;
        } else if (strcmp(key, "actions") == 0) {
                sc->seen_actions = true;
                if (!policy_node_is_seq(c, v, key))
                        return;
                if (v->data.sequence.items.top == v->data.sequence.items.start)
                        error_node(c, v, "actions need at least one step");
                for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
                     i++) {
                        yaml_node_t *item = policy_node_get(c, *i);
                        if (item)
                                parse_action(c, item, p);
                }
        } else if (strcmp(key, "select") == 0) {
                if (policy_node_is_map(c, v, key))
                        policy_node_each_key(c, v, key, select_key, p);
        } else if (strcmp(key, "target") == 0) {
                const char *t = policy_node_scalar(c, v, key);
                if (t && strcmp(t, "children") == 0)
                        p->target_children = true;
                else if (t && strcmp(t, "self") != 0)
                        error_node(c, v, "target: expected self or children, got '%s'", t);
        } else
                policy_node_unknown_key(c, k, key, "spec", "match, select, target, triggers, actions");
}

typedef struct DocCtx {
        Policy *p;
        bool seen_api, seen_kind, seen_spec;
} DocCtx;

static void metadata_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        Policy *p = userdata;

        if (strcmp(key, "name") == 0) {
                p->name = policy_node_string(c, v, key);
                if (p->name && !policy_name_valid(p->name))
                        error_node(c, v, "name: lowercase letters, digits and '-', at most 63, got '%s'",
                                   p->name);
        } else if (strcmp(key, "description") != 0)
                policy_node_unknown_key(c, k, key, "metadata", "name, description");
}

static void doc_key(Ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata)
{
        DocCtx *dc = userdata;
        const char *s;

        if (strcmp(key, "apiVersion") == 0) {
                dc->seen_api = true;
                s = policy_node_scalar(c, v, key);
                if (s && strcmp(s, POLICY_API_VERSION) != 0)
                        error_node(c, v, "apiVersion: this memwarden reads '%s', not '%s'",
                                   POLICY_API_VERSION, s);
        } else if (strcmp(key, "kind") == 0) {
                dc->seen_kind = true;
                s = policy_node_scalar(c, v, key);
                if (s && strcmp(s, "Policy") != 0)
                        error_node(c, v, "kind: expected 'Policy', got '%s'", s);
        } else if (strcmp(key, "metadata") == 0) {
                if (policy_node_is_map(c, v, key))
                        policy_node_each_key(c, v, key, metadata_key, dc->p);
        } else if (strcmp(key, "spec") == 0) {
                SpecCtx sc = { .p = dc->p };
                dc->seen_spec = true;
                if (!policy_node_is_map(c, v, key))
                        return;
                policy_node_each_key(c, v, key, spec_key, &sc);
                if (!sc.seen_match)
                        error_node(c, v, "spec needs 'match' (use 'match: {}' to match every cgroup)");
                if (!sc.seen_triggers)
                        error_node(c, v, "spec needs 'triggers'");
                if (!sc.seen_actions)
                        error_node(c, v, "spec needs 'actions'");
        } else
                policy_node_unknown_key(c, k, key, "a policy", "apiVersion, kind, metadata, spec");
}

static void policy_free_fields(Policy *p)
{
        free(p->name);
        free(p->file);
        free(p->scope_namespace);
        free(p->match.cgroup);
        free(p->match.unit);
        free(p->match.namespace);
        free(p->match.pod);
        free(p->match.container);
        for (size_t i = 0; i < p->n_actions; i++) {
                free(p->actions[i].webhook);
                for (size_t j = 0; p->actions[i].argv && j < p->actions[i].argc; j++)
                        free(p->actions[i].argv[j]);
                free(p->actions[i].argv);
        }
}

/* target: children: the children take the matched cgroup's triggers, so a
 * trigger read on the target itself (usage, v1 pressureLevel) has no meaning
 * there, and steps with an undo (throttle, freeze) would need one per child. */
static void check_target_children(Ctx *c, yaml_node_t *root, const Policy *p)
{
        for (size_t i = 0; i < p->n_triggers; i++)
                if (p->triggers[i].type == TRIGGER_USAGE || p->triggers[i].type == TRIGGER_PRESSURE_LEVEL)
                        policy_ctx_error(c, p->triggers[i].line, p->triggers[i].column,
                                         "target: children takes memoryEvents, pressure, nodePressure and "
                                         "nodeAvailable triggers, not %s",
                                         trigger_type_to_string(p->triggers[i].type));
        for (size_t i = 0; i < p->n_actions; i++)
                if (p->actions[i].type == ACTION_THROTTLE || p->actions[i].type == ACTION_FREEZE)
                        policy_ctx_error(
                                c, p->actions[i].line, p->actions[i].column,
                                "target: children: %s is not supported (its undo would be per child)",
                                action_type_to_string(p->actions[i].type));
        (void)root;
}

static void compile_document(Ctx *c, yaml_node_t *root, Policy *p)
{
        DocCtx dc = { .p = p };

        *p = (Policy){ .line = (unsigned)root->start_mark.line + 1,
                       .column = (unsigned)root->start_mark.column + 1,
                       .match.qos = _QOS_INVALID,
                       .select_count = 1,
                       .select_window_usec = 10 * USEC_PER_SEC };
        if (!policy_node_is_map(c, root, "a policy document"))
                return;
        policy_node_each_key(c, root, "a policy", doc_key, &dc);
        if (!dc.seen_api)
                error_node(c, root, "a policy needs 'apiVersion: %s'", POLICY_API_VERSION);
        if (!dc.seen_kind)
                error_node(c, root, "a policy needs 'kind: Policy'");
        if (!p->name)
                error_node(c, root, "a policy needs 'metadata: {name: ...}'");
        if (!dc.seen_spec)
                error_node(c, root, "a policy needs 'spec'");
        if (c->scope_ns && !p->match.namespace)
                p->match.namespace = strdup(c->scope_ns);
        if (p->target_children)
                check_target_children(c, root, p);
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
        for (int i = 0; i < 8; i++, v >>= 8)
                h = (h ^ (v & 0xff)) * 0x100000001b3ULL;
        return h;
}

/* NULL and "" differ; a length prefix keeps "ab"+"c" apart from "a"+"bc". */
static uint64_t hash_str(uint64_t h, const char *s)
{
        if (!s)
                return hash_u64(h, UINT64_MAX);
        h = hash_u64(h, strlen(s));
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
        return h;
}

static uint64_t hash_trigger(uint64_t h, const Trigger *t)
{
        h = hash_u64(h, (uint64_t)t->type);
        h = hash_u64(h, (uint64_t)t->counter);
        h = hash_u64(h, t->increase);
        h = hash_u64(h, t->window_usec);
        h = hash_u64(h, (uint64_t)t->level);
        h = hash_u64(h, (uint64_t)t->psi_type);
        h = hash_u64(h, t->above_bp);
        h = hash_u64(h, (uint64_t)t->usage_of);
        return hash_u64(h, t->below_bytes);
}

static uint64_t hash_action(uint64_t h, const Action *a)
{
        h = hash_u64(h, (uint64_t)a->type);
        h = hash_u64(h, a->after_usec);
        h = hash_u64(h, a->cooldown_usec);
        h = hash_u64(h, (uint64_t)a->override_kubelet << 2 | (uint64_t)a->dry_run << 1 |
                                (uint64_t)a->allow_protected);
        h = hash_u64(h, a->floor_bytes);
        h = hash_u64(h, a->step_bp);
        h = hash_u64(h, a->interval_usec);
        h = hash_str(h, a->webhook);
        h = hash_u64(h, a->argc);
        for (size_t i = 0; i < a->argc; i++)
                h = hash_str(h, a->argv[i]);
        return hash_u64(h, a->timeout_usec);
}

uint64_t policy_content_hash(const Policy *p)
{
        uint64_t h = 0xcbf29ce484222325ULL;

        h = hash_str(h, p->match.cgroup);
        h = hash_str(h, p->match.unit);
        h = hash_str(h, p->match.namespace);
        h = hash_str(h, p->match.pod);
        h = hash_str(h, p->match.container);
        h = hash_u64(h, (uint64_t)p->match.qos);
        h = hash_u64(h, p->all);
        h = hash_u64(h, p->n_triggers);
        for (size_t i = 0; i < p->n_triggers; i++)
                h = hash_trigger(h, &p->triggers[i]);
        h = hash_u64(h, p->for_usec);
        h = hash_u64(h, p->clear_usec);
        h = hash_u64(h, (uint64_t)p->select_by);
        h = hash_u64(h, p->select_count);
        h = hash_u64(h, p->select_window_usec);
        h = hash_u64(h, p->target_children);
        h = hash_u64(h, p->n_actions);
        for (size_t i = 0; i < p->n_actions; i++)
                h = hash_action(h, &p->actions[i]);
        return h;
}

typedef struct Loaded {
        Policy *v;
        size_t n;
} Loaded;

static int compile_one(Ctx *c, yaml_node_t *root, void *userdata)
{
        Loaded *got = userdata;
        Policy *np = realloc(got->v, (got->n + 1) * sizeof(Policy)), *p;

        if (!np)
                return -ENOMEM;
        got->v = np;
        p = &got->v[got->n++];
        compile_document(c, root, p);
        p->file = strdup(c->file);
        p->scope_namespace = c->scope_ns ? strdup(c->scope_ns) : NULL;
        p->hash = policy_content_hash(p);
        return 0;
}

static bool same_name(const Policy *a, const Policy *b)
{
        return a->name && b->name && strcmp(a->name, b->name) == 0 &&
               !!a->scope_namespace == !!b->scope_namespace &&
               (!a->scope_namespace || strcmp(a->scope_namespace, b->scope_namespace) == 0);
}

int policy_load_buffer(PolicySet *set, const char *file, const char *text, size_t len, const char *scope_ns,
                       PolicyErrors *errors)
{
        Ctx c = { .file = file, .scope_ns = scope_ns, .errors = errors };
        Loaded got = {};
        int r;

        r = policy_parse_documents(&c, text, len, compile_one, &got);
        for (size_t i = 0; i < got.n && c.n_errors == 0; i++)
                for (size_t j = 0; j < set->n; j++)
                        if (same_name(&got.v[i], &set->policies[j]))
                                policy_ctx_error(&c, got.v[i].line, got.v[i].column,
                                                 "policy '%s' is already defined at %s:%u", got.v[i].name,
                                                 set->policies[j].file, set->policies[j].line);
        if (r != -ENOMEM && c.n_errors == 0 && got.n > 0) {
                Policy *np = realloc(set->policies, (set->n + got.n) * sizeof(Policy));
                if (np) {
                        set->policies = np;
                        memcpy(set->policies + set->n, got.v, got.n * sizeof(Policy));
                        set->n += got.n;
                        free(got.v);
                        return 0;
                }
                r = -ENOMEM;
        }
        for (size_t i = 0; i < got.n; i++)
                policy_free_fields(&got.v[i]);
        free(got.v);
        return r == -ENOMEM ? r : c.n_errors ? -EINVAL : 0;
}

void policy_set_done(PolicySet *set)
{
        for (size_t i = 0; i < set->n; i++)
                policy_free_fields(&set->policies[i]);
        free(set->policies);
        *set = (PolicySet){};
}
