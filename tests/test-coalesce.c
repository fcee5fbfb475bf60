/* SPDX-License-Identifier: MIT */
/* Output coalescing of memory_events on a synthetic clock: a burst gives one
 * record at once and one summary per interval, the written deltas sum to the
 * notified ones, a quiet cgroup costs nothing, a removed cgroup's pending
 * summary comes out before it goes. */
#include <check.h>
#include <stdint.h>

#include "coalesce.h"
#include "macro.h"
#include "test-main.h"

#define T0  (100 * USEC_PER_SEC)
#define SEC USEC_PER_SEC

/* What was written, summed as a reader of the output would. */
typedef struct Out {
        unsigned records, summaries;
        uint64_t max, high, local_max, notifications;
} Out;

static void out_summary(Out *o, const CoalesceEntry *e)
{
        o->records++;
        o->summaries++;
        o->max += e->delta.value[MEMEV_MAX];
        o->high += e->delta.value[MEMEV_HIGH];
        if (e->has_local)
                o->local_max += e->delta_local.value[MEMEV_MAX];
        o->notifications += e->count;
}

/* One notification: the verdict applied to out. */
static CoalesceVerdict feed(Coalescer *c, Out *o, uint32_t slot, uint64_t now, uint64_t max, uint64_t high,
                            bool local)
{
        MemEventsDelta d = { .any = true }, dl = { .any = true };
        CoalesceEntry e;
        CoalesceVerdict v;

        d.value[MEMEV_MAX] = max;
        d.value[MEMEV_HIGH] = high;
        dl.value[MEMEV_MAX] = max;
        v = coalesce_event(c,
                           &(CoalesceEvent){ .slot = slot,
                                             .serial = 7,
                                             .delta = &d,
                                             .delta_local = local ? &dl : NULL,
                                             .current = now },
                           now, &e);
        if (v == COALESCE_WRITE) {
                o->records++;
                o->max += max;
                o->high += high;
                o->local_max += local ? max : 0;
                o->notifications++;
        } else if (v == COALESCE_SUMMARY)
                out_summary(o, &e);
        return v;
}

/* The timer: every summary due at now. */
static unsigned tick(Coalescer *c, Out *o, uint64_t now)
{
        CoalesceEntry e;
        unsigned n = 0;

        while (coalesce_due(c, now, &e)) {
                out_summary(o, &e);
                n++;
        }
        return n;
}

START_TEST(test_burst)
{
        Coalescer c;
        Out o = {};

        ck_assert_int_eq(coalesce_init(&c, SEC, 0), 0);
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        ck_assert_int_eq(feed(&c, &o, 3, T0, 1, 0, true), COALESCE_WRITE); /* at once: its latency kept */
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);                      /* nothing held, no timer */
        for (unsigned i = 1; i < 1000; i++)
                ck_assert_int_eq(feed(&c, &o, 3, T0 + i * 999, 1 + i % 3, i % 2, true), COALESCE_HOLD);
        ck_assert_uint_eq(coalesce_next_usec(&c), T0 + SEC);
        ck_assert_uint_eq(tick(&c, &o, T0 + SEC - 1), 0);
        ck_assert_uint_eq(tick(&c, &o, T0 + SEC), 1);
        ck_assert_uint_eq(o.records, 2);
        ck_assert_uint_eq(o.summaries, 1);
        ck_assert_uint_eq(o.notifications, 1000);
        /* sum of 1 + (1 + i % 3) for i in 1..999, and of i % 2 */
        uint64_t want_max = 1, want_high = 0;
        for (unsigned i = 1; i < 1000; i++)
                want_max += 1 + i % 3, want_high += i % 2;
        ck_assert_uint_eq(o.max, want_max);
        ck_assert_uint_eq(o.local_max, want_max);
        ck_assert_uint_eq(o.high, want_high);
        ck_assert_uint_eq(c.n_coalesced, 999);
        /* Quiet afterwards: no timer, and nothing at the next tick. */
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        ck_assert_uint_eq(tick(&c, &o, T0 + 5 * SEC), 0);
        ck_assert_uint_eq(c.n_entries, 0);
        /* The next notification goes out at once again. */
        ck_assert_int_eq(feed(&c, &o, 3, T0 + 6 * SEC, 1, 0, true), COALESCE_WRITE);
        coalesce_done(&c);
}
END_TEST

/* A flood of 10 s: one record at once, then one summary per second. */
START_TEST(test_flood)
{
        Coalescer c;
        Out o = {};
        uint64_t in = 0;

        ck_assert_int_eq(coalesce_init(&c, SEC, 0), 0);
        for (uint64_t t = T0; t < T0 + 10 * SEC; t += 10 * USEC_PER_MSEC) {
                uint64_t next = coalesce_next_usec(&c);
                if (next && next <= t)
                        tick(&c, &o, t);
                for (uint32_t slot = 0; slot < 100; slot++) {
                        feed(&c, &o, slot, t, 1, 0, false);
                        in++;
                }
        }
        tick(&c, &o, UINT64_MAX); /* exit */
        ck_assert_uint_eq(in, 100000);
        ck_assert_uint_eq(o.max, in);
        ck_assert_uint_eq(o.notifications, in);
        ck_assert_uint_le(o.records, 100 * 11);
        ck_assert_uint_ge(o.records, 100 * 10);
        ck_assert_uint_eq(c.n_entries, 0);
        coalesce_done(&c);
}
END_TEST

START_TEST(test_quiet)
{
        Coalescer c;
        Out o = {};

        ck_assert_int_eq(coalesce_init(&c, SEC, 4), 0);
        ck_assert_uint_eq(tick(&c, &o, T0), 0);
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        /* One notification per 2 s: every one written at once, no summary, no timer. */
        for (unsigned i = 0; i < 5; i++) {
                ck_assert_int_eq(feed(&c, &o, 1, T0 + i * 2 * SEC, 1, 0, false), COALESCE_WRITE);
                ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        }
        ck_assert_uint_eq(o.summaries, 0);
        coalesce_done(&c);
}
END_TEST

START_TEST(test_removed)
{
        Coalescer c;
        CoalesceEntry e;
        Out o = {};

        ck_assert_int_eq(coalesce_init(&c, SEC, 0), 0);
        ck_assert(!coalesce_take(&c, 5, 7, &e)); /* unknown */
        feed(&c, &o, 5, T0, 1, 0, false);
        ck_assert(!coalesce_take(&c, 5, 7, &e)); /* known, nothing pending */
        feed(&c, &o, 5, T0 + 1, 1, 0, false);    /* at once again: forgotten */
        ck_assert_uint_eq(o.records, 2);
        feed(&c, &o, 5, T0 + 2, 4, 0, false);
        feed(&c, &o, 5, T0 + 3, 5, 0, false);
        ck_assert(!coalesce_take(&c, 5, 8, &e)); /* another cgroup in the same slot */
        ck_assert(coalesce_take(&c, 5, 7, &e));
        ck_assert_uint_eq(e.count, 2);
        ck_assert_uint_eq(e.delta.value[MEMEV_MAX], 9);
        ck_assert_uint_eq(c.n_entries, 0);
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        coalesce_done(&c);
}
END_TEST

/* The timer late: the next notification brings the summary, itself summed in. */
START_TEST(test_late_timer)
{
        Coalescer c;
        Out o = {};

        ck_assert_int_eq(coalesce_init(&c, SEC, 0), 0);
        feed(&c, &o, 1, T0, 1, 0, false);
        feed(&c, &o, 1, T0 + 10, 2, 0, false);
        ck_assert_int_eq(feed(&c, &o, 1, T0 + 2 * SEC, 3, 0, false), COALESCE_SUMMARY);
        ck_assert_uint_eq(o.records, 2);
        ck_assert_uint_eq(o.max, 6);
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        ck_assert_int_eq(feed(&c, &o, 1, T0 + 2 * SEC + 1, 1, 0, false), COALESCE_HOLD);
        ck_assert_uint_eq(coalesce_next_usec(&c), T0 + 3 * SEC);
        coalesce_done(&c);
}
END_TEST

START_TEST(test_full_and_off)
{
        Coalescer c;
        Out o = {};

        ck_assert_int_eq(coalesce_init(&c, SEC, 2), 0);
        feed(&c, &o, 1, T0, 1, 0, false);
        feed(&c, &o, 2, T0, 1, 0, false);
        ck_assert_int_eq(feed(&c, &o, 3, T0, 1, 0, false), COALESCE_WRITE);
        ck_assert_int_eq(feed(&c, &o, 3, T0 + 1, 1, 0, false), COALESCE_WRITE); /* untracked */
        ck_assert_uint_eq(c.n_untracked, 2);
        /* Idle entries past their interval make room. */
        feed(&c, &o, 3, T0 + 2 * SEC, 1, 0, false);
        ck_assert_int_eq(feed(&c, &o, 3, T0 + 2 * SEC + 1, 1, 0, false), COALESCE_HOLD);
        coalesce_done(&c);

        ck_assert_int_eq(coalesce_init(&c, 0, 0), 0);
        for (unsigned i = 0; i < 10; i++)
                ck_assert_int_eq(feed(&c, &o, 1, T0 + i, 1, 0, false), COALESCE_WRITE);
        ck_assert_uint_eq(coalesce_next_usec(&c), 0);
        coalesce_done(&c);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("coalesce");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_burst);
        tcase_add_test(tc, test_flood);
        tcase_add_test(tc, test_quiet);
        tcase_add_test(tc, test_removed);
        tcase_add_test(tc, test_late_timer);
        tcase_add_test(tc, test_full_and_off);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
