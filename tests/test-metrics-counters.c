/* SPDX-License-Identifier: MIT */
/* What /metrics counts, on synthetic dispatches: records by type, outcomes
 * by policy/action/result with the table's bound, and the latency from a
 * decision's cause to each step's first outcome (at once, in the
 * background, from a timer), never for an undo, a "started", a later
 * outcome of the same step, or a reused slot. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "metrics-counters.h"
#include "test-main.h"

static Cgroup *cg(uint32_t slot, uint32_t serial)
{
        Cgroup *c = calloc(1, sizeof(Cgroup) + 1);
        ck_assert_ptr_nonnull(c);
        c->slot = slot;
        c->serial = serial;
        return c;
}

static void kernel(MetricsCounters *k, const Cgroup *c, uint64_t t)
{
        Record r = record_init(RECORD_MEMORY_EVENTS);
        r.cgroup = c;
        r.mono_usec = t;
        metrics_counters_record(k, METRICS_ORIGIN_KERNEL, &r, t);
}

static void decision(MetricsCounters *k, const Cgroup *c, uint64_t t)
{
        Record r = record_init(RECORD_POLICY);
        r.cgroup = c;
        r.mono_usec = t;
        metrics_counters_record(k, METRICS_ORIGIN_DECISION, &r, t);
        metrics_counters_record_done(k, METRICS_ORIGIN_DECISION);
}

static void outcome(MetricsCounters *k, const Cgroup *c, const char *policy, const char *ns, ActionType a,
                    ActionResult res, bool undo, uint64_t t)
{
        ActionOutcome o = {
                .policy = policy, .policy_namespace = ns, .action = a, .result = res, .undo = undo
        };
        Record r = record_init(RECORD_ACTION);
        r.cgroup = c;
        r.outcome = &o;
        r.mono_usec = t;
        metrics_counters_record(k, METRICS_ORIGIN_OUTCOME, &r, t);
}

static uint64_t count_of(const MetricsCounters *k, const char *policy, ActionType a, ActionResult res)
{
        for (unsigned i = 0; i < k->n_actions; i++)
                if (strcmp(k->actions[i].policy, policy) == 0 && k->actions[i].action == a &&
                    k->actions[i].result == res)
                        return k->actions[i].n;
        return 0;
}

START_TEST(test_records_and_actions)
{
        static MetricsCounters k;
        Cgroup *c = cg(3, 1);

        memset(&k, 0, sizeof(k));
        kernel(&k, c, 100);
        metrics_counters_record_done(&k, METRICS_ORIGIN_KERNEL);
        outcome(&k, c, "web", NULL, ACTION_NOTIFY, ACTION_RESULT_DONE, false, 200);
        outcome(&k, c, "web", NULL, ACTION_NOTIFY, ACTION_RESULT_DONE, false, 300);
        outcome(&k, c, "web", "shop", ACTION_NOTIFY, ACTION_RESULT_DONE, false, 300);
        outcome(&k, c, "web", NULL, ACTION_KILL, ACTION_RESULT_FAILED, false, 300);
        ck_assert_uint_eq(k.records[RECORD_MEMORY_EVENTS], 1);
        ck_assert_uint_eq(k.records[RECORD_ACTION], 4);
        ck_assert_uint_eq(count_of(&k, "web", ACTION_NOTIFY, ACTION_RESULT_DONE), 2);
        ck_assert_uint_eq(count_of(&k, "shop/web", ACTION_NOTIFY, ACTION_RESULT_DONE), 1);
        ck_assert_uint_eq(count_of(&k, "web", ACTION_KILL, ACTION_RESULT_FAILED), 1);
        ck_assert_uint_eq(k.n_actions, 3);
        free(c);
}
END_TEST

/* Tenants name namespace policies: however many, the table stays bounded. */
START_TEST(test_actions_bounded)
{
        static MetricsCounters k;
        Cgroup *c = cg(0, 1);
        char name[64];

        memset(&k, 0, sizeof(k));
        for (unsigned i = 0; i < 3 * METRICS_ACTION_SERIES_MAX; i++) {
                snprintf(name, sizeof(name), "p%u", i);
                outcome(&k, c, name, "tenant", ACTION_NOTIFY, ACTION_RESULT_DONE, false, 1);
        }
        ck_assert_uint_eq(k.n_actions, METRICS_ACTION_SERIES_MAX);
        ck_assert_uint_eq(k.actions_other, 2 * METRICS_ACTION_SERIES_MAX);
        /* One already in the table still counts as itself. */
        outcome(&k, c, "p0", "tenant", ACTION_NOTIFY, ACTION_RESULT_DONE, false, 1);
        ck_assert_uint_eq(count_of(&k, "tenant/p0", ACTION_NOTIFY, ACTION_RESULT_DONE), 2);
        /* A name as long as a policy's may be, in a long namespace: cut, never overrun. */
        char big[300];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        memset(&k, 0, sizeof(k));
        outcome(&k, c, big, big, ACTION_NOTIFY, ACTION_RESULT_DONE, false, 1);
        ck_assert_uint_eq(strlen(k.actions[0].policy), sizeof(k.actions[0].policy) - 1);
        free(c);
}
END_TEST

START_TEST(test_latency)
{
        static MetricsCounters k;
        Cgroup *a = cg(5, 1), *b = cg(5 + LATENCY_CAUSES_N, 1), *reused = cg(5, 2);

        memset(&k, 0, sizeof(k));
        /* A kernel event at 1000 makes a decision at 1100; notify is done at 1300,
         * the report (a background step) ends at 51000. */
        kernel(&k, a, 1000);
        decision(&k, a, 1100);
        outcome(&k, a, "p", NULL, ACTION_NOTIFY, ACTION_RESULT_DONE, false, 1300);
        outcome(&k, a, "p", NULL, ACTION_REPORT, ACTION_RESULT_STARTED, false, 1300); /* not yet */
        metrics_counters_record_done(&k, METRICS_ORIGIN_KERNEL);
        outcome(&k, a, "p", NULL, ACTION_REPORT, ACTION_RESULT_DONE, false, 51000);
        outcome(&k, a, "p", NULL, ACTION_NOTIFY, ACTION_RESULT_FAILED, false, 9000000); /* webhook, later */
        outcome(&k, a, "p", NULL, ACTION_THROTTLE, ACTION_RESULT_DONE, true, 9000000);  /* an undo */
        ck_assert_uint_eq(k.latency[ACTION_NOTIFY].count, 1);
        ck_assert_uint_eq(k.latency[ACTION_NOTIFY].sum_usec, 300);
        ck_assert_uint_eq(k.latency[ACTION_REPORT].count, 1);
        ck_assert_uint_eq(k.latency[ACTION_REPORT].sum_usec, 50000);
        ck_assert_uint_eq(k.latency[ACTION_THROTTLE].count, 0);

        /* A decision of the policy's timer (no kernel record being dispatched): from the timer. */
        decision(&k, a, 2000000);
        outcome(&k, a, "p", NULL, ACTION_KILL, ACTION_RESULT_DONE, false, 2000040);
        ck_assert_uint_eq(k.latency[ACTION_KILL].count, 1);
        ck_assert_uint_eq(k.latency[ACTION_KILL].sum_usec, 40);
        /* The next decision times notify again. */
        outcome(&k, a, "p", NULL, ACTION_NOTIFY, ACTION_RESULT_DONE, false, 2000050);
        ck_assert_uint_eq(k.latency[ACTION_NOTIFY].count, 2);

        /* Another cgroup on the same entry takes it over; the first's late outcomes are not timed. */
        decision(&k, b, 3000000);
        outcome(&k, a, "p", NULL, ACTION_FREEZE, ACTION_RESULT_DONE, false, 3000010);
        ck_assert_uint_eq(k.latency[ACTION_FREEZE].count, 0);
        /* Nor the outcomes of a new cgroup in a reused slot. */
        decision(&k, a, 4000000);
        outcome(&k, reused, "p", NULL, ACTION_FREEZE, ACTION_RESULT_DONE, false, 4000010);
        ck_assert_uint_eq(k.latency[ACTION_FREEZE].count, 0);
        /* No cgroup, no outcome struct, an action out of range: counted as records only. */
        Record r = record_init(RECORD_ACTION);
        metrics_counters_record(&k, METRICS_ORIGIN_OUTCOME, &r, 1);
        ActionOutcome o = { .policy = "p", .action = _ACTION_TYPE_MAX };
        r.outcome = &o;
        metrics_counters_record(&k, METRICS_ORIGIN_OUTCOME, &r, 1);
        r.type = _RECORD_TYPE_INVALID;
        metrics_counters_record(&k, METRICS_ORIGIN_OTHER, &r, 1);
        free(a);
        free(b);
        free(reused);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("metrics-counters");
        TCase *tc = tcase_create("counters");

        tcase_add_test(tc, test_records_and_actions);
        tcase_add_test(tc, test_actions_bounded);
        tcase_add_test(tc, test_latency);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
