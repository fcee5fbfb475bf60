/* SPDX-License-Identifier: MIT */
/* The status socket's request decoder: table tests with garbage, NULs,
 * control characters, long lines and input in every split. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "status-proto.h"
#include "test-main.h"

typedef struct Case {
        const char *in;
        size_t len; /* 0: strlen(in) */
        int r;      /* from feed, or from eof when the input has no '\n' */
        StatusRequestType type;
        const char *filter;
} Case;

static const Case cases[] = {
        { "status\n", 0, 1, STATUS_REQUEST_STATUS, "" },
        { "status\r\n", 0, 1, STATUS_REQUEST_STATUS, "" },
        { "status", 0, 1, STATUS_REQUEST_STATUS, "" }, /* ended by the end of the stream */
        { "explain\n", 0, 1, STATUS_REQUEST_EXPLAIN, "" },
        { "explain \n", 0, 1, STATUS_REQUEST_EXPLAIN, "" },
        { "explain /system.slice/web-1.service\n", 0, 1, STATUS_REQUEST_EXPLAIN,
          "/system.slice/web-1.service" },
        { "explain /a b\n", 0, 1, STATUS_REQUEST_EXPLAIN, "/a b" },
        { "explain /\xc3\xa9\xff\n", 0, 1, STATUS_REQUEST_EXPLAIN,
          "/\xc3\xa9\xff" },                                         /* any bytes but controls */
        { "status\nexplain /x\n", 0, 1, STATUS_REQUEST_STATUS, "" }, /* one request */
        { "events\n", 0, 1, STATUS_REQUEST_EVENTS, "" },
        { "events follow\n", 0, 1, STATUS_REQUEST_EVENTS, "" },
        { "events follow\r\n", 0, 1, STATUS_REQUEST_EVENTS, "" },
        { "events follow", 0, 1, STATUS_REQUEST_EVENTS, "" },
        { "events \n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "events followx\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "events  follow\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "events /a\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "events\0follow\n", 14, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "eventsfollow\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explain system.slice\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explainx\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explain  /a\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "status \n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { " status\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "STATUS\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "\r\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "stat\0us\n", 8, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "status\0\n", 8, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explain /a\0b\n", 13, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explain /a\tb\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explain /a\x1b[2J\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "explain /a\x7f\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "status\r\r\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "", 0, -ENODATA, _STATUS_REQUEST_TYPE_INVALID, NULL },
        { "\xff\xfe\n", 0, -EINVAL, _STATUS_REQUEST_TYPE_INVALID, NULL },
};

static int run(const char *in, size_t len, size_t piece, StatusRequest *req)
{
        StatusDecoder d;
        int r = 0;

        status_decoder_init(&d);
        for (size_t off = 0; off < len && r == 0; off += piece)
                r = status_decoder_feed(&d, in + off, len - off < piece ? len - off : piece, req);
        if (r == 0)
                r = status_decoder_eof(&d, req);
        /* Done is done: more input changes nothing. */
        ck_assert_int_eq(status_decoder_feed(&d, "status\n", 7, req), r);
        ck_assert_int_eq(status_decoder_eof(&d, req), r);
        return r;
}

START_TEST(test_table)
{
        const Case *c = &cases[_i];
        size_t len = c->len ? c->len : strlen(c->in);
        static StatusRequest req;

        /* Byte by byte, in pieces of 3, whole. */
        const size_t pieces[] = { 1, 3, len ? len : 1 };
        for (size_t k = 0; k < 3; k++) {
                memset(&req, 0x55, sizeof(req));
                ck_assert_msg(run(c->in, len, pieces[k], &req) == c->r, "case %d piece %zu", _i, pieces[k]);
                if (c->r == 1) {
                        ck_assert_int_eq(req.type, c->type);
                        ck_assert_str_eq(req.filter, c->filter);
                }
        }
}
END_TEST

START_TEST(test_lengths)
{
        static char line[STATUS_REQUEST_MAX + 16];
        static StatusRequest req;
        size_t n;

        /* The longest path explain takes, and one more. */
        memcpy(line, "explain /", 9);
        n = 8 + STATUS_FILTER_MAX - 1;
        memset(line + 9, 'a', n - 9);
        line[n] = '\n';
        ck_assert_int_eq(run(line, n + 1, 1000, &req), 1);
        ck_assert_uint_eq(strlen(req.filter), STATUS_FILTER_MAX - 1);
        line[n] = 'a';
        line[n + 1] = '\n';
        ck_assert_int_eq(run(line, n + 2, 1000, &req), -EINVAL);

        /* A line of exactly STATUS_REQUEST_MAX bytes is read (and refused as a request); one more is too
         * long. */
        memset(line, 'x', sizeof(line));
        line[STATUS_REQUEST_MAX] = '\n';
        ck_assert_int_eq(run(line, STATUS_REQUEST_MAX + 1, 7, &req), -EINVAL);
        line[STATUS_REQUEST_MAX] = 'x';
        line[STATUS_REQUEST_MAX + 1] = '\n';
        ck_assert_int_eq(run(line, STATUS_REQUEST_MAX + 2, 7, &req), -EMSGSIZE);
        ck_assert_int_eq(run(line, sizeof(line), sizeof(line), &req), -EMSGSIZE);
}
END_TEST

START_TEST(test_error_json)
{
        ck_assert_str_eq(status_request_error_json(-EINVAL), "{\"error\":\"unknown request\"}\n");
        ck_assert_str_eq(status_request_error_json(-EMSGSIZE), "{\"error\":\"request too long\"}\n");
        ck_assert_str_eq(status_request_error_json(-ENODATA), "{\"error\":\"empty request\"}\n");
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("status-proto");
        TCase *tc = tcase_create("decode");

        tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
        tcase_add_test(tc, test_lengths);
        tcase_add_test(tc, test_error_json);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
