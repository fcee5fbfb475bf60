/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>

#include "test-main.h"
#include "wdmap.h"

/* Random puts and removes against a plain array as the reference. */
START_TEST(test_against_reference)
{
        enum { N = 5000 };
        static struct Cgroup *ref[N];
        WdMap m;
        unsigned seed = 12345;

        ck_assert_int_eq(wdmap_init(&m, 4), 0);
        for (int round = 0; round < 200000; round++) {
                int wd = (int)(rand_r(&seed) % N);
                if (rand_r(&seed) % 3) {
                        struct Cgroup *v = (struct Cgroup *)(uintptr_t)(round + 1);
                        ck_assert_int_eq(wdmap_put(&m, wd, v, WD_DIR), 0);
                        ref[wd] = v;
                } else {
                        wdmap_remove(&m, wd);
                        ref[wd] = NULL;
                }
                if (round % 1000 == 0)
                        for (int i = 0; i < N; i++) {
                                WdEntry *e = wdmap_get(&m, i);
                                ck_assert_ptr_eq(e ? e->cgroup : NULL, ref[i]);
                        }
        }
        size_t n = 0;
        for (int i = 0; i < N; i++)
                n += ref[i] != NULL;
        ck_assert_uint_eq(m.n, n);
        ck_assert_uint_le(m.n * 2, m.capacity);
        ck_assert_ptr_null(wdmap_get(&m, -1));
        ck_assert_int_lt(wdmap_put(&m, -1, NULL, WD_DIR), 0);
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
