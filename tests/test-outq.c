/* SPDX-License-Identifier: MIT */
/* The output queue on a pipe: bytes come out in order across the ring's
 * wrap, a full queue refuses whole lines, the reserve holds room back. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "outq.h"
#include "test-main.h"

static int p[2];

static void setup(void)
{
        ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
}

static void teardown(void)
{
        close(p[0]);
        close(p[1]);
}

START_TEST(test_wrap_in_order)
{
        OutQueue q;
        char line[40], got[64];
        unsigned next_in = 0, next_out = 0;
        size_t have = 0;

        ck_assert_int_eq(outq_init(&q, 100), 0);
        ck_assert(outq_empty(&q));
        ck_assert_int_eq(outq_write(&q, p[1]), 0);
        /* 30-byte lines through a 100-byte ring: it wraps every few lines. */
        for (unsigned round = 0; round < 50; round++) {
                while (outq_room(&q, 0) >= 30) {
                        snprintf(line, sizeof(line), "%028u\n", next_in++);
                        ck_assert_int_eq(outq_push(&q, line, 29), 0);
                }
                snprintf(line, sizeof(line), "%028u\n", next_in);
                ck_assert_int_eq(outq_push(&q, line, 29 + 72), -ENOBUFS);
                ck_assert_int_gt(outq_write(&q, p[1]), 0);
                ck_assert(outq_empty(&q));
                ssize_t n;
                while ((n = read(p[0], got + have, sizeof(got) - have)) > 0) {
                        have += (size_t)n;
                        while (have >= 29) {
                                snprintf(line, sizeof(line), "%028u\n", next_out++);
                                ck_assert(memcmp(got, line, 29) == 0);
                                memmove(got, got + 29, have - 29);
                                have -= 29;
                        }
                }
        }
        ck_assert_uint_eq(next_in, next_out);
        ck_assert_uint_le(q.high_water, 100);
        outq_done(&q);
}
END_TEST

START_TEST(test_full_pipe)
{
        OutQueue q;
        char chunk[4096];
        ssize_t n;

        memset(chunk, 'y', sizeof(chunk));
        chunk[sizeof(chunk) - 1] = '\n';
        ck_assert_int_eq(outq_init(&q, 1 << 20), 0);
        for (unsigned i = 0; i < 200; i++)
                ck_assert_int_eq(outq_push(&q, chunk, sizeof(chunk)), 0);
        /* The pipe takes its 64 KiB, then EAGAIN; the rest waits. */
        ck_assert_int_gt(outq_write(&q, p[1]), 0);
        ck_assert_int_eq(outq_write(&q, p[1]), -EAGAIN);
        ck_assert(!outq_empty(&q));
        /* Room, less a reserve. */
        ck_assert_uint_eq(outq_room(&q, 0), q.size - q.len);
        ck_assert_uint_eq(outq_room(&q, q.size), 0);
        ck_assert_uint_lt(outq_discard(&q), 200);
        ck_assert(outq_empty(&q));
        while ((n = read(p[0], chunk, sizeof(chunk))) > 0)
                ;
        ck_assert_int_eq(outq_write(&q, p[1]), 0);
        outq_done(&q);
        ck_assert_int_eq(outq_init(&q, 0), -EINVAL);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("outq");
        TCase *tc = tcase_create("pipe");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_wrap_in_order);
        tcase_add_test(tc, test_full_pipe);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
