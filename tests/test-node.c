/* SPDX-License-Identifier: MIT */
/* The node's MemAvailable watermarks on synthetic values: which are crossed,
 * which way, and from which policies' triggers. */
#include <check.h>
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
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
