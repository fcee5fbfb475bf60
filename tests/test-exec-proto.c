/* SPDX-License-Identifier: MIT */
/* The exec helper's wire format: round trips, and every malformed request
 * the helper must refuse. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "exec-proto.h"
#include "test-main.h"

static char msg[EXEC_MSG_MAX];

static size_t encode(char *const *argv, size_t argc, uint32_t timeout_ms, const char *input,
                     size_t input_len, const char *cookie)
{
        size_t n;
        ck_assert_int_eq(exec_request_encode(msg, sizeof(msg), argv, argc, timeout_ms, input, input_len,
                                             cookie, strlen(cookie), &n),
                         0);
        return n;
}

START_TEST(test_request_round_trip)
{
        char *argv[] = { "/bin/sh", "-c", "", "x\ty\n\xff" };
        const char input[] = "{\"a\":1}\0tail";
        ExecRequest req;
        size_t n = encode(argv, 4, 600000, input, sizeof(input), "pol\tns\t/a.slice");

        ck_assert_int_eq(exec_request_decode(msg, n, &req), 0);
        ck_assert_uint_eq(req.argc, 4);
        for (size_t i = 0; i < 4; i++)
                ck_assert_str_eq(req.argv[i], argv[i]);
        ck_assert_ptr_null(req.argv[4]);
        ck_assert_uint_eq(req.timeout_ms, 600000);
        ck_assert_uint_eq(req.input_len, sizeof(input));
        ck_assert_mem_eq(req.input, input, sizeof(input));
        ck_assert_uint_eq(req.cookie_len, strlen("pol\tns\t/a.slice"));
        ck_assert_mem_eq(req.cookie, "pol\tns\t/a.slice", req.cookie_len);

        /* Every strict prefix is refused: no length may run past the message. */
        for (size_t k = 0; k < n; k++)
                ck_assert_int_eq(exec_request_decode(msg, k, &req), -EBADMSG);
        /* So is a byte left over. */
        msg[n] = 'x';
        ck_assert_int_eq(exec_request_decode(msg, n + 1, &req), -EBADMSG);
}
END_TEST

START_TEST(test_request_bounds)
{
        static char *argv[EXEC_ARGS_MAX + 1];
        static char cookie[EXEC_COOKIE_MAX + 2];
        static char big[EXEC_MSG_MAX];
        ExecRequest req;
        size_t n;

        for (size_t i = 0; i <= EXEC_ARGS_MAX; i++)
                argv[i] = "/a";
        memset(cookie, 'c', EXEC_COOKIE_MAX);
        n = encode(argv, EXEC_ARGS_MAX, EXEC_TIMEOUT_MS_MAX, "", 0, cookie);
        ck_assert_int_eq(exec_request_decode(msg, n, &req), 0);
        ck_assert_uint_eq(req.argc, EXEC_ARGS_MAX);
        ck_assert_uint_eq(req.cookie_len, EXEC_COOKIE_MAX);

        /* The encoder refuses what the decoder would. */
        ck_assert_int_eq(exec_request_encode(msg, sizeof(msg), argv, 0, 0, "", 0, "", 0, &n), -EINVAL);
        ck_assert_int_eq(exec_request_encode(msg, sizeof(msg), argv, EXEC_ARGS_MAX + 1, 0, "", 0, "", 0, &n),
                         -EINVAL);
        ck_assert_int_eq(
                exec_request_encode(msg, sizeof(msg), argv, 1, EXEC_TIMEOUT_MS_MAX + 1, "", 0, "", 0, &n),
                -EINVAL);
        ck_assert_int_eq(
                exec_request_encode(msg, sizeof(msg), argv, 1, 0, "", 0, cookie, EXEC_COOKIE_MAX + 1, &n),
                -EINVAL);
        ck_assert_int_eq(exec_request_encode(msg, sizeof(msg), argv, 1, 0, "", 0, "a\0b", 3, &n), -EINVAL);
        char *empty[] = { "" };
        ck_assert_int_eq(exec_request_encode(msg, sizeof(msg), empty, 1, 0, "", 0, "", 0, &n), -EINVAL);
        ck_assert_int_eq(exec_request_encode(msg, sizeof(msg), argv, 1, 0, big, sizeof(big), "", 0, &n),
                         -E2BIG);
        ck_assert_int_eq(exec_request_encode(msg, 10, argv, 1, 0, "", 0, "", 0, &n), -E2BIG);
}
END_TEST

/* Hand-made headers: each field out of range on its own. */
START_TEST(test_request_hostile)
{
        static const struct {
                ExecRequestHeader hdr;
                const char *body;
                size_t body_len;
                int ret;
        } t[] = {
                { { 1, 0, 0, 0 }, "/p", 3, 0 },
                { { 1, 0, 2, 1 }, "c/p\0in", 6, 0 },
                { { 0, 0, 0, 0 }, "/p", 3, -EBADMSG },                       /* no argument */
                { { EXEC_ARGS_MAX + 1, 0, 0, 0 }, "/p", 3, -EBADMSG },       /* too many */
                { { UINT32_MAX, 0, 0, 0 }, "/p", 3, -EBADMSG },              /* wraps */
                { { 2, 0, 0, 0 }, "/p", 3, -EBADMSG },                       /* one NUL short */
                { { 1, 0, 0, 0 }, "/p", 2, -EBADMSG },                       /* no NUL at all */
                { { 1, 0, 0, 0 }, "", 1, -EBADMSG },                         /* empty program */
                { { 1, 0, 0, 3 }, "c", 1, -EBADMSG },                        /* cookie past the end */
                { { 1, 0, 0, UINT32_MAX }, "c/p", 4, -EBADMSG },             /* cookie length wraps */
                { { 1, 0, 0, EXEC_COOKIE_MAX + 1 }, NULL, 0, -EBADMSG },     /* cookie too long */
                { { 1, 0, 0, 2 }, "\0c/p", 5, -EBADMSG },                    /* NUL in the cookie */
                { { 1, 0, 5, 0 }, "/p\0in", 5, -EBADMSG },                   /* input past the end */
                { { 1, 0, UINT32_MAX, 0 }, "/p\0in", 5, -EBADMSG },          /* input length wraps */
                { { 1, 0, 1, 0 }, "/p\0in", 5, -EBADMSG },                   /* bytes left over */
                { { 1, EXEC_TIMEOUT_MS_MAX + 1, 0, 0 }, "/p", 3, -EBADMSG }, /* timeout too long */
                { { 1, UINT32_MAX, 0, 0 }, "/p", 3, -EBADMSG },              /* negative as an int */
        };
        ExecRequest req;

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                size_t len = sizeof(ExecRequestHeader);
                memcpy(msg, &t[i].hdr, len);
                if (t[i].body) {
                        memcpy(msg + len, t[i].body, t[i].body_len);
                        len += t[i].body_len;
                } else {
                        memset(msg + len, 'c', EXEC_COOKIE_MAX + 1);
                        memcpy(msg + len + EXEC_COOKIE_MAX + 1, "/p", 3);
                        len += EXEC_COOKIE_MAX + 4;
                }
                ck_assert_msg(exec_request_decode(msg, len, &req) == t[i].ret, "case %zu", i);
        }
        ck_assert_int_eq(exec_request_decode(msg, 0, &req), -EBADMSG);
        ck_assert_int_eq(exec_request_decode(msg, EXEC_MSG_MAX + 1, &req), -EBADMSG);
}
END_TEST

START_TEST(test_reply)
{
        static char detail[8192];
        ExecReply rep;
        size_t n;

        ck_assert_int_eq(exec_reply_encode(msg, sizeof(msg), -62, "c1", 2, "x: timed out", 12, &n), 0);
        ck_assert_int_eq(exec_reply_decode(msg, n, &rep), 0);
        ck_assert_int_eq(rep.status, -62);
        ck_assert_uint_eq(rep.cookie_len, 2);
        ck_assert_mem_eq(rep.cookie, "c1", 2);
        ck_assert_uint_eq(rep.detail_len, 12);
        ck_assert_mem_eq(rep.detail, "x: timed out", 12);
        for (size_t k = 0; k < sizeof(ExecReplyHeader) + 2; k++)
                ck_assert_int_eq(exec_reply_decode(msg, k, &rep), -EBADMSG);

        /* A long detail is cut to fit, never refused. */
        memset(detail, 'd', sizeof(detail));
        ck_assert_int_eq(exec_reply_encode(msg, 100, 0, "c", 1, detail, sizeof(detail), &n), 0);
        ck_assert_uint_eq(n, 100);
        ck_assert_int_eq(exec_reply_decode(msg, n, &rep), 0);
        ck_assert_uint_eq(rep.detail_len, 100 - sizeof(ExecReplyHeader) - 1);

        ck_assert_int_eq(exec_reply_encode(msg, sizeof(msg), 0, detail, EXEC_COOKIE_MAX + 1, "", 0, &n),
                         -EINVAL);
        ck_assert_int_eq(exec_reply_encode(msg, 4, 0, "c", 1, "", 0, &n), -E2BIG);
        ExecReplyHeader hdr = { .status = 0, .cookie_len = 5 };
        memcpy(msg, &hdr, sizeof(hdr));
        memcpy(msg + sizeof(hdr), "abcd", 4);
        ck_assert_int_eq(exec_reply_decode(msg, sizeof(hdr) + 4, &rep), -EBADMSG);
        hdr.cookie_len = UINT32_MAX;
        memcpy(msg, &hdr, sizeof(hdr));
        ck_assert_int_eq(exec_reply_decode(msg, sizeof(hdr) + 4, &rep), -EBADMSG);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("exec-proto");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_request_round_trip);
        tcase_add_test(tc, test_request_bounds);
        tcase_add_test(tc, test_request_hostile);
        tcase_add_test(tc, test_reply);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
