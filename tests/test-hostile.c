/* SPDX-License-Identifier: MIT */
/* Hostile names through every JSON sink: the string writer, records about a
 * cgroup with such a name, the status listing of that cgroup. Every output
 * must be valid JSON and valid UTF-8 without a raw control byte, and give the
 * original bytes back through the \udcXX convention (json.h). Then the
 * sanitized copy for sinks that need valid UTF-8 (utf8_sanitize). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"
#include "cgroup.h"
#include "fuzz/json-check.h"
#include "json.h"
#include "record.h"
#include "test-main.h"

#define BIG 4096

typedef struct Name {
        const char *what;
        char bytes[BIG];
        size_t len;
} Name;

static Name names[128];
static size_t n_names;

static void add(const char *what, const char *s, size_t len)
{
        ck_assert_uint_lt(n_names, sizeof(names) / sizeof(names[0]));
        ck_assert_uint_le(len, BIG);
        names[n_names].what = what;
        memcpy(names[n_names].bytes, s, len);
        names[n_names].len = len;
        n_names++;
}

#define ADD(what, lit) add(what, lit, sizeof(lit) - 1)

static void add_big(const char *what, const char *unit, size_t unit_len)
{
        char b[BIG];
        size_t n = 0;

        while (n + unit_len <= BIG) {
                memcpy(b + n, unit, unit_len);
                n += unit_len;
        }
        add(what, b, n);
}

static void make_names(void)
{
        if (n_names)
                return;
        ADD("plain", "web.service");
        ADD("quote", "a\"b\"");
        ADD("backslash", "a\\b\\");
        ADD("systemd escape", "system-systemd\\x2dfsck.slice");
        ADD("newline", "a\nb\r\n");
        for (int c = 0x01; c <= 0x1f; c++) {
                char b[3] = { 'x', (char)c, 'y' };
                add("control", b, 3);
        }
        ADD("DEL", "a\x7f");
        ADD("C1 control U+0085", "a\xc2\x85");
        ADD("lone continuation", "\x80");
        ADD("lone continuations", "a\xbf\x80z");
        ADD("overlong /", "\xc0\xaf");
        ADD("overlong 3", "\xe0\x80\xaf");
        ADD("overlong 4", "\xf0\x80\x80\xaf");
        ADD("overlong NUL", "\xc0\x80");
        ADD("high surrogate", "\xed\xa0\x80");
        ADD("low surrogate", "\xed\xbf\xbf");
        ADD("surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80");
        ADD("> U+10FFFF", "\xf4\x90\x80\x80");
        ADD("F7", "\xf7\xbf\xbf\xbf");
        ADD("5-byte form", "\xf8\x88\x80\x80\x80");
        ADD("FE FF", "\xfe\xff");
        ADD("truncated 2", "a\xc3");
        ADD("truncated 3", "\xe2\x82z");
        ADD("truncated 4", "\xf0\x9f\x90");
        ADD("valid 2-4 byte", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
        ADD("U+2028", "a\xe2\x80\xa8");
        ADD("BOM", "\xef\xbb\xbfx");
        ADD("dot-dot", "../");
        ADD("dot-dot path", "../../etc/passwd");
        ADD("NUL in the middle", "a\0b");
        ADD("only NUL", "\0");
        add_big("4 KiB plain", "a", 1);
        add_big("4 KiB quotes", "\"", 1);
        add_big("4 KiB invalid", "\xff", 1);
        add_big("4 KiB controls", "\x01", 1);
        add_big("4 KiB emoji", "\xf0\x9f\x90\xb3", 4);
        add_big("4 KiB mixed", "\\\"\n\x80\xc3\xa9/", 8);
}

static char out[1024 * 1024], back[BIG + 8];

/* A JSON string of s: valid, and back to the same bytes. */
START_TEST(test_json_string)
{
        make_names();
        for (size_t i = 0; i < n_names; i++) {
                const Name *nm = &names[i];
                JsonWriter w;
                size_t n;

                json_init(&w, out, sizeof(out));
                json_string_n(&w, nm->bytes, nm->len);
                ck_assert_msg(!w.overflow, "%s", nm->what);
                JsonCheck c = { .p = out, .end = out + w.len };
                ck_assert_msg(jc_string(&c, back, sizeof(back), &n) == 0 && c.p == c.end, "%s: %s", nm->what,
                              out);
                ck_assert_msg(n == nm->len && memcmp(back, nm->bytes, n) == 0, "%s: round trip", nm->what);

                /* The NUL-terminated form stops at the first NUL. */
                char z[BIG + 1];
                memcpy(z, nm->bytes, nm->len);
                z[nm->len] = '\0';
                json_init(&w, out, sizeof(out));
                json_object_open(&w);
                json_key(&w, z); /* keys too */
                json_string(&w, z);
                json_object_close(&w);
                ck_assert(!w.overflow);
                ck_assert_msg(json_check(out, w.len, NULL, NULL, 0, NULL) == 0, "%s: %s", nm->what, out);
        }
}
END_TEST

/* A small buffer: overflow, never a cut in the middle that looks complete. */
START_TEST(test_json_string_overflow)
{
        make_names();
        for (size_t i = 0; i < n_names; i++) {
                bool ok = true;
                for (size_t size = 1; size < 40; size++) {
                        char b[40];
                        JsonWriter w;
                        json_init(&w, b, size);
                        json_string_n(&w, names[i].bytes, names[i].len);
                        ok = ok && w.len < size && strlen(b) == w.len &&
                             (w.overflow || json_check(b, w.len, NULL, NULL, 0, NULL) == 0);
                }
                ck_assert_msg(ok, "%s", names[i].what);
        }
}
END_TEST

static Cgroup *cgroup_new(Cgroup *parent, const char *name, size_t len, CgroupKind kind)
{
        Cgroup *c = calloc(1, sizeof(Cgroup) + len + 1);

        ck_assert_ptr_nonnull(c);
        c->parent = parent;
        c->kind = kind;
        c->wd_dir = c->wd_events = c->wd_cgevents = c->events_fd = c->psi_fd = -1;
        c->high = c->max = UINT64_MAX;
        c->name_len = (uint16_t)len;
        memcpy(c->name, name, len);
        return c;
}

/* The "cgroup" member of doc: "/" + the name, up to a NUL (the path sinks
 * take C strings; the kernel never makes a name with a NUL). */
static void check_doc(const Name *nm, const char *doc, size_t len, const char *key, const char *prefix)
{
        size_t n, plen = strlen(prefix), want = strnlen(nm->bytes, nm->len);

        ck_assert_msg(json_check(doc, len, key, back, sizeof(back), &n) == 0, "%s: invalid: %.300s",
                      nm->what, doc);
        ck_assert_msg(n == plen + want && memcmp(back, prefix, plen) == 0 &&
                              memcmp(back + plen, nm->bytes, want) == 0,
                      "%s: %s does not round-trip", nm->what, key);
}

static void records_of(const Name *nm, Cgroup *c, const char *path)
{
        static const RecordType types[] = { RECORD_CGROUP_ADDED, RECORD_MEMORY_EVENTS, RECORD_PSI,
                                            RECORD_LIMITS,       RECORD_WARNING,       RECORD_ACTION };
        char z[BIG + 1];
        MemEventsDelta delta = { .any = true };
        ActionOutcome o = { .action = ACTION_NOTIFY, .result = ACTION_RESULT_DONE };
        size_t n;

        memcpy(z, nm->bytes, nm->len);
        z[nm->len] = '\0';
        o.policy = o.policy_namespace = o.via = o.unit = o.detail = o.report = z;
        delta.value[0] = 1;
        delta.extra[0] = 1;
        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                Record r = record_init(types[i]);
                r.cgroup = c;
                r.path = path;
                r.delta = r.delta_local = &delta;
                r.message = z;
                r.outcome = &o;
                r.error = -ENOENT;
                ck_assert_msg(record_format_json(&r, out, sizeof(out), &n) == 0, "%s type %d: %.200s",
                              nm->what, types[i], out);
                ck_assert_uint_eq(strlen(out), n);
                ck_assert(n > 0 && out[n - 1] == '\n');
                check_doc(nm, out, n, "cgroup", "/");
                check_doc(nm, out, n, "message", "");
                if (types[i] == RECORD_ACTION) {
                        check_doc(nm, out, n, "detail", "");
                        check_doc(nm, out, n, "unit", "");
                }
                /* Too small a buffer: refused, not cut. */
                ck_assert_int_eq(record_format_json(&r, out, 64, &n), -ENOBUFS);
        }
}

START_TEST(test_cgroup_sinks)
{
        static const CgroupKind kinds[] = { CGROUP_KIND_OTHER, CGROUP_KIND_POD, CGROUP_KIND_CONTAINER };

        make_names();
        for (size_t i = 0; i < n_names; i++)
                for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                        const Name *nm = &names[i];
                        Cgroup *root = cgroup_new(NULL, "", 0, CGROUP_KIND_ROOT);
                        Cgroup *c = cgroup_new(root, nm->bytes, nm->len, kinds[k]);
                        char z[BIG + 2] = "/";
                        size_t n;

                        memcpy(z + 1, nm->bytes, nm->len);
                        z[nm->len + 1] = '\0';
                        c->watched = c->has_memory = true;
                        c->pod_namespace = c->pod_name = c->container_name = z + 1;
                        c->events.present = 1;
                        c->events.n_extra = 1;
                        /* cut to the field, maybe inside a sequence: still escaped */
                        memcpy(c->events.extra[0].name, z + 1,
                               strnlen(z + 1, sizeof(c->events.extra[0].name) - 1));
                        records_of(nm, c, z);

                        ck_assert_int_eq(cgroup_format_json(c, out, sizeof(out), &n), 0);
                        if (nm->len + 2 > 4096) /* longer than any cgroup path: null */
                                ck_assert_ptr_nonnull(strstr(out, "{\"cgroup\":null,"));
                        else
                                check_doc(nm, out, n, "cgroup", "/");
                        ck_assert_int_eq(json_check(out, n, NULL, NULL, 0, NULL), 0);
                        if (kinds[k] == CGROUP_KIND_CONTAINER && z[1])
                                check_doc(nm, out, n, "container", "");
                        ck_assert_int_eq(cgroup_format_json(c, out, 32, &n), -ENOBUFS);
                        free(c);
                        free(root);
                }
}
END_TEST

/* utf8_sanitize: valid UTF-8, no control, within the buffer, never a cut
 * sequence or escape. */
/* No ck_assert per byte: each one costs a write to Check's pipe. */
static bool sanitized_ok(const char *s, size_t n, size_t size)
{
        if (n >= size || strlen(s) != n)
                return false;
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
                if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
                        return false;
                i += k;
        }
        return true;
}

START_TEST(test_sanitize_table)
{
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } t[] = {
                { "web.service", 11, "web.service" },
                { "a\"b\\x2d", 7, "a\"b\\x2d" }, /* quotes and backslashes kept */
                { "a\nb\tc", 5, "a\\x0ab\\x09c" },
                { "\x01\x1f\x7f", 3, "\\x01\\x1f\\x7f" },
                { "a\0b", 3, "a\\x00b" },
                { "caf\xc3\xa9", 5, "caf\xc3\xa9" },
                { "\xf0\x9f\x90\xb3", 4, "\xf0\x9f\x90\xb3" },
                { "\xc2\x85", 2, "\\xc2\\x85" }, /* C1 control */
                { "\xc2\xa0", 2, "\xc2\xa0" },   /* U+00A0 is not one */
                { "\x80", 1, "\\x80" },
                { "\xc0\xaf", 2, "\\xc0\\xaf" },
                { "\xed\xa0\x80", 3, "\\xed\\xa0\\x80" },
                { "\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80" },
                { "a\xc3", 2, "a\\xc3" },
                { "\xe2\x82z", 3, "\\xe2\\x82z" },
                { "../x", 4, "../x" },
                { "", 0, "" },
        };
        char b[128];

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                size_t n = utf8_sanitize(t[i].in, t[i].len, b, sizeof(b));
                ck_assert_str_eq(b, t[i].out);
                ck_assert_uint_eq(n, strlen(t[i].out));
        }
}
END_TEST

START_TEST(test_sanitize_truncation)
{
        static const struct {
                const char *in;
                size_t len, size;
                const char *out;
        } t[] = {
                { "abc", 3, 3, "ab" },
                { "caf\xc3\xa9", 5, 5, "caf" }, /* not half of the é */
                { "caf\xc3\xa9", 5, 6, "caf\xc3\xa9" },
                { "\xf0\x9f\x90\xb3", 4, 4, "" },
                { "a\x01", 2, 5, "a" }, /* not half of the escape */
                { "a\x01", 2, 6, "a\\x01" },
                { "\xc2\x85", 2, 8, "" }, /* a C1 control's two escapes go together */
                { "x", 1, 1, "" },
        };
        char b[16];

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                memset(b, '#', sizeof(b));
                size_t n = utf8_sanitize(t[i].in, t[i].len, b, t[i].size);
                ck_assert_str_eq(b, t[i].out);
                ck_assert_uint_eq(n, strlen(t[i].out));
                ck_assert_int_eq(b[t[i].size], '#'); /* nothing past size */
        }
        b[0] = '#';
        ck_assert_uint_eq(utf8_sanitize("abc", 3, b, 0), 0);
        ck_assert_int_eq(b[0], '#');
}
END_TEST

START_TEST(test_sanitize_hostile)
{
        static char b[4 * BIG + 1];

        make_names();
        for (size_t i = 0; i < n_names; i++) {
                const Name *nm = &names[i];
                size_t n = utf8_sanitize(nm->bytes, nm->len, b, sizeof(b));
                bool ok = sanitized_ok(b, n, sizeof(b));
                /* Every size gives a prefix of the whole. */
                for (size_t size = 1; size < 64; size++) {
                        char s[64];
                        size_t m = utf8_sanitize(nm->bytes, nm->len, s, size);
                        ok = ok && sanitized_ok(s, m, size) && m <= n && memcmp(s, b, m) == 0;
                }
                ck_assert_msg(ok, "%s", nm->what);
        }
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("hostile");
        TCase *tc = tcase_create("json");
        tcase_add_test(tc, test_json_string);
        tcase_add_test(tc, test_json_string_overflow);
        tcase_add_test(tc, test_cgroup_sinks);
        suite_add_tcase(s, tc);
        tc = tcase_create("sanitize");
        tcase_add_test(tc, test_sanitize_table);
        tcase_add_test(tc, test_sanitize_truncation);
        tcase_add_test(tc, test_sanitize_hostile);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
