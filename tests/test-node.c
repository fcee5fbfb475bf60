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

static Suite *make_suite(void)
{
        Suite *s = suite_create("node");
        TCase *tc = tcase_create("watermarks");

        tcase_add_test(tc, test_mask);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_from_policies);
        tcase_add_test(tc, test_many);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
