/* SPDX-License-Identifier: MIT */
#include "metrics-counters.h"

#include <stdio.h>
#include <string.h>

static void count_action(MetricsCounters *k, const ActionOutcome *o)
{
        char name[192];
        ActionCounter *a = NULL;

        snprintf(name, sizeof(name), "%s%s%s", o->policy_namespace ?: "", o->policy_namespace ? "/" : "",
                 o->policy ?: "");
        for (unsigned i = 0; i < k->n_actions && !a; i++)
                if (k->actions[i].action == o->action && k->actions[i].result == o->result &&
                    strcmp(k->actions[i].policy, name) == 0)
                        a = &k->actions[i];
        if (!a && k->n_actions < METRICS_ACTION_SERIES_MAX) {
                a = &k->actions[k->n_actions++];
                memcpy(a->policy, name, sizeof(a->policy));
                a->action = (uint8_t)o->action;
                a->result = (uint8_t)o->result;
        }
        if (a)
                a->n++;
        else
                k->actions_other++;
}

/* A step's first outcome after its decision, timed from the decision's
 * cause: for a step done at once the time to do it, for one that runs in the
 * background (a report, a webhook, a systemd job) the time to its end. */
static void time_outcome(MetricsCounters *k, const Record *r, uint64_t now)
{
        const ActionOutcome *o = r->outcome;
        LatencyCause *c;

        if (!r->cgroup || o->undo || o->result == ACTION_RESULT_STARTED)
                return;
        c = &k->causes[r->cgroup->slot % LATENCY_CAUSES_N];
        if (!c->used || c->slot != r->cgroup->slot || c->serial != r->cgroup->serial ||
            (c->timed & (1u << o->action)) || now < c->cause_usec)
                return;
        c->timed |= 1u << o->action;
        latency_observe(&k->latency[o->action], now - c->cause_usec);
}

void metrics_counters_record(MetricsCounters *k, MetricsOrigin origin, const Record *r, uint64_t now)
{
        if (r->type >= 0 && r->type < _RECORD_TYPE_MAX)
                k->records[r->type]++;
        switch (origin) {
        case METRICS_ORIGIN_KERNEL:
                k->in_watcher = true;
                k->watcher_usec = r->mono_usec;
                break;
        case METRICS_ORIGIN_DECISION:
                if (r->cgroup)
                        k->causes[r->cgroup->slot % LATENCY_CAUSES_N] = (LatencyCause){
                                .slot = r->cgroup->slot,
                                .serial = r->cgroup->serial,
                                .cause_usec =
                                        k->in_watcher && k->watcher_usec ? k->watcher_usec : r->mono_usec,
                                .used = true,
                        };
                break;
        case METRICS_ORIGIN_OUTCOME:
                if (!r->outcome || r->outcome->action < 0 || r->outcome->action >= _ACTION_TYPE_MAX)
                        break;
                count_action(k, r->outcome);
                time_outcome(k, r, now);
                break;
        default:
                break;
        }
}

void metrics_counters_record_done(MetricsCounters *k, MetricsOrigin origin)
{
        if (origin == METRICS_ORIGIN_KERNEL)
                k->in_watcher = false;
}
