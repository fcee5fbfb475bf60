/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "macro.h"
#include "node.h"
#include "record.h"

static const char *const record_type_names[_RECORD_TYPE_MAX] = {
        [RECORD_STARTED] = "started",
        [RECORD_CGROUP_ADDED] = "cgroup_added",
        [RECORD_CGROUP_REMOVED] = "cgroup_removed",
        [RECORD_MEMORY_EVENTS] = "memory_events",
        [RECORD_PSI] = "psi",
        [RECORD_CGROUP_EVENTS] = "cgroup_events",
        [RECORD_LIMITS] = "limits",
        [RECORD_RESCAN] = "rescan",
        [RECORD_WARNING] = "warning",
        [RECORD_POLICY] = "policy",
        [RECORD_ACTION] = "action",
        [RECORD_NODE] = "node",
        [RECORD_PRESSURE_LEVEL] = "pressure_level",
        [RECORD_USAGE_THRESHOLD] = "usage_threshold",
        [RECORD_IDENTITY] = "identity",
};

const char *record_type_to_string(RecordType t)
{
        if (t < 0 || t >= _RECORD_TYPE_MAX)
                return NULL;
        return record_type_names[t];
}

static const char *const action_result_names[_ACTION_RESULT_MAX] = {
        [ACTION_RESULT_DONE] = "done",       [ACTION_RESULT_STARTED] = "started",
        [ACTION_RESULT_FAILED] = "failed",   [ACTION_RESULT_REFUSED] = "refused",
        [ACTION_RESULT_DRY_RUN] = "dry-run", [ACTION_RESULT_SKIPPED] = "skipped",
};

const char *action_result_to_string(ActionResult a)
{
        if (a < 0 || a >= _ACTION_RESULT_MAX)
                return NULL;
        return action_result_names[a];
}

ActionResult action_result_from_string(const char *s)
{
        for (int i = 0; s && i < _ACTION_RESULT_MAX; i++)
                if (strcmp(s, action_result_names[i]) == 0)
                        return (ActionResult)i;
        return _ACTION_RESULT_INVALID;
}

static void put_time(JsonWriter *j, uint64_t real_usec)
{
        time_t t = (time_t)(real_usec / USEC_PER_SEC);
        struct tm tm;
        char b[80];

        gmtime_r(&t, &tm);
        snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(real_usec % USEC_PER_SEC));
        json_key(j, "ts");
        json_string(j, b);
}

static void put_counters(JsonWriter *j, const char *key, const MemEvents *ev)
{
        json_key(j, key);
        json_object_open(j);
        for (int i = 0; i < _MEMEV_MAX; i++) {
                if (!(ev->present & (1U << i)))
                        continue;
                json_key(j, memevent_to_string((MemEvent)i));
                json_u64(j, ev->value[i]);
        }
        for (unsigned i = 0; i < ev->n_extra; i++) {
                json_key(j, ev->extra[i].name);
                json_u64(j, ev->extra[i].value);
        }
        json_object_close(j);
}

static void put_delta(JsonWriter *j, const char *key, const MemEventsDelta *d, const MemEvents *names)
{
        json_key(j, key);
        json_object_open(j);
        for (int i = 0; i < _MEMEV_MAX; i++)
                if (d->value[i] > 0) {
                        json_key(j, memevent_to_string((MemEvent)i));
                        json_u64(j, d->value[i]);
                }
        for (unsigned i = 0; names && i < names->n_extra; i++)
                if (d->extra[i] > 0) {
                        json_key(j, names->extra[i].name);
                        json_u64(j, d->extra[i]);
                }
        json_object_close(j);
}

static void put_psi(JsonWriter *j, const PsiStats *p)
{
        json_key(j, "psi");
        json_object_open(j);
        psi_line_format_json(j, "some", &p->some);
        if (p->has_full)
                psi_line_format_json(j, "full", &p->full);
        json_object_close(j);
}

static void put_identity(JsonWriter *j, const Cgroup *c)
{
        char id[72];

        json_key(j, "kind");
        json_string(j, cgroup_kind_to_string(c->kind));
        if (c->kind == CGROUP_KIND_POD && pod_uid_from_name(c->name, id, sizeof(id)) >= 0) {
                json_key(j, "pod_uid");
                json_string(j, id);
        }
        if (c->kind == CGROUP_KIND_CONTAINER && container_id_from_name(c->name, id, sizeof(id)) >= 0) {
                json_key(j, "container_id");
                json_string(j, id);
        }
        if (c->container_name && c->container_name[0]) {
                json_key(j, "container");
                json_string(j, c->container_name);
        }
        const Cgroup *pod = cgroup_pod(c);
        if (pod && pod->pod_namespace && pod->pod_namespace[0]) {
                json_key(j, "namespace");
                json_string(j, pod->pod_namespace);
                json_key(j, "pod");
                json_string(j, pod->pod_name);
        }
}

static void put_steps(JsonWriter *j, const char *key, const Policy *p, uint32_t mask, bool dry)
{
        json_key(j, key);
        json_array_open(j);
        for (size_t i = 0; i < p->n_actions; i++)
                if ((mask & (1U << i)) && (!dry || p->actions[i].dry_run))
                        json_string(j, action_type_to_string(p->actions[i].type));
        json_array_close(j);
}

static void put_decision(JsonWriter *j, const Record *r)
{
        const Policy *p = r->policy;
        char src[4200];

        if (!p || !r->decision)
                return;
        json_key(j, "policy");
        json_string(j, p->name);
        json_key(j, "source");
        snprintf(src, sizeof(src), "%s:%u", p->file, p->line);
        json_string(j, src);
        if (p->select_by != SELECT_EACH) {
                json_key(j, "select");
                json_string(j, select_by_to_string(p->select_by));
                json_key(j, "select_count");
                json_u64(j, p->select_count);
        }
        json_key(j, "phase");
        json_string(j, policy_phase_to_string(r->phase));
        json_key(j, "fired");
        json_bool(j, r->decision->fired);
        json_key(j, "cleared");
        json_bool(j, r->decision->cleared);
        put_steps(j, "run", p, r->decision->run_steps, false);
        put_steps(j, "dry_run", p, r->decision->run_steps, true);
        put_steps(j, "undo", p, r->decision->undo_steps, false);
}

static void put_outcome(JsonWriter *j, const ActionOutcome *o)
{
        if (!o)
                return;
        json_key(j, "policy");
        json_string(j, o->policy);
        if (o->policy_namespace) {
                json_key(j, "policy_namespace");
                json_string(j, o->policy_namespace);
        }
        json_key(j, "action");
        json_string(j, action_type_to_string(o->action));
        json_key(j, "undo");
        json_bool(j, o->undo);
        json_key(j, "result");
        json_string(j, action_result_to_string(o->result));
        if (o->via) {
                json_key(j, "via");
                json_string(j, o->via);
        }
        if (o->unit) {
                json_key(j, "unit");
                json_string(j, o->unit);
        }
        if (o->has_values) {
                json_key(j, "old_memory_high");
                json_limit(j, o->old_value);
                json_key(j, "new_memory_high");
                json_limit(j, o->new_value);
        }
        if (o->report) {
                json_key(j, "report");
                json_string(j, o->report);
        }
        if (o->detail) {
                json_key(j, "detail");
                json_string(j, o->detail);
        }
}

static void put_limits(JsonWriter *j, const Cgroup *c)
{
        json_key(j, "memory_high");
        json_limit(j, c->high);
        json_key(j, "memory_max");
        json_limit(j, c->max);
}

static int finish(JsonWriter *j, size_t *ret_len)
{
        if (j->overflow)
                return -ENOBUFS;
        *ret_len = j->len;
        return 0;
}

static void put_v1(JsonWriter *j, const Cgroup *c)
{
        json_key(j, "pressure_level");
        json_object_open(j);
        for (int i = 0; i < _V1_LEVEL_MAX; i++) {
                json_key(j, v1_level_to_string((V1Level)i));
                json_u64(j, c->v1->pressure[i]);
        }
        json_object_close(j);
        json_key(j, "under_oom");
        json_bool(j, c->v1->under_oom);
        if (c->v1->threshold) {
                json_key(j, "usage_threshold");
                json_u64(j, c->v1->threshold);
        }
}

/* What the output adds: coalescing and what it could not write. */
static void put_output_fields(JsonWriter *j, const Record *r)
{
        if (r->coalesced > 0) {
                json_key(j, "coalesced");
                json_u64(j, r->coalesced);
        }
        if (r->dropped > 0) {
                json_key(j, "dropped");
                json_u64(j, r->dropped);
        }
        if (r->sink) {
                json_key(j, "sink");
                json_string(j, r->sink);
        }
        if (r->too_long) {
                json_key(j, "too_long");
                json_string(j, r->too_long);
        }
}

static void put_cgroup_events(JsonWriter *j, const Record *r)
{
        const Cgroup *c = r->cgroup;

        json_key(j, "populated");
        json_bool(j, c->cgevents.populated);
        json_key(j, "frozen");
        json_bool(j, c->cgevents.frozen);
        json_key(j, "was");
        json_object_open(j);
        json_key(j, "populated");
        json_bool(j, r->cgevents_old->populated);
        json_key(j, "frozen");
        json_bool(j, r->cgevents_old->frozen);
        json_object_close(j);
}

static bool is_notify(const Record *r)
{
        return r->type == RECORD_ACTION && r->outcome && r->outcome->action == ACTION_NOTIFY;
}

static void put_action(JsonWriter *j, const Record *r)
{
        const Cgroup *c = r->cgroup;

        put_outcome(j, r->outcome);
        if (c && c->watched && is_notify(r)) {
                /* A notification carries what it is about. */
                if (c->has_memory)
                        put_counters(j, "counters", &c->events);
                if (c->psi_fd >= 0)
                        put_psi(j, &c->psi);
                if (c->v1)
                        put_v1(j, c);
        }
}

static void put_node(JsonWriter *j, const NodeStats *n)
{
        if (n && n->has_psi)
                put_psi(j, &n->psi);
        if (n && n->has_mem) {
                json_key(j, "mem_available");
                json_u64(j, n->mem_available);
                json_key(j, "mem_total");
                json_u64(j, n->mem_total);
        }
}

/* What every record starts with: when, what, about which cgroup. */
static void put_head(JsonWriter *j, const Record *r)
{
        put_time(j, r->real_usec);
        json_key(j, "mono_us");
        json_u64(j, r->mono_usec);
        json_key(j, "event");
        json_string(j, record_type_to_string(r->type));
        if (r->path) {
                json_key(j, "cgroup");
                json_string(j, r->path);
        }
        if (r->cgroup && r->type != RECORD_STARTED && r->type != RECORD_RESCAN)
                put_identity(j, r->cgroup);
}

/* The fields of the record's own type. */
static void put_body(JsonWriter *j, const Record *r)
{
        const Cgroup *c = r->cgroup;

        switch (r->type) {
        case RECORD_MEMORY_EVENTS:
                put_delta(j, "delta", r->delta, &c->events);
                if (r->delta_local)
                        put_delta(j, "delta_local", r->delta_local, NULL);
                put_counters(j, "counters", &c->events);
                break;
        case RECORD_PSI:
                put_psi(j, &c->psi);
                json_key(j, "psi_events");
                json_u64(j, c->n_psi_events);
                break;
        case RECORD_CGROUP_EVENTS:
                put_cgroup_events(j, r);
                break;
        case RECORD_LIMITS:
                json_key(j, "old_memory_high");
                json_limit(j, r->old_high);
                json_key(j, "old_memory_max");
                json_limit(j, r->old_max);
                break;
        case RECORD_POLICY:
                put_decision(j, r);
                break;
        case RECORD_ACTION:
                put_action(j, r);
                break;
        case RECORD_NODE:
                put_node(j, r->node);
                break;
        case RECORD_PRESSURE_LEVEL:
                json_key(j, "level");
                json_string(j, v1_level_to_string(r->level));
                json_key(j, "count");
                json_u64(j, r->count);
                put_v1(j, c);
                break;
        case RECORD_USAGE_THRESHOLD:
                json_key(j, "threshold");
                json_u64(j, r->threshold);
                break;
        case RECORD_CGROUP_ADDED:
        case RECORD_IDENTITY:
                json_key(j, "watched");
                json_bool(j, c->watched);
                break;
        default:
                break;
        }
}

/* What records of several types share: limits, usage, timing, words. */
static void put_tail(JsonWriter *j, const Record *r)
{
        if (r->cgroup &&
            (r->type == RECORD_MEMORY_EVENTS || r->type == RECORD_PSI || r->type == RECORD_LIMITS ||
             r->type == RECORD_CGROUP_ADDED || r->type == RECORD_PRESSURE_LEVEL ||
             r->type == RECORD_USAGE_THRESHOLD || is_notify(r)))
                put_limits(j, r->cgroup);
        if (r->current != UINT64_MAX) {
                json_key(j, "memory_current");
                json_u64(j, r->current);
        }
        if (r->type == RECORD_STARTED || r->type == RECORD_RESCAN) {
                json_key(j, "walk_us");
                json_u64(j, r->duration_usec);
        }
        put_output_fields(j, r);
        if (r->message) {
                json_key(j, "message");
                json_string(j, r->message);
        }
        if (r->error < 0) {
                const char *name = strerrorname_np(-r->error);
                json_key(j, "error");
                json_string(j, name ? name : "unknown");
        }
}

int record_format_json(const Record *r, char *buf, size_t size, size_t *ret_len)
{
        JsonWriter j;

        json_init(&j, buf, size);
        json_object_open(&j);
        put_head(&j, r);
        put_body(&j, r);
        put_tail(&j, r);
        json_object_close(&j);
        json_raw(&j, "\n", 1);
        return finish(&j, ret_len);
}

int cgroup_format_json(const Cgroup *c, char *buf, size_t size, size_t *ret_len)
{
        char path[4096];
        JsonWriter j;

        json_init(&j, buf, size);
        json_object_open(&j);
        json_key(&j, "cgroup");
        if (cgroup_path(c, path, sizeof(path)) >= 0)
                json_string(&j, path);
        else
                json_null(&j);
        put_identity(&j, c);
        json_key(&j, "watched");
        json_bool(&j, c->watched);
        put_limits(&j, c);
        if (c->watched) {
                if (c->has_memory)
                        put_counters(&j, "counters", &c->events);
                if (c->v1)
                        put_v1(&j, c);
                else {
                        json_key(&j, "populated");
                        json_bool(&j, c->cgevents.populated);
                        json_key(&j, "frozen");
                        json_bool(&j, c->cgevents.frozen);
                }
                json_key(&j, "psi_armed");
                json_bool(&j, c->psi_fd >= 0);
                if (c->psi_fd >= 0)
                        put_psi(&j, &c->psi);
                json_key(&j, "psi_events");
                json_u64(&j, c->n_psi_events);
        }
        json_key(&j, "last_event_mono_us");
        json_u64(&j, c->last_event_usec);
        json_object_close(&j);
        return finish(&j, ret_len);
}
