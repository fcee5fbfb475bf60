/* SPDX-License-Identifier: MIT */
/* Hostile hostile_names through every JSON sink: the string writer, records about a
 * cgroup with such a name, the status listing of that cgroup. Every output
 * must be valid JSON and valid UTF-8 without a raw control byte, and give the
 * original bytes back through the \udcXX convention (json.h). Then the
 * sanitized copy for sinks that need valid UTF-8 (utf8_sanitize). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action-state.h"
#include "cgroup.h"
#include "exec-proto.h"
#include "planner.h"
#include "report.h"
#include "fuzz/json-check.h"
#include "hostile-names.h"
#include "json.h"
#include "record.h"
#include "test-main.h"

static char out[1024 * 1024], back[HOSTILE_MAX + 8];

/* A JSON string of s: valid, and back to the same bytes. */
START_TEST(test_json_string)
{
        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
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
                char z[HOSTILE_MAX + 1];
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
        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                bool ok = true;
                for (size_t size = 1; size < 40; size++) {
                        char b[40];
                        JsonWriter w;
                        json_init(&w, b, size);
                        json_string_n(&w, hostile_names[i].bytes, hostile_names[i].len);
                        ok = ok && w.len < size && strlen(b) == w.len &&
                             (w.overflow || json_check(b, w.len, NULL, NULL, 0, NULL) == 0);
                }
                ck_assert_msg(ok, "%s", hostile_names[i].what);
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
static void check_doc(const HostileName *nm, const char *doc, size_t len, const char *key,
                      const char *prefix)
{
        size_t n, plen = strlen(prefix), want = strnlen(nm->bytes, nm->len);

        ck_assert_msg(json_check(doc, len, key, back, sizeof(back), &n) == 0, "%s: invalid: %.300s",
                      nm->what, doc);
        ck_assert_msg(n == plen + want && memcmp(back, prefix, plen) == 0 &&
                              memcmp(back + plen, nm->bytes, want) == 0,
                      "%s: %s does not round-trip", nm->what, key);
}

static void records_of(const HostileName *nm, Cgroup *c, const char *path)
{
        static const RecordType types[] = { RECORD_CGROUP_ADDED, RECORD_MEMORY_EVENTS, RECORD_PSI,
                                            RECORD_LIMITS,       RECORD_WARNING,       RECORD_ACTION };
        char z[HOSTILE_MAX + 1];
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

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++)
                for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
                        const HostileName *nm = &hostile_names[i];
                        Cgroup *root = cgroup_new(NULL, "", 0, CGROUP_KIND_ROOT);
                        Cgroup *c = cgroup_new(root, nm->bytes, nm->len, kinds[k]);
                        char z[HOSTILE_MAX + 2] = "/";
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

/* What executor-notify.c sends, built as run_notify()/run_exec() build it:
 * an `action` record of the target (path from action_target_init(), names
 * from the cgroup) into a buffer the size of the executor's (16 KiB). The
 * webhook body is that line without its newline; exec stdin is the whole
 * line, carried to the helper by exec-proto with the target's cookie. */
#define EXECUTOR_JSON_SIZE 16384

static void executor_payloads(const HostileName *nm, const Cgroup *c, const char *z)
{
        static char json[EXECUTOR_JSON_SIZE], msg[EXEC_MSG_MAX], cookie[PATH_MAX + 400];
        char via[96], detail[PATH_MAX + 200];
        Policy pol = { .name = (char *)"hostile", .scope_namespace = (char *)"tenant" };
        ActionTarget t, back_t;
        ActionOutcome o = { .action = ACTION_NOTIFY, .result = ACTION_RESULT_DONE };
        Record r = record_init(RECORD_ACTION);
        char *argv[] = { (char *)"/usr/bin/true", NULL };
        ExecRequest req;
        size_t len, n;

        action_target_init(&t, c, &pol);
        ck_assert_int_eq(t.path_error, nm->len + 2 > PATH_MAX ? -ENAMETOOLONG : 0);
        r.cgroup = c;
        r.path = t.path;
        r.outcome = &o;
        snprintf(via, sizeof(via), "journal,dbus,webhook");
        snprintf(detail, sizeof(detail), "policy %s %s on %s", t.policy, "firing", t.path);
        o.via = via;
        o.detail = detail;
        o.policy = t.policy;
        o.policy_namespace = t.ns;
        r.current = 123;
        int k = record_format_json(&r, json, sizeof(json), &len);
        /* A path of 4 KiB that escapes to more than the executor's buffer (quotes
         * twice, controls six times, and it is in the detail too): refused whole,
         * never cut; run_notify() then reports the step failed (-ENOBUFS). */
        if (k == -ENOBUFS && nm->len >= 1024)
                return;
        ck_assert_msg(k == 0, "%s: %d", nm->what, k);
        ck_assert_uint_eq(strlen(json), len);
        /* The webhook body: one JSON document, valid UTF-8, no raw control. */
        ck_assert_msg(json_check(json, len - 1, NULL, NULL, 0, NULL) == 0, "%s: %.300s", nm->what, json);
        ck_assert_ptr_null(memchr(json, '\n', len - 1));
        if (!t.path_error) {
                check_doc(nm, json, len, "cgroup", "/kubepods-pod1.slice/");
                ck_assert_int_eq(json_check(json, len - 1, "policy", back, sizeof(back), &n), 0);
                ck_assert(n == 7 && memcmp(back, "hostile", 7) == 0);
        }

        /* exec stdin: run_exec's record, through the helper's wire format. */
        o = (ActionOutcome){ .action = ACTION_EXEC,
                             .result = ACTION_RESULT_STARTED,
                             .via = "exec-helper",
                             .policy = t.policy,
                             .policy_namespace = t.ns,
                             .detail = argv[0] };
        ck_assert_int_eq(record_format_json(&r, json, sizeof(json), &len), 0);
        ck_assert_int_eq(json_check(json, len, NULL, NULL, 0, NULL), 0);
        ck_assert_int_eq(action_cookie_format(&t, cookie, sizeof(cookie)), 0);
        k = exec_request_encode(msg, sizeof(msg), argv, 1, 1000, json, len, cookie, strlen(cookie), &n);
        if (strlen(cookie) > EXEC_COOKIE_MAX) { /* refused whole, never cut: the exec fails */
                ck_assert_int_eq(k, -EINVAL);
                return;
        }
        ck_assert_msg(k == 0, "%s: %d", nm->what, k);
        ck_assert_int_eq(exec_request_decode(msg, n, &req), 0);
        ck_assert(req.input_len == len && memcmp(req.input, json, len) == 0);
        ck_assert(req.cookie_len == strlen(cookie) && memcmp(req.cookie, cookie, req.cookie_len) == 0);
        /* The cookie names the same target when the result comes back. */
        ck_assert_int_eq(action_cookie_parse(cookie, &back_t), 0);
        ck_assert_str_eq(back_t.path, t.path);
        ck_assert_str_eq(back_t.policy, t.policy);
        ck_assert_str_eq(back_t.ns, t.ns);
        (void)z;
}

START_TEST(test_executor_payloads)
{
        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
                Cgroup *root = cgroup_new(NULL, "", 0, CGROUP_KIND_ROOT);
                Cgroup *pod = cgroup_new(root, "kubepods-pod1.slice", 19, CGROUP_KIND_POD);
                Cgroup *c = cgroup_new(pod, nm->bytes, nm->len, CGROUP_KIND_CONTAINER);
                char z[HOSTILE_MAX + 1];

                memcpy(z, nm->bytes, nm->len);
                z[nm->len] = '\0';
                c->watched = c->has_memory = true;
                pod->pod_namespace = pod->pod_name = c->container_name = z;
                executor_payloads(nm, c, z);
                free(c);
                free(pod);
                free(root);
        }
}
END_TEST

/* Report file names from a hostile policy name and cgroup path: one file
 * name (no '/', no ".."), printable ASCII, bounded, always a .json. */
START_TEST(test_report_names)
{
        char name[REPORT_NAME_MAX], path[HOSTILE_MAX + 2] = "/";
        uint64_t t = 1767225600ULL * 1000000ULL;

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
                memcpy(path + 1, nm->bytes, nm->len);
                path[nm->len + 1] = '\0';
                /* The row as the cgroup path, as the policy name, as the namespace. */
                for (int as_policy = 0; as_policy < 3; as_policy++) {
                        int k = report_file_name(as_policy == 2 ? path + 1 : NULL,
                                                 as_policy == 1 ? path + 1 : "p", as_policy ? "/x" : path, t,
                                                 name, sizeof(name));
                        bool ok = k == 0 && !strchr(name, '/') && !strstr(name, "..") &&
                                  strlen(name) < REPORT_NAME_MAX && strlen(name) > 5 &&
                                  strcmp(name + strlen(name) - 5, ".json") == 0;
                        for (const char *s = name; ok && *s; s++)
                                ok = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f;
                        ck_assert_msg(ok, "%s (%s): %d '%s'", nm->what,
                                      as_policy == 2   ? "namespace"
                                      : as_policy == 1 ? "policy"
                                                       : "path",
                                      k, name);
                }
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
        static char b[4 * HOSTILE_MAX + 1];

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
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

/* The D-Bus PolicyEvent's four strings, through the same calls and buffer
 * sizes as bus_emit_policy_event() (daemon/bus.c): each valid UTF-8 for
 * sd-bus's 's', and the record's JSON passes unchanged (it is UTF-8 already). */
START_TEST(test_bus_strings)
{
        static char cg[PATH_MAX * 4 + 1], js[65536], json[EXECUTOR_JSON_SIZE];
        char p[256], z[HOSTILE_MAX + 2] = "/";
        ActionOutcome o = { .action = ACTION_NOTIFY, .result = ACTION_RESULT_DONE };
        size_t len;

        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
                Record r = record_init(RECORD_ACTION);
                memcpy(z + 1, nm->bytes, nm->len);
                z[nm->len + 1] = '\0';
                r.path = z;
                r.outcome = &o;
                o.detail = o.policy = z + 1;
                if (record_format_json(&r, json, sizeof(json), &len) < 0)
                        len = 1, json[0] = '\n'; /* too long: run_notify() sends nothing */
                json[len - 1] = '\0';            /* as run_notify() hands it over */
                size_t np = utf8_sanitize(z + 1, strlen(z + 1), p, sizeof(p));
                size_t nc = utf8_sanitize(z, strlen(z), cg, sizeof(cg));
                size_t nj = utf8_sanitize(json, strlen(json), js, sizeof(js));
                bool ok = sanitized_ok(p, np, sizeof(p)) && sanitized_ok(cg, nc, sizeof(cg)) &&
                          sanitized_ok(js, nj, sizeof(js)) && strcmp(js, json) == 0;
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
        tcase_add_test(tc, test_executor_payloads);
        tcase_add_test(tc, test_report_names);
        suite_add_tcase(s, tc);
        tc = tcase_create("sanitize");
        tcase_add_test(tc, test_sanitize_table);
        tcase_add_test(tc, test_sanitize_truncation);
        tcase_add_test(tc, test_sanitize_hostile);
        tcase_add_test(tc, test_bus_strings);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
