/* SPDX-License-Identifier: MIT */
#pragma once

#include <check.h>
#include <stdlib.h>

/* Each test binary defines its suite and ends with MW_TEST_MAIN(make_suite). */
#define MW_TEST_MAIN(make_suite)                                                                            \
        int main(void)                                                                                      \
        {                                                                                                   \
                SRunner *sr = srunner_create(make_suite());                                                 \
                int failed;                                                                                 \
                srunner_run_all(sr, CK_NORMAL);                                                             \
                failed = srunner_ntests_failed(sr);                                                         \
                srunner_free(sr);                                                                           \
                return failed ? EXIT_FAILURE : EXIT_SUCCESS;                                                \
        }
