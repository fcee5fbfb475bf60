/* SPDX-License-Identifier: MIT */
/* The Prometheus exposition writer: label escaping with hostile names, whole
 * lines on overflow, exact seconds, the latency histogram on synthetic data,
 * and which cgroups get series. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile-names.h"
#include "json.h"
#include "macro.h"
#include "metrics.h"
#include "test-main.h"

/* What a Prometheus text parser would take back: between the quotes only
 * \\, \" and \n escapes, no raw '"', '\n' or control byte, valid UTF-8. */
static void assert_label_ok(const char *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)v[i];
                ck_assert_msg(ch >= 0x20 && ch != 0x7f, "control byte 0x%02x at %zu in '%s'", ch, i, v);
                ck_assert_msg(ch != '"', "unescaped quote in '%s'", v);
                if (ch == '\\') {
                        ck_assert_msg(i + 1 < n && (v[i + 1] == '\\' || v[i + 1] == '"'),
                                      "bad escape in '%s'", v);
                        i++;
                }
        }
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k = utf8_decode((const unsigned char *)v + i, n - i, &cp);
                ck_assert_msg(k > 0, "invalid UTF-8 at %zu", i);
                i += k;
        }
}

START_TEST(test_label_plain)
{
        char out[METRICS_LABEL_ESCAPED_MAX];
        size_t n = metrics_label_value("web.service", 11, out, sizeof(out));

        ck_assert_str_eq(out, "web.service");
        ck_assert_uint_eq(n, 11);
        metrics_label_value("caf\xc3\xa9", 5, out, sizeof(out));
        ck_assert_str_eq(out, "caf\xc3\xa9"); /* valid UTF-8 stays as it is */
        metrics_label_value("a\"b\\c", 5, out, sizeof(out));
        ck_assert_str_eq(out, "a\\\"b\\\\c"); /* quotes and backslashes escaped, no hash: reversible */
        metrics_label_value(NULL, 0, out, sizeof(out));
        ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_label_changed_gets_hash)
{
        char a[METRICS_LABEL_ESCAPED_MAX], b[METRICS_LABEL_ESCAPED_MAX];

        /* A newline and the text "\x0a" would look alike after sanitising: the hash parts them. */
        metrics_label_value("a\nb", 3, a, sizeof(a));
        metrics_label_value("a\\x0ab", 6, b, sizeof(b));
        ck_assert_ptr_null(strchr(a, '\n'));
        ck_assert_ptr_nonnull(strchr(a, '~'));
        ck_assert_str_ne(a, b);
        assert_label_ok(a, strlen(a));
        assert_label_ok(b, strlen(b));
        /* A clean name written as another's hashed value would be: hashed too, so they differ. */
        metrics_label_value(a, strlen(a), b, sizeof(b)); /* a: "a\\x0ab~<16 hex>" as text */
        ck_assert_str_ne(a, b);
        ck_assert_uint_eq(strlen(b), strlen(a) + 17 + 2); /* its own hash, and the backslash escaped */
        metrics_label_value("x~0123456789abcdeg", 18, b, sizeof(b)); /* not hex: unchanged */
        ck_assert_str_eq(b, "x~0123456789abcdeg");
}
END_TEST

START_TEST(test_label_hostile)
{
        static char out[128][METRICS_LABEL_ESCAPED_MAX];

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *h = &hostile_names[i];
                size_t n = metrics_label_value(h->bytes, h->len, out[i], sizeof(out[i]));
                ck_assert_uint_eq(n, strlen(out[i]));
                ck_assert_uint_lt(n, METRICS_LABEL_ESCAPED_MAX);
                assert_label_ok(out[i], n);
                /* Unescaped, never longer than the bound. */
                size_t raw = 0;
                for (size_t k = 0; k < n; k++, raw++)
                        if (out[i][k] == '\\')
                                k++;
                ck_assert_msg(raw <= METRICS_LABEL_VALUE_MAX, "%s: %zu bytes", h->what, raw);
        }
        /* Different names, different series. */
        for (size_t i = 0; i < n_hostile_names; i++)
                for (size_t k = i + 1; k < n_hostile_names; k++)
                        if (hostile_names[i].len != hostile_names[k].len ||
                            memcmp(hostile_names[i].bytes, hostile_names[k].bytes, hostile_names[i].len) !=
                                    0)
                                ck_assert_msg(strcmp(out[i], out[k]) != 0, "'%s' and '%s' collide",
                                              hostile_names[i].what, hostile_names[k].what);
}
END_TEST

START_TEST(test_label_small_buffer)
{
        char out[8];

        metrics_label_value("\"\"\"\"\"\"", 6, out, sizeof(out));
        ck_assert_uint_eq(strlen(out), 6); /* three escaped quotes, never half an escape */
        ck_assert_str_eq(out, "\\\"\\\"\\\"");
}
END_TEST

START_TEST(test_cgroup_labels_hostile)
{
        char buf[METRICS_CGROUP_LABELS_MAX];
        size_t n_pairs;

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                char name[HOSTILE_MAX + 1];
                memcpy(name, hostile_names[i].bytes, hostile_names[i].len);
                name[hostile_names[i].len] = '\0';
                CgroupIdentity id = {
                        .path = name, .unit = name, .namespace = name, .pod = name, .container = name
                };
                size_t n = metrics_cgroup_labels(&id, buf, sizeof(buf), &n_pairs);
                ck_assert_uint_eq(n, strlen(buf));
                ck_assert_uint_eq(n_pairs, name[0] ? 5 : 0);
                ck_assert_ptr_null(strchr(buf, '\n'));
        }
        CgroupIdentity id = { .path = "/kubepods.slice/p", .pod = "web", .namespace = "" };
        metrics_cgroup_labels(&id, buf, sizeof(buf), &n_pairs);
        ck_assert_str_eq(buf, "cgroup=\"/kubepods.slice/p\",pod=\"web\"");
        ck_assert_uint_eq(n_pairs, 2);
}
END_TEST

START_TEST(test_writer_lines)
{
        char buf[4096];
        MetricsWriter w;

        metrics_init(&w, buf, sizeof(buf));
        metrics_family(&w, "memwarden_x_total", METRIC_COUNTER, "Things.");
        metrics_begin(&w, "memwarden_x_total");
        metrics_label(&w, "event", "high", 4);
        metrics_label(&w, "cgroup", "/a\"b", 4);
        metrics_end_u64(&w, 42);
        metrics_sample_u64(&w, "memwarden_y", 7);
        metrics_begin(&w, "memwarden_z_seconds_total");
        metrics_labels_raw(&w, "a=\"1\",b=\"2\"", 2);
        metrics_label_raw(&w, "c", "3");
        metrics_end_usec(&w, 1500000);
        ck_assert(!w.overflow);
        ck_assert_str_eq(buf, "# HELP memwarden_x_total Things.\n"
                              "# TYPE memwarden_x_total counter\n"
                              "memwarden_x_total{event=\"high\",cgroup=\"/a\\\"b\"} 42\n"
                              "memwarden_y 7\n"
                              "memwarden_z_seconds_total{a=\"1\",b=\"2\",c=\"3\"} 1.5\n");
}
END_TEST

START_TEST(test_writer_overflow_whole_lines)
{
        char buf[40];
        MetricsWriter w;
        size_t mark;

        metrics_init(&w, buf, sizeof(buf));
        metrics_sample_u64(&w, "memwarden_a", 1); /* 14 bytes */
        mark = metrics_mark(&w);
        metrics_sample_u64(&w, "memwarden_b", 2);
        metrics_sample_u64(&w, "memwarden_ccccccccccc", 3); /* does not fit */
        ck_assert(w.overflow);
        ck_assert_str_eq(buf, "memwarden_a 1\nmemwarden_b 2\n");
        metrics_sample_u64(&w, "x", 1); /* after overflow, nothing */
        ck_assert_str_eq(buf, "memwarden_a 1\nmemwarden_b 2\n");
        metrics_rewind(&w, mark);
        ck_assert(!w.overflow);
        ck_assert_str_eq(buf, "memwarden_a 1\n");
        /* A family header is whole or absent too. */
        metrics_family(&w, "memwarden_long_name_total", METRIC_COUNTER, "Long help text here.");
        ck_assert(w.overflow);
        ck_assert_str_eq(buf, "memwarden_a 1\n");
}
END_TEST

START_TEST(test_format_usec)
{
        static const struct {
                uint64_t usec;
                const char *s;
        } t[] = {
                { 0, "0" },
                { 1, "0.000001" },
                { 500, "0.0005" },
                { 1000000, "1" },
                { 1500000, "1.5" },
                { 2500000, "2.5" },
                { 1234567, "1.234567" },
                { UINT64_MAX, "18446744073709.551615" },
        };
        char b[32];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                metrics_format_usec(t[i].usec, b, sizeof(b));
                ck_assert_str_eq(b, t[i].s);
        }
}
END_TEST

START_TEST(test_histogram)
{
        LatencyHistogram h = {};
        static char buf[8192];
        MetricsWriter w;

        /* Synthetic latencies: on a bound goes into that bucket (le is <=). */
        latency_observe(&h, 100);      /* <= 0.0005 */
        latency_observe(&h, 500);      /* <= 0.0005 */
        latency_observe(&h, 501);      /* <= 0.001 */
        latency_observe(&h, 60000);    /* <= 0.1 */
        latency_observe(&h, 20000000); /* +Inf */
        ck_assert_uint_eq(h.count, 5);
        ck_assert_uint_eq(h.sum_usec, 100 + 500 + 501 + 60000 + 20000000);
        ck_assert_uint_eq(h.bucket[0], 2);
        ck_assert_uint_eq(h.bucket[1], 1);
        ck_assert_uint_eq(h.bucket[7], 1);
        ck_assert_uint_eq(h.bucket[LATENCY_BUCKETS], 1);

        metrics_init(&w, buf, sizeof(buf));
        metrics_histogram(&w, "memwarden_l_seconds", "policy=\"p\"", 1, &h);
        ck_assert(!w.overflow);
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_bucket{policy=\"p\",le=\"0.0005\"} 2\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_bucket{policy=\"p\",le=\"0.001\"} 3\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_bucket{policy=\"p\",le=\"0.05\"} 3\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_bucket{policy=\"p\",le=\"0.1\"} 4\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_bucket{policy=\"p\",le=\"10\"} 4\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_bucket{policy=\"p\",le=\"+Inf\"} 5\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_sum{policy=\"p\"} 20.061101\n"));
        ck_assert_ptr_nonnull(strstr(buf, "memwarden_l_seconds_count{policy=\"p\"} 5\n"));
        /* Bounds ascend. */
        for (unsigned i = 1; i < LATENCY_BUCKETS; i++)
                ck_assert_uint_gt(latency_bucket_usec[i], latency_bucket_usec[i - 1]);
}
END_TEST

static Cgroup *cg(CgroupKind kind, uint64_t high, uint64_t max)
{
        Cgroup *c = calloc(1, sizeof(Cgroup) + 1);
        ck_assert_ptr_nonnull(c);
        c->kind = kind;
        c->high = high;
        c->max = max;
        return c;
}

START_TEST(test_cgroup_wanted)
{
        static const struct {
                CgroupKind kind;
                uint64_t high, max;
                bool policy;
                bool want[_METRICS_CGROUPS_MAX];
        } t[] = {
                /*                                       none   policy limited all */
                { CGROUP_KIND_ROOT, UINT64_MAX, UINT64_MAX, false, { false, false, true, true } },
                { CGROUP_KIND_SLICE, UINT64_MAX, UINT64_MAX, false, { false, false, true, true } },
                { CGROUP_KIND_KUBEPODS, UINT64_MAX, UINT64_MAX, false, { false, false, true, true } },
                { CGROUP_KIND_POD, UINT64_MAX, UINT64_MAX, false, { false, false, true, true } },
                { CGROUP_KIND_CONTAINER, UINT64_MAX, UINT64_MAX, false, { false, false, true, true } },
                { CGROUP_KIND_SERVICE, UINT64_MAX, UINT64_MAX, false, { false, false, false, true } },
                { CGROUP_KIND_SCOPE, UINT64_MAX, UINT64_MAX, false, { false, false, false, true } },
                { CGROUP_KIND_OTHER, UINT64_MAX, UINT64_MAX, false, { false, false, false, true } },
                { CGROUP_KIND_SERVICE, 1 << 20, UINT64_MAX, false, { false, false, true, true } },
                { CGROUP_KIND_OTHER, UINT64_MAX, 1 << 20, false, { false, false, true, true } },
                { CGROUP_KIND_SCOPE, UINT64_MAX, UINT64_MAX, true, { false, true, true, true } },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                Cgroup *c = cg(t[i].kind, t[i].high, t[i].max);
                for (int m = 0; m < _METRICS_CGROUPS_MAX; m++)
                        ck_assert_msg(metrics_cgroup_wanted((MetricsCgroups)m, c, t[i].policy) ==
                                              t[i].want[m],
                                      "row %zu mode %s", i, metrics_cgroups_to_string((MetricsCgroups)m));
                free(c);
        }
        ck_assert_int_eq(metrics_cgroups_from_string("limited"), METRICS_CGROUPS_LIMITED);
        ck_assert_int_eq(metrics_cgroups_from_string("bogus"), _METRICS_CGROUPS_INVALID);
        ck_assert_int_eq(metrics_cgroups_from_string(NULL), _METRICS_CGROUPS_INVALID);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("exposition");

        tcase_add_test(tc, test_label_plain);
        tcase_add_test(tc, test_label_changed_gets_hash);
        tcase_add_test(tc, test_label_hostile);
        tcase_add_test(tc, test_label_small_buffer);
        tcase_add_test(tc, test_cgroup_labels_hostile);
        tcase_add_test(tc, test_writer_lines);
        tcase_add_test(tc, test_writer_overflow_whole_lines);
        tcase_add_test(tc, test_format_usec);
        tcase_add_test(tc, test_histogram);
        tcase_add_test(tc, test_cgroup_wanted);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
