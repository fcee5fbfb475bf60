/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <string.h>

#include "json.h"
#include "test-main.h"

static const char *esc(const char *in, size_t len, char *buf, size_t size)
{
        JsonWriter w;
        json_init(&w, buf, size);
        json_string_n(&w, in, len);
        ck_assert(!w.overflow);
        return buf;
}

START_TEST(test_escape_table)
{
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } t[] = {
                { "plain", 5, "\"plain\"" },
                { "a\"b\\c", 5, "\"a\\\"b\\\\c\"" },
                { "new\nline\ttab\r", 13, "\"new\\nline\\ttab\\r\"" },
                { "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
                { "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },                       /* valid UTF-8 kept */
                { "\xf0\x9f\x90\xb3", 4, "\"\xf0\x9f\x90\xb3\"" },             /* 4-byte sequence */
                { "bad\xff", 4, "\"bad\\udcff\"" },                            /* invalid byte */
                { "\xc3", 1, "\"\\udcc3\"" },                                  /* truncated sequence */
                { "\xc0\xaf", 2, "\"\\udcc0\\udcaf\"" },                       /* overlong */
                { "\xed\xa0\x80", 3, "\"\\udced\\udca0\\udc80\"" },            /* encoded surrogate */
                { "\xf4\x90\x80\x80", 4, "\"\\udcf4\\udc90\\udc80\\udc80\"" }, /* > U+10FFFF */
                { "nul\0x", 5, "\"nul\\u0000x\"" },
        };
        char buf[256];

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                ck_assert_str_eq(esc(t[i].in, t[i].len, buf, sizeof(buf)), t[i].out);
}
END_TEST

START_TEST(test_structure)
{
        char buf[256];
        JsonWriter w;

        json_init(&w, buf, sizeof(buf));
        json_object_open(&w);
        json_key(&w, "a");
        json_u64(&w, 18446744073709551615ULL);
        json_key(&w, "b");
        json_array_open(&w);
        json_i64(&w, -5);
        json_bool(&w, true);
        json_null(&w);
        json_object_open(&w);
        json_object_close(&w);
        json_array_close(&w);
        json_key(&w, "c");
        json_fixed(&w, 1234, 2);
        json_key(&w, "d");
        json_fixed(&w, 5, 2);
        json_key(&w, "e");
        json_limit(&w, UINT64_MAX);
        json_key(&w, "f");
        json_limit(&w, 42);
        json_key(&w, "g");
        json_string(&w, NULL);
        json_object_close(&w);
        ck_assert(!w.overflow);
        ck_assert_str_eq(buf, "{\"a\":18446744073709551615,\"b\":[-5,true,null,{}],\"c\":12.34,\"d\":0.05,"
                              "\"e\":\"max\",\"f\":42,\"g\":null}");
}
END_TEST

START_TEST(test_overflow)
{
        char buf[16];
        JsonWriter w;

        for (size_t size = 0; size <= sizeof(buf); size++) {
                json_init(&w, buf, size);
                json_object_open(&w);
                json_key(&w, "key");
                json_string(&w, "a long value here");
                json_object_close(&w);
                ck_assert(w.overflow);
                if (size > 0)
                        ck_assert_uint_lt(strlen(buf), size);
        }
        /* Depth is bounded. */
        char big[256];
        json_init(&w, big, sizeof(big));
        for (int i = 0; i < JSON_DEPTH_MAX + 1; i++)
                json_array_open(&w);
        ck_assert(w.overflow);
        /* Unbalanced close. */
        json_init(&w, big, sizeof(big));
        json_object_close(&w);
        ck_assert(w.overflow);
}
END_TEST

START_TEST(test_utf8_decode)
{
        uint32_t cp;
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"A", 1, &cp), 1);
        ck_assert_uint_eq(cp, 'A');
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
        ck_assert_uint_eq(cp, 0x20ac);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xe2\x82", 2, &cp), 0);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
        ck_assert_uint_eq(utf8_decode((const unsigned char *)"\xf8\x88\x80\x80\x80", 5, &cp), 0);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("json");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_escape_table);
        tcase_add_test(tc, test_structure);
        tcase_add_test(tc, test_overflow);
        tcase_add_test(tc, test_utf8_decode);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
