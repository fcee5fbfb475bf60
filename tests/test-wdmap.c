/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>

#include "test-main.h"
#include "wdmap.h"

/* Random puts and removes against a plain array as the reference. */
START_TEST(test_against_reference)
{
        enum { N = 5000 };
        static uint32_t ref[N]; /* slot + 1, 0: absent */
        WdMap m;
        unsigned seed = 12345;

        ck_assert_int_eq(wdmap_init(&m, 4), 0);
        for (int round = 0; round < 200000; round++) {
                int wd = (int)(rand_r(&seed) % N);
                if (rand_r(&seed) % 3) {
                        uint32_t v = (uint32_t)round;
                        ck_assert_int_eq(wdmap_put(&m, wd, v, (WdKind)(round % 3)), 0);
                        ref[wd] = v + 1;
                } else {
                        wdmap_remove(&m, wd);
                        ref[wd] = 0;
                }
                if (round % 1000 == 0)
                        for (int i = 0; i < N; i++) {
                                WdEntry *e = wdmap_get(&m, i);
                                ck_assert_uint_eq(e ? e->slot + 1 : 0, ref[i]);
                                if (e)
                                        ck_assert_uint_eq(e->kind, (ref[i] - 1) % 3);
                        }
        }
        size_t n = 0;
        for (int i = 0; i < N; i++)
                n += ref[i] != 0;
        ck_assert_uint_eq(m.n, n);
        ck_assert_uint_le(m.n * 2, m.capacity);
        ck_assert_ptr_null(wdmap_get(&m, -1));
        ck_assert_int_lt(wdmap_put(&m, -1, 0, WD_DIR), 0);
        ck_assert_int_lt(wdmap_put(&m, 1, 1U << 30, WD_DIR), 0);
        wdmap_done(&m);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("wdmap");
        TCase *tc = tcase_create("core");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_against_reference);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
