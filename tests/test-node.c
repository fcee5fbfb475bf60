/* SPDX-License-Identifier: MIT */
/* The node's MemAvailable watermarks on synthetic values: which are crossed,
 * which way, and from which policies' triggers. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "policy.h"
#include "test-main.h"

#define MiB (UINT64_C(1) << 20)

START_TEST(test_mask)
{
        NodeWatermarks w = { .below_bytes = { 500 * MiB, 100 * MiB, 1000 * MiB }, .n = 3, .n_total = 3 };
        static const struct {
                uint64_t avail;
                uint32_t mask;
        } t[] = {
                { 2000 * MiB, 0x0 }, { 1000 * MiB, 0x0 }, { 1000 * MiB - 1, 0x4 }, { 500 * MiB, 0x4 },
                { 499 * MiB, 0x5 },  { 100 * MiB, 0x5 },  { 99 * MiB, 0x7 },       { 0, 0x7 },
        };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                ck_assert_msg(node_watermarks_mask(&w, t[i].avail) == t[i].mask, "case %zu", i);
        w.n = 0;
        ck_assert_uint_eq(node_watermarks_mask(&w, 0), 0);
}
END_TEST

START_TEST(test_update)
{
        NodeWatermarks w = { .below_bytes = { 500 * MiB, 100 * MiB }, .n = 2, .n_total = 2 };

        ck_assert_int_eq(node_watermarks_update(&w, 800 * MiB), 0);
        ck_assert_int_eq(node_watermarks_update(&w, 600 * MiB), 0); /* no watermark crossed: no record */
        ck_assert_int_eq(node_watermarks_update(&w, 400 * MiB), -1);
        ck_assert_uint_eq(w.mask, 0x1);
        ck_assert_int_eq(node_watermarks_update(&w, 300 * MiB), 0);
        ck_assert_int_eq(node_watermarks_update(&w, 50 * MiB), -1);
        ck_assert_uint_eq(w.mask, 0x3);
        ck_assert_int_eq(node_watermarks_update(&w, 200 * MiB), 1);
        ck_assert_int_eq(node_watermarks_update(&w, 900 * MiB), 1);
        ck_assert_uint_eq(w.mask, 0);
        /* Straight past both at once. */
        ck_assert_int_eq(node_watermarks_update(&w, 10 * MiB), -1);
        ck_assert_uint_eq(w.mask, 0x3);
}
END_TEST

START_TEST(test_from_policies)
{
        Policy *p = calloc(3, sizeof(Policy));
        PolicySet set = { .policies = p, .n = 3 };
        NodeWatermarks w = { .mask = 0x1 };

        ck_assert_ptr_nonnull(p);
        p[0].triggers[0] = (Trigger){ .type = TRIGGER_PRESSURE };
        p[0].triggers[1] = (Trigger){ .type = TRIGGER_NODE_AVAILABLE, .below_bytes = 300 * MiB };
        p[0].n_triggers = 2;
        p[2].triggers[0] = (Trigger){ .type = TRIGGER_NODE_AVAILABLE, .below_bytes = 100 * MiB };
        p[2].n_triggers = 1;
        node_watermarks_from_policies(&w, &set);
        ck_assert_uint_eq(w.n, 2);
        ck_assert_uint_eq(w.n_total, 2);
        ck_assert_uint_eq(w.below_bytes[0], 300 * MiB);
        ck_assert_uint_eq(w.below_bytes[1], 100 * MiB);
        ck_assert_uint_eq(w.mask, 0x1); /* kept across a reload */

        set.n = 1;
        p[0].triggers[1].type = TRIGGER_NODE_PRESSURE;
        node_watermarks_from_policies(&w, &set);
        ck_assert_uint_eq(w.n_total, 0); /* nothing to sample */
        free(p);
}
END_TEST

/* More nodeAvailable triggers than bits: the first 32 are kept, all counted. */
START_TEST(test_many)
{
        size_t n = NODE_WATERMARKS_MAX + 5;
        Policy *p = calloc(n, sizeof(Policy));
        PolicySet set = { .policies = p, .n = n };
        NodeWatermarks w = {};

        ck_assert_ptr_nonnull(p);
        for (size_t i = 0; i < n; i++) {
                p[i].triggers[0] = (Trigger){ .type = TRIGGER_NODE_AVAILABLE, .below_bytes = (i + 1) * MiB };
                p[i].n_triggers = 1;
        }
        node_watermarks_from_policies(&w, &set);
        ck_assert_uint_eq(w.n, NODE_WATERMARKS_MAX);
        ck_assert_uint_eq(w.n_total, n);
        ck_assert_uint_eq(node_watermarks_mask(&w, 0), UINT32_MAX);
        ck_assert_int_eq(node_watermarks_update(&w, 0), -1);
        ck_assert_uint_eq(w.mask, UINT32_MAX);
        free(p);
}
END_TEST

START_TEST(test_headroom_usec)
{
        const uint64_t GiB = 1024 * MiB;

        ck_assert_uint_eq(node_headroom_usec(GiB, GiB, 10000, 60000000), 1000000);
        ck_assert_uint_eq(node_headroom_usec(512 * MiB, 0, 10000, 60000000), 500000); /* the default rate */
        ck_assert_uint_eq(node_headroom_usec(0, GiB, 10000, 60000000), 10000);
        ck_assert_uint_eq(node_headroom_usec(1 * MiB, GiB, 10000, 60000000), 10000); /* 0.98 ms: the floor */
        ck_assert_uint_eq(node_headroom_usec(100 * GiB, GiB, 10000, 60000000), 60000000);
        ck_assert_uint_eq(node_headroom_usec(UINT64_MAX, 1, 10000, 60000000), 60000000); /* no overflow */
}
END_TEST

/* The interval: to the nearest watermark at or below MemAvailable. */
START_TEST(test_sample_interval)
{
        NodeWatermarks w = { .below_bytes = { 512 * MiB, 128 * MiB }, .n = 2, .n_total = 2 };
        NodeWatermarks none = {};
        const uint64_t GiB = 1024 * MiB;

        ck_assert_uint_eq(node_sample_interval(&none, 100 * MiB, GiB), NODE_SAMPLE_MAX_USEC);
        ck_assert_uint_eq(node_sample_interval(&w, 1536 * MiB, GiB), 1000000); /* 1 GiB above 512 MiB */
        ck_assert_uint_eq(node_sample_interval(&w, 384 * MiB, GiB), 250000);   /* 256 MiB above 128 MiB */
        ck_assert_uint_eq(node_sample_interval(&w, 512 * MiB, GiB), NODE_SAMPLE_MIN_USEC); /* at it */
        ck_assert_uint_eq(node_sample_interval(&w, 100 * MiB, GiB), NODE_SAMPLE_BELOW_USEC);
        ck_assert_uint_eq(node_sample_interval(&w, 200 * GiB, GiB), NODE_SAMPLE_MAX_USEC);
        /* a slower assumed fill rate sleeps longer */
        ck_assert_uint_eq(node_sample_interval(&w, 1536 * MiB, 256 * MiB), 4000000);
}
END_TEST

/* On a synthetic clock: a hog fills memory at `rate` from `start`; the
 * sampler reads MemAvailable at the intervals it computes. Returns how far
 * below `mark` MemAvailable was at the first sample below it, and counts
 * the samples. */
static uint64_t simulate(uint64_t start, uint64_t rate, uint64_t fill_rate, uint64_t mark,
                         unsigned *ret_samples)
{
        NodeWatermarks w = { .below_bytes = { 512 * MiB, 128 * MiB }, .n = 2, .n_total = 2 };
        uint64_t t = 0, avail = start;
        unsigned n = 0;

        for (;;) {
                uint64_t used = (uint64_t)((__uint128_t)rate * t / 1000000);
                avail = used >= start ? 0 : start - used;
                n++;
                if (avail < mark)
                        break;
                t += node_sample_interval(&w, avail, fill_rate);
        }
        *ret_samples = n;
        return mark - avail;
}

START_TEST(test_sample_hog)
{
        const uint64_t GiB = 1024 * MiB;
        unsigned n;
        uint64_t under;

        /* 80 MiB/s, and a fill at the assumed rate: seen within one floor interval's fall
         * (0.8 MiB, 10.24 MiB) of each watermark, not a sample later. */
        under = simulate(900 * MiB, 80 * MiB, GiB, 512 * MiB, &n);
        ck_assert_uint_le(under, 80 * MiB / 100 + 1);
        under = simulate(900 * MiB, 80 * MiB, GiB, 128 * MiB, &n);
        ck_assert_uint_le(under, 80 * MiB / 100 + 1);
        under = simulate(900 * MiB, GiB, GiB, 128 * MiB, &n);
        ck_assert_uint_le(under, GiB / 100 + 1);
        /* twice the assumed rate: each interval lets it fall twice the headroom it
         * assumed, so it is behind by at most that, not by seconds */
        under = simulate(900 * MiB, 2 * GiB, GiB, 128 * MiB, &n);
        ck_assert_uint_le(under, 128 * MiB);
        /* idle, plenty of memory: one sample a minute at most */
        NodeWatermarks w = { .below_bytes = { 512 * MiB, 128 * MiB }, .n = 2, .n_total = 2 };
        uint64_t t = 0;
        for (n = 0; t < 10 * 60000000ULL; n++)
                t += node_sample_interval(&w, 100 * GiB, GiB);
        ck_assert_uint_le(n, 10);
        /* 20 GiB available and a 512 MiB soft watermark at 1 GiB/s: about 3 a minute */
        for (t = 0, n = 0; t < 60000000ULL; n++)
                t += node_sample_interval(&w, 20 * GiB, GiB);
        ck_assert_uint_eq(n, 4);
}
END_TEST

START_TEST(test_alloc_budget)
{
        NodeWatermarks w = { .below_bytes = { 512 * MiB, 128 * MiB }, .n = 2, .n_total = 2 };

        ck_assert_uint_eq(node_headroom(&w, 900 * MiB), 388 * MiB);
        ck_assert_uint_eq(node_headroom(&w, 300 * MiB), 172 * MiB);
        ck_assert_uint_eq(node_headroom(&w, 100 * MiB), 0);
        /* half the headroom, in pages */
        ck_assert_uint_eq(node_alloc_budget(&w, 900 * MiB, 4096), 388 * MiB / 2 / 4096);
        ck_assert_uint_eq(node_alloc_budget(&w, 900 * MiB, 65536), 388 * MiB / 2 / 65536);
        /* too near a watermark, below all, no page size: the timer's */
        ck_assert_uint_eq(node_alloc_budget(&w, 128 * MiB + NODE_ALLOC_MIN_HEADROOM - 1, 4096), 0);
        ck_assert_uint_ne(node_alloc_budget(&w, 128 * MiB + NODE_ALLOC_MIN_HEADROOM, 4096), 0);
        ck_assert_uint_eq(node_alloc_budget(&w, 100 * MiB, 4096), 0);
        ck_assert_uint_eq(node_alloc_budget(&w, 900 * MiB, 0), 0);
        /* beside the counter: the guard above every watermark, a read a second
         * below one (coming back allocates nothing) */
        ck_assert_uint_eq(node_guard_interval(&w, 900 * MiB), NODE_SAMPLE_GUARD_USEC);
        ck_assert_uint_eq(node_guard_interval(&w, 300 * MiB), NODE_SAMPLE_BELOW_USEC);
        ck_assert_uint_eq(node_guard_interval(&w, 100 * MiB), NODE_SAMPLE_BELOW_USEC);
        w.n = 0;
        ck_assert_uint_eq(node_alloc_budget(&w, 900 * MiB, 4096), 0);
        ck_assert_uint_eq(node_guard_interval(&w, 900 * MiB), NODE_SAMPLE_GUARD_USEC);
}
END_TEST

/* What goes unseen before a CPU wakes the agent. */
static __uint128_t unseen(const uint64_t *p, size_t n)
{
        __uint128_t sum = 0;
        for (size_t i = 0; i < n; i++)
                sum += p[i] - 1;
        return sum;
}

START_TEST(test_alloc_split)
{
        uint64_t seen[6] = {}, p[6];

        /* nothing seen: an even split */
        ck_assert_int_eq(node_alloc_split(60000, seen, 6, p), 0);
        ck_assert_uint_le(unseen(p, 6), 60000);
        ck_assert_uint_eq(p[0], 10001);
        ck_assert_uint_eq(p[5], 10001);
        /* a busy CPU gets most of it; the quiet ones keep a floor */
        seen[0] = 100000;
        seen[1] = 10;
        ck_assert_int_eq(node_alloc_split(60000, seen, 6, p), 0);
        ck_assert_uint_le(unseen(p, 6), 60000);
        ck_assert_uint_ge(p[0], 45000);
        ck_assert_uint_ge(p[4], 1 + 60000 / 4 / 6);
        /* a budget smaller than the CPUs: shares of one page wake at the first */
        ck_assert_int_eq(node_alloc_split(3, seen, 6, p), 0);
        ck_assert_uint_le(unseen(p, 6), 3);
        ck_assert_uint_ge(p[5], 1);
        ck_assert_int_eq(node_alloc_split(0, seen, 6, p), -ERANGE);
        ck_assert_int_eq(node_alloc_split(100, seen, 0, p), -ERANGE);
        /* counts the kernel could never give still split within the budget */
        for (size_t i = 0; i < 6; i++)
                seen[i] = UINT64_MAX;
        ck_assert_int_eq(node_alloc_split(UINT64_MAX / 2048, seen, 6, p), 0);
        ck_assert_uint_le(unseen(p, 6), UINT64_MAX / 2048);
        ck_assert_int_eq(node_alloc_split(UINT64_MAX - 6, seen, 6, p), 0);
        ck_assert_uint_le(unseen(p, 6), (__uint128_t)UINT64_MAX - 6);
}
END_TEST

/* The counter against allocations on synthetic CPUs, as the BPF program
 * does it: each allocation takes its 1 << order pages off its CPU's share,
 * and a CPU whose share is spent wakes the agent. Whatever the mix of orders
 * and CPUs, the agent is woken before MemAvailable reaches the watermark
 * while the counter is on, and an idle node's churn wakes it rarely. */
#define SIM_CPUS 4
typedef struct AllocSim {
        uint64_t share[SIM_CPUS], seen[SIM_CPUS];
        int64_t left[SIM_CPUS];
        uint64_t avail; /* pages */
        NodeWatermarks w;
        bool armed;
        unsigned wakes;
} AllocSim;

static void sim_arm(AllocSim *s)
{
        uint64_t budget = node_alloc_budget(&s->w, s->avail * 4096, 4096);
        s->wakes++;
        for (size_t i = 0; i < SIM_CPUS; i++)
                s->seen[i] = s->armed ? (uint64_t)((int64_t)s->share[i] - s->left[i]) : 0;
        s->armed = budget > 0 && node_alloc_split(budget, s->seen, SIM_CPUS, s->share) == 0;
        for (size_t i = 0; i < SIM_CPUS; i++)
                s->left[i] = s->armed ? (int64_t)s->share[i] : 0;
}

static void sim_init(AllocSim *s, uint64_t avail_bytes)
{
        *s = (AllocSim){ .avail = avail_bytes / 4096,
                         .w = { .below_bytes = { 256 * MiB, 128 * MiB }, .n = 2, .n_total = 2 } };
        sim_arm(s);
        s->wakes = 0;
}

/* One allocation of 1 << order pages on cpu: true if it woke the agent. */
static bool sim_alloc(AllocSim *s, unsigned cpu, unsigned order)
{
        uint64_t pages = UINT64_C(1) << order;

        s->avail -= pages;
        if (!s->armed || s->left[cpu] <= 0)
                return false;
        s->left[cpu] -= (int64_t)pages;
        if (s->left[cpu] <= 0) {
                sim_arm(s);
                return true;
        }
        return false;
}

START_TEST(test_alloc_hog)
{
        static const unsigned orders[] = { 0, 9, 0, 0, 3, 1, 2, 10, 9, 9, 0 };
        AllocSim s;

        for (unsigned mix = 0; mix < 4; mix++) {
                sim_init(&s, 900 * MiB);
                for (unsigned k = 0; s.armed; k++) {
                        unsigned order = mix == 0 ? 0 : mix == 1 ? 9 : orders[k % 11];
                        /* while the counter is on, MemAvailable is never below the
                         * soft watermark unseen: the allocation that could cross it
                         * wakes the agent, which reads it */
                        ck_assert_uint_ge(s.avail * 4096, 256 * MiB);
                        (void)sim_alloc(&s, mix == 3 ? 0 : k % SIM_CPUS, order);
                        ck_assert_msg(!(s.avail * 4096 < 256 * MiB && s.armed), "crossed unseen, mix %u",
                                      mix);
                }
                /* it stops within NODE_ALLOC_MIN_HEADROOM (+ the last allocation) of it */
                ck_assert_uint_le(s.avail * 4096, 256 * MiB + NODE_ALLOC_MIN_HEADROOM);
                ck_assert_uint_ge(s.avail * 4096 + 4 * MiB, 256 * MiB);
                /* and woke the agent a few dozen times on the way down, not at every page */
                ck_assert_uint_le(s.wakes, 64);
        }
}
END_TEST

/* An idle node's churn for a minute, every page given back: 2,000 order-0
 * allocations a second, 200 order-1, 20 order-3 and one huge page. */
static void sim_idle_minute(AllocSim *s)
{
        for (unsigned sec = 0; sec < 60; sec++) {
                for (unsigned k = 0; k < 2000; k++) {
                        (void)sim_alloc(s, k % SIM_CPUS, 0);
                        s->avail += 1;
                }
                for (unsigned k = 0; k < 200; k++) {
                        (void)sim_alloc(s, k % SIM_CPUS, 1);
                        s->avail += 2;
                }
                for (unsigned k = 0; k < 20; k++) {
                        (void)sim_alloc(s, k % SIM_CPUS, 3);
                        s->avail += 8;
                }
                (void)sim_alloc(s, sec % SIM_CPUS, 9);
                s->avail += 512;
        }
}

START_TEST(test_alloc_idle)
{
        const uint64_t GiB = 1024 * MiB;
        AllocSim s;

        /* 20 GiB available: 152,640 pages a minute against a budget of 2.5 million */
        sim_init(&s, 20 * GiB);
        sim_idle_minute(&s);
        ck_assert_uint_eq(s.wakes, 0);
        /* The 1 GiB guest with 700 MiB available and a 256 MiB soft watermark: the
         * same churn over a budget of 56,832 pages, split over 4 CPUs */
        sim_init(&s, 700 * MiB);
        sim_idle_minute(&s);
        ck_assert_uint_le(s.wakes, 4);
        /* All of it on one CPU: the next split gives that CPU the budget */
        sim_init(&s, 700 * MiB);
        for (unsigned m = 0; m < 4; m++)
                for (unsigned k = 0; k < 150000; k++) {
                        (void)sim_alloc(&s, 0, 0);
                        s.avail += 1;
                }
        ck_assert_uint_le(s.wakes, 4 * 150000 / (56832 * 3 / 4) + 4);
}
END_TEST

START_TEST(test_cpulist)
{
        unsigned n = 0;

        ck_assert_int_eq(node_cpulist_span("0-3,6\n", 6, &n), 0);
        ck_assert_uint_eq(n, 7);
        ck_assert_int_eq(node_cpulist_span("0", 1, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_int_eq(node_cpulist_span("8,0-3", 5, &n), 0);
        ck_assert_uint_eq(n, 9);
        static const char *bad[] = {
                "", "\n", "a", "3-1", "1,", ",1", "1--2", "0-99999999999", "1 2", "-1"
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(node_cpulist_span(bad[i], strlen(bad[i]), &n) == -EINVAL, "'%s'", bad[i]);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("node");
        TCase *tc = tcase_create("watermarks");

        tcase_add_test(tc, test_mask);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_from_policies);
        tcase_add_test(tc, test_many);
        tcase_add_test(tc, test_headroom_usec);
        tcase_add_test(tc, test_sample_interval);
        tcase_add_test(tc, test_sample_hog);
        tcase_add_test(tc, test_alloc_budget);
        tcase_add_test(tc, test_alloc_split);
        tcase_add_test(tc, test_alloc_hog);
        tcase_add_test(tc, test_alloc_idle);
        tcase_add_test(tc, test_cpulist);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
