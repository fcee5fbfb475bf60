/* SPDX-License-Identifier: MIT */
/* The event log's rotation and partial-line bookkeeping, on synthetic sizes
 * and write results. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "eventlog.h"
#include "test-main.h"

START_TEST(test_rotation_decision)
{
        static const struct {
                uint64_t size, max;
                size_t len;
                EventLogStep step;
        } t[] = {
                { 0, 4096, 100, EVENTLOG_APPEND },
                { 0, 4096, 10000, EVENTLOG_APPEND }, /* never rotate an empty file */
                { 3996, 4096, 100, EVENTLOG_APPEND },
                { 3997, 4096, 100, EVENTLOG_ROTATE },
                { 1, 4096, 10000, EVENTLOG_ROTATE },
                { UINT64_C(16) << 20, UINT64_C(16) << 20, 1, EVENTLOG_ROTATE },
        };
        EventLog l;

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                eventlog_init(&l, t[i].max, 3, t[i].size);
                ck_assert_msg(eventlog_next_step(&l, t[i].len) == t[i].step, "case %zu", i);
        }
        /* A partial line's terminator counts. */
        eventlog_init(&l, 4096, 3, 3996);
        l.partial = true;
        ck_assert_int_eq(eventlog_next_step(&l, 100), EVENTLOG_ROTATE);
}
END_TEST

START_TEST(test_rotation_names)
{
        char buf[32];

        ck_assert_int_eq(eventlog_rotation_name("/var/log/e.jsonl", 0, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "/var/log/e.jsonl");
        ck_assert_int_eq(eventlog_rotation_name("/var/log/e.jsonl", 3, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, "/var/log/e.jsonl.3");
        ck_assert_int_eq(eventlog_rotation_name("/var/log/e.jsonl", 12345, buf, 18), -ENAMETOOLONG);
        ck_assert_int_eq(eventlog_rotation_name("0123456789", 0, buf, 10), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_writes)
{
        EventLog l;

        eventlog_init(&l, 4096, 2, 10);
        ck_assert(!eventlog_written(&l, 50, 50));
        ck_assert_uint_eq(l.size, 60);
        ck_assert(!eventlog_needs_terminator(&l));

        /* Nothing written (ENOSPC before the first byte): dropped, no partial. */
        ck_assert(!eventlog_written(&l, 50, -ENOSPC));
        ck_assert_uint_eq(l.size, 60);
        ck_assert_uint_eq(l.n_errors, 1);
        ck_assert_uint_eq(l.n_dropped, 1);
        ck_assert(!eventlog_needs_terminator(&l));

        /* A short write: truncate back to 60; done. */
        ck_assert(eventlog_written(&l, 50, 20));
        ck_assert_uint_eq(l.size, 60);
        eventlog_truncated(&l, true);
        ck_assert(!eventlog_needs_terminator(&l));
        ck_assert_uint_eq(l.n_errors, 2);

        /* A short write that cannot be truncated: a newline before the next line. */
        ck_assert(eventlog_written(&l, 50, 20));
        eventlog_truncated(&l, false);
        ck_assert(eventlog_needs_terminator(&l));
        ck_assert(!eventlog_terminated(&l, -ENOSPC)); /* the next line is dropped */
        ck_assert(eventlog_needs_terminator(&l));
        ck_assert_uint_eq(l.n_dropped, 4);
        ck_assert(eventlog_terminated(&l, 1));
        ck_assert(!eventlog_needs_terminator(&l));
        ck_assert_uint_eq(l.size, 61);
        ck_assert(!eventlog_written(&l, 10, 10));
        ck_assert_uint_eq(l.size, 71);
}
END_TEST

START_TEST(test_rotated)
{
        EventLog l;

        eventlog_init(&l, 4096, 2, 4000);
        l.partial = true;
        eventlog_rotated(&l, false);
        ck_assert_uint_eq(l.n_errors, 1);
        ck_assert_uint_eq(l.size, 4000);
        ck_assert(l.partial);
        eventlog_rotated(&l, true);
        ck_assert_uint_eq(l.n_rotations, 1);
        ck_assert_uint_eq(l.size, 0);
        ck_assert(!eventlog_needs_terminator(&l)); /* the partial line went with the old file */
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("eventlog");
        TCase *tc = tcase_create("eventlog");

        tcase_add_test(tc, test_rotation_decision);
        tcase_add_test(tc, test_rotation_names);
        tcase_add_test(tc, test_writes);
        tcase_add_test(tc, test_rotated);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
