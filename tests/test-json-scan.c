/* SPDX-License-Identifier: MIT */
/* memwardenctl's JSON reader: lookups, arrays, unescaping (with the
 * daemon's escapes for hostile bytes), terminal-safe display, and garbage
 * cut anywhere. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "hostile-names.h"
#include "json-scan.h"
#include "json.h"
#include "macro.h"
#include "test-main.h"

static const char LINE[] =
        "{\"event\":\"action\",\"cgroup\":\"/a \\\"b\\\"\",\"n\":42,"
        "\"o\":{\"x\":[1,{\"y\":\"}]\"}],\"z\":true},\"arr\":[ {\"pid\":1} , {\"pid\":2}],"
        "\"last\":null}";

START_TEST(test_find)
{
        size_t n;
        const char *v;

        v = json_scan_find(LINE, strlen(LINE), "event", &n);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq((int)n, 8);
        ck_assert(memcmp(v, "\"action\"", 8) == 0);
        v = json_scan_find(LINE, strlen(LINE), "n", &n);
        ck_assert(n == 2 && memcmp(v, "42", 2) == 0);
        v = json_scan_find(LINE, strlen(LINE), "o", &n);
        ck_assert(n > 0 && v[0] == '{' && v[n - 1] == '}');
        ck_assert_ptr_null(json_scan_find(LINE, strlen(LINE), "x", &n)); /* nested: not top level */
        ck_assert_ptr_null(json_scan_find(LINE, strlen(LINE), "y", &n));
        v = json_scan_find(LINE, strlen(LINE), "last", &n);
        ck_assert(n == 4 && memcmp(v, "null", 4) == 0);
        v = json_scan_find(LINE, strlen(LINE), "o", &n);
        v = json_scan_find(v, n, "z", &n);
        ck_assert(v && n == 4 && memcmp(v, "true", 4) == 0);
        ck_assert_ptr_null(json_scan_find("[1,2]", 5, "a", &n));
        ck_assert_ptr_null(json_scan_find("", 0, "a", &n));
}
END_TEST

START_TEST(test_array)
{
        size_t n, pos = 0, al, count = 0;
        const char *a = json_scan_find(LINE, strlen(LINE), "arr", &al), *e;
        uint64_t pid;

        ck_assert_ptr_nonnull(a);
        while ((e = json_scan_next(a, al, &pos, &n))) {
                const char *p = json_scan_find(e, n, "pid", &n);
                ck_assert(p && json_scan_u64(p, n, &pid));
                ck_assert_uint_eq(pid, ++count);
        }
        ck_assert_uint_eq(count, 2);
        pos = 0;
        ck_assert_ptr_null(json_scan_next("[]", 2, &pos, &n));
        pos = 0;
        ck_assert_ptr_null(json_scan_next("[ ]", 3, &pos, &n));
}
END_TEST

START_TEST(test_string)
{
        char out[64];
        size_t n;
        const char *v = json_scan_find(LINE, strlen(LINE), "cgroup", &n);

        ck_assert_int_eq(json_scan_string(v, n, out, sizeof(out)), 6);
        ck_assert_str_eq(out, "/a \"b\"");
        ck_assert_int_eq(json_scan_string("\"\\u00e9\\n\\udcff\"", 16, out, sizeof(out)), 4);
        ck_assert(memcmp(out, "\xc3\xa9\n\xff", 4) == 0);
        ck_assert_int_eq(json_scan_string("\"\\ud83d\\udc33\"", 14, out, sizeof(out)), 4);
        ck_assert(memcmp(out, "\xf0\x9f\x90\xb3", 4) == 0);
        ck_assert_int_eq(json_scan_string("\"\\ud83d\"", 8, out, sizeof(out)), -EINVAL); /* lone */
        ck_assert_int_eq(json_scan_string("\"\\x\"", 4, out, sizeof(out)), -EINVAL);
        ck_assert_int_eq(json_scan_string("\"\\u12\"", 6, out, sizeof(out)), -EINVAL);
        ck_assert_int_eq(json_scan_string("\"abc", 4, out, sizeof(out)), -EINVAL);
        ck_assert_int_eq(json_scan_string("42", 2, out, sizeof(out)), -EINVAL);
        ck_assert_int_eq(json_scan_string("\"abcdef\"", 8, out, 4), -ENOBUFS);
}
END_TEST

/* Every hostile name, written by the daemon's JSON writer, comes back byte
 * for byte, and its display has no control character. */
START_TEST(test_hostile_round_trip)
{
        static char buf[8 * HOSTILE_MAX], back[HOSTILE_MAX + 1], disp[8 * HOSTILE_MAX];

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *h = &hostile_names[i];
                JsonWriter w;
                size_t n;
                json_init(&w, buf, sizeof(buf));
                json_object_open(&w);
                json_key(&w, "cgroup");
                json_string_n(&w, h->bytes, h->len);
                json_object_close(&w);
                ck_assert(!w.overflow);
                const char *v = json_scan_find(buf, w.len, "cgroup", &n);
                ck_assert_msg(v != NULL, "%s", h->what);
                ck_assert_int_eq(json_scan_string(v, n, back, sizeof(back)), (ssize_t)h->len);
                ck_assert_msg(memcmp(back, h->bytes, h->len) == 0, "%s", h->what);
                size_t d = json_scan_display(v, n, disp, sizeof(disp));
                for (size_t k = 0; k < d; k++) {
                        unsigned char ch = (unsigned char)disp[k];
                        ck_assert_msg(ch >= 0x20 && ch != 0x7f, "%s: control in display", h->what);
                        ck_assert_msg(!(ch == 0xc2 && k + 1 < d && (unsigned char)disp[k + 1] < 0xa0),
                                      "%s: C1 control in display", h->what);
                }
        }
}
END_TEST

/* Cut anywhere, garbage anywhere: no read past len (ASan), no crash. */
START_TEST(test_garbage)
{
        static const char *const in[] = {
                "{",           "{\"",          "{\"a",      "{\"a\"",    "{\"a\":",      "{\"a\":\"",
                "{\"a\":\"\\", "{\"a\":[",     "{\"a\":[{", "{\"a\":1,", "{\"a\":1,\"b", "{{{{",
                "]]]]",        "{\"a\":\"\\u", "{:}",       "{\"a\"1}",  "\"\\",
        };
        char out[16];
        size_t n, pos;

        for (size_t i = 0; i < ELEMENTSOF(in); i++) {
                size_t len = strlen(in[i]);
                char *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
                memcpy(copy, in[i], len);
                (void)json_scan_find(copy, len, "a", &n);
                (void)json_scan_find(copy, len, "b", &n);
                pos = 0;
                while (json_scan_next(copy, len, &pos, &n))
                        ;
                (void)json_scan_string(copy, len, out, sizeof(out));
                (void)json_scan_display(copy, len, out, sizeof(out));
                free(copy);
        }
        for (size_t cut = 0; cut <= strlen(LINE); cut++) {
                char *copy = malloc(cut ? cut : 1);
                memcpy(copy, LINE, cut);
                (void)json_scan_find(copy, cut, "last", &n);
                const char *a = json_scan_find(copy, cut, "arr", &n);
                pos = 0;
                while (a && json_scan_next(a, n, &pos, &n))
                        ;
                free(copy);
        }
}
END_TEST

START_TEST(test_u64)
{
        uint64_t v;

        ck_assert(json_scan_u64("18446744073709551615", 20, &v) && v == UINT64_MAX);
        ck_assert(!json_scan_u64("18446744073709551616", 20, &v));
        ck_assert(!json_scan_u64("-1", 2, &v));
        ck_assert(!json_scan_u64("", 0, &v));
        ck_assert(!json_scan_u64("\"1\"", 3, &v));
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("json-scan");
        TCase *tc = tcase_create("scan");

        tcase_add_test(tc, test_find);
        tcase_add_test(tc, test_array);
        tcase_add_test(tc, test_string);
        tcase_add_test(tc, test_hostile_round_trip);
        tcase_add_test(tc, test_garbage);
        tcase_add_test(tc, test_u64);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
