/* SPDX-License-Identifier: MIT */
/* Kubernetes Events (src/kube-event.c): the pod regarded, which outcomes
 * make an Event, the request path, the name, and the JSON body, also for
 * every row of the hostile-name table in every string the model gives. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/json-check.h"
#include "hostile-names.h"
#include "kube-event.h"
#include "macro.h"
#include "test-main.h"

#define POD_CG  "kubepods-burstable-pod0d6c2b8c_1f0e_4a44_9d6e_3c1f1a5e7b21.slice"
#define POD_UID "0d6c2b8c-1f0e-4a44-9d6e-3c1f1a5e7b21"

static Cgroup *cg(Cgroup *parent, CgroupKind kind, const char *name)
{
        Cgroup *c = calloc(1, sizeof(Cgroup) + strlen(name) + 1);

        ck_assert_ptr_nonnull(c);
        c->kind = kind;
        c->name_len = (uint16_t)strlen(name);
        memcpy(c->name, name, c->name_len);
        c->parent = parent;
        return c;
}

START_TEST(test_target)
{
        Cgroup *qos = cg(NULL, CGROUP_KIND_KUBEPODS, "kubepods-burstable.slice");
        Cgroup *pod = cg(qos, CGROUP_KIND_POD, POD_CG);
        Cgroup *ctr = cg(pod, CGROUP_KIND_CONTAINER, "cri-containerd-abc.scope");
        Cgroup *inner = cg(ctr, CGROUP_KIND_OTHER, "inner");
        Cgroup *bad = cg(qos, CGROUP_KIND_POD, "kubepods-burstable-podnothex.slice");
        KubeEventTarget t;

        /* Names not known yet: no Event. */
        ck_assert_int_eq(kube_event_target(pod, &t), -ENOENT);
        pod->pod_namespace = (char *)"shop", pod->pod_name = (char *)"";
        ck_assert_int_eq(kube_event_target(ctr, &t), -ENOENT);
        pod->pod_name = (char *)"web-0";
        ck_assert_int_eq(kube_event_target(pod, &t), 0);
        ck_assert_str_eq(t.namespace, "shop");
        ck_assert_str_eq(t.pod, "web-0");
        ck_assert_str_eq(t.uid, POD_UID);
        ck_assert_str_eq(t.container, "");
        ctr->container_name = (char *)"app";
        inner->container_name = (char *)"app";
        ck_assert_int_eq(kube_event_target(ctr, &t), 0);
        ck_assert_str_eq(t.container, "app");
        ck_assert_int_eq(kube_event_target(inner, &t), 0); /* in the pod, but no container of it */
        ck_assert_str_eq(t.container, "");
        ck_assert_str_eq(t.pod, "web-0");
        ck_assert_int_eq(kube_event_target(qos, &t), -ENOENT);
        ck_assert_int_eq(kube_event_target(NULL, &t), -ENOENT);
        bad->pod_namespace = (char *)"shop", bad->pod_name = (char *)"x";
        ck_assert_int_eq(kube_event_target(bad, &t), -ENOENT); /* no UID */
        free(bad), free(inner), free(ctr), free(pod), free(qos);
}
END_TEST

START_TEST(test_classify)
{
        static const struct {
                ActionType a;
                bool undo;
                ActionResult r;
                bool container;
                const char *reason; /* NULL: no Event */
                bool warning;
        } rows[] = {
                { ACTION_THROTTLE, false, ACTION_RESULT_DONE, true, "MemoryThrottled", false },
                { ACTION_THROTTLE, false, ACTION_RESULT_FAILED, true, "ThrottleFailed", true },
                { ACTION_THROTTLE, true, ACTION_RESULT_DONE, true, NULL, false }, /* a give-back */
                { ACTION_THROTTLE, false, ACTION_RESULT_DRY_RUN, true, NULL, false },
                { ACTION_THROTTLE, false, ACTION_RESULT_REFUSED, true, NULL, false },
                { ACTION_FREEZE, false, ACTION_RESULT_STARTED, false, NULL, false },
                { ACTION_FREEZE, false, ACTION_RESULT_DONE, false, "PodFrozen", true },
                { ACTION_FREEZE, true, ACTION_RESULT_DONE, false, NULL, false },
                { ACTION_KILL, false, ACTION_RESULT_DONE, true, "ContainerKilled", true },
                { ACTION_KILL, false, ACTION_RESULT_DONE, false, "PodKilled", true },
                { ACTION_KILL, false, ACTION_RESULT_FAILED, true, "KillFailed", true },
                { ACTION_KILL, false, ACTION_RESULT_SKIPPED, true, NULL, false },
                { ACTION_RESTART, false, ACTION_RESULT_DONE, false, "Restarted", true },
                { ACTION_NOTIFY, false, ACTION_RESULT_DONE, false, NULL, false },
                { ACTION_REPORT, false, ACTION_RESULT_DONE, false, NULL, false },
                { ACTION_EXEC, false, ACTION_RESULT_FAILED, false, NULL, false },
                { ACTION_STOP, false, ACTION_RESULT_DONE, false, NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                ActionOutcome o = { .action = rows[i].a, .undo = rows[i].undo, .result = rows[i].r };
                const char *reason = NULL, *action = NULL;
                bool warning = false;
                bool yes = kube_event_classify(&o, rows[i].container, &reason, &action, &warning);

                ck_assert_msg(yes == (rows[i].reason != NULL), "row %zu", i);
                if (yes) {
                        ck_assert_str_eq(reason, rows[i].reason);
                        ck_assert_msg(warning == rows[i].warning, "row %zu", i);
                        ck_assert_uint_le(strlen(action), KUBE_EVENT_FIELD_MAX);
                }
        }
        ck_assert(!kube_event_classify(NULL, false, NULL, NULL, NULL));
}
END_TEST

START_TEST(test_path)
{
        char b[KUBE_EVENT_PATH_MAX];
        static const char *bad[] = { "",
                                     "-a",
                                     "a-",
                                     "A",
                                     "a/b",
                                     "a_b",
                                     "../x",
                                     "a.b",
                                     "a%2fb",
                                     "a b",
                                     "0123456789012345678901234567890123456789012345678901234567890123" };

        ck_assert_int_eq(kube_event_path("shop", b, sizeof(b)), 0);
        ck_assert_str_eq(b, "/apis/events.k8s.io/v1/namespaces/shop/events");
        ck_assert_int_eq(kube_event_path("012345678901234567890123456789012345678901234567890123456789012",
                                         b, sizeof(b)),
                         0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(kube_event_path(bad[i], b, sizeof(b)) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(kube_event_path(NULL, b, sizeof(b)), -EINVAL);
        ck_assert_int_eq(kube_event_path("shop", b, 10), -ENOBUFS);
}
END_TEST

/* IsDNS1123Subdomain, as the API server checks metadata.name. */
static bool dns_subdomain(const char *s)
{
        size_t n = strlen(s);
        bool label_start = true;

        if (n == 0 || n > 253)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool an = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (c == '.') {
                        if (label_start || s[i - 1] == '-')
                                return false;
                        label_start = true;
                } else if (c == '-') {
                        if (label_start)
                                return false;
                } else if (!an)
                        return false;
                else
                        label_start = false;
        }
        return !label_start && s[n - 1] != '-';
}

static KubeEventTarget target(void)
{
        KubeEventTarget t = { .namespace = "shop", .pod = "web-0", .uid = POD_UID, .container = "app" };
        return t;
}

START_TEST(test_name)
{
        KubeEventTarget t = target();
        KubeEventInput in = { .target = &t, .real_usec = 1764601462123456ULL, .seq = 7 };
        char a[KUBE_EVENT_NAME_MAX + 1], b[KUBE_EVENT_NAME_MAX + 1];
        static const char *pods[] = { "web-0", "a..b", "-x-", ".", "a.-b", "A_B", "", "x.y.z" };

        kube_event_name(&in, a);
        ck_assert_str_eq(a, "web-0.644e54b51ebc0.7");
        kube_event_name(&in, b);
        ck_assert_str_eq(a, b); /* deterministic */
        in.seq = 8;
        kube_event_name(&in, b);
        ck_assert_str_ne(a, b); /* unique */
        for (size_t i = 0; i < ELEMENTSOF(pods); i++) {
                snprintf(t.pod, sizeof(t.pod), "%s", pods[i]);
                kube_event_name(&in, a);
                ck_assert_msg(dns_subdomain(a), "%s -> %s", pods[i], a);
        }
        memset(t.pod, 'p', sizeof(t.pod) - 1);
        t.pod[sizeof(t.pod) - 1] = '\0';
        in.real_usec = UINT64_MAX, in.seq = UINT64_MAX;
        kube_event_name(&in, a);
        ck_assert_msg(dns_subdomain(a), "%s", a);
        ck_assert_uint_le(strlen(a), KUBE_EVENT_NAME_MAX);
}
END_TEST

static char body[KUBE_EVENT_BODY_MAX], back[KUBE_EVENT_BODY_MAX];

static const char *member(const char *doc, size_t len, const char *key)
{
        size_t n;

        ck_assert_msg(json_check(doc, len, key, back, sizeof(back), &n) == 0, "%s: %s", key, doc);
        back[n] = '\0';
        return back;
}

START_TEST(test_format)
{
        KubeEventTarget t = target();
        ActionOutcome o = { .policy = "oom-kill",
                            .policy_namespace = "shop",
                            .action = ACTION_KILL,
                            .result = ACTION_RESULT_DONE,
                            .detail = "cgroup.kill: every process SIGKILLed" };
        KubeEventInput in = { .target = &t,
                              .outcome = &o,
                              .cgroup_path = "/kubepods.slice/x.scope",
                              .instance = "node-1",
                              .real_usec = 1764601462123456ULL,
                              .seq = 1 };
        size_t len;

        ck_assert_int_eq(kube_event_format(&in, body, sizeof(body), &len), 0);
        ck_assert_uint_eq(strlen(body), len);
        ck_assert_str_eq(member(body, len, "apiVersion"), "events.k8s.io/v1");
        ck_assert_str_eq(member(body, len, "kind"), "Event");
        ck_assert_str_eq(member(body, len, "eventTime"), "2025-12-01T15:04:22.123456Z");
        ck_assert_str_eq(member(body, len, "reportingController"), KUBE_EVENT_CONTROLLER);
        ck_assert_str_eq(member(body, len, "reportingInstance"), "node-1");
        ck_assert_str_eq(member(body, len, "action"), "Kill");
        ck_assert_str_eq(member(body, len, "reason"), "ContainerKilled");
        ck_assert_str_eq(member(body, len, "type"), "Warning");
        ck_assert_str_eq(
                member(body, len, "note"),
                "memwarden: killed container app (policy shop/oom-kill): cgroup.kill: every process "
                "SIGKILLed; cgroup /kubepods.slice/x.scope");
        ck_assert_ptr_nonnull(strstr(body, "\"regarding\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
                                           "\"namespace\":\"shop\",\"name\":\"web-0\",\"uid\":\"" POD_UID
                                           "\",\"fieldPath\":\"spec.containers{app}\"}"));
        ck_assert_ptr_nonnull(strstr(body, "\"metadata\":{\"name\":\"web-0.644e54b51ebc0.1\","
                                           "\"namespace\":\"shop\"}"));

        /* A throttle of the pod: Normal, with the values. */
        t.container[0] = '\0';
        o = (ActionOutcome){ .policy = "squeeze",
                             .action = ACTION_THROTTLE,
                             .result = ACTION_RESULT_DONE,
                             .has_values = true,
                             .old_value = UINT64_MAX,
                             .new_value = 1048576,
                             .detail = "memory.high max -> 1.0Mi" };
        ck_assert_int_eq(kube_event_format(&in, body, sizeof(body), &len), 0);
        ck_assert_str_eq(member(body, len, "type"), "Normal");
        ck_assert_str_eq(member(body, len, "note"),
                         "memwarden: throttled pod web-0 (policy squeeze): "
                         "memory.high max -> 1.0Mi; cgroup /kubepods.slice/x.scope");
        ck_assert_ptr_null(strstr(body, "fieldPath"));

        /* No Event: a dry run; a target without namespace or UID; too small a buffer. */
        o.result = ACTION_RESULT_DRY_RUN;
        ck_assert_int_eq(kube_event_format(&in, body, sizeof(body), &len), -ENOENT);
        o.result = ACTION_RESULT_DONE;
        t.uid[0] = '\0';
        ck_assert_int_eq(kube_event_format(&in, body, sizeof(body), &len), -EINVAL);
        t = target();
        snprintf(t.namespace, sizeof(t.namespace), "a/b");
        ck_assert_int_eq(kube_event_format(&in, body, sizeof(body), &len), -EINVAL);
        t = target();
        ck_assert_int_eq(kube_event_format(&in, body, 100, &len), -ENOBUFS);
        in.target = NULL;
        ck_assert_int_eq(kube_event_format(&in, body, sizeof(body), &len), -EINVAL);
}
END_TEST

static bool sane(const char *s)
{
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* Every hostile row as pod name, container name, policy, detail, cgroup
 * path and node name at once, and each in the longest form: the body is
 * one valid JSON document within KUBE_EVENT_BODY_MAX, the note at most 1 KiB
 * of valid UTF-8 without a control, the name a DNS subdomain. */
START_TEST(test_hostile)
{
        hostile_make_names();
        for (size_t i = 0; i < n_hostile_names; i++) {
                const HostileName *nm = &hostile_names[i];
                char z[HOSTILE_MAX + 1], name[KUBE_EVENT_NAME_MAX + 1], note[KUBE_EVENT_NOTE_MAX + 1];
                KubeEventTarget t = target();
                ActionOutcome o = { .policy = z,
                                    .policy_namespace = z,
                                    .action = ACTION_FREEZE,
                                    .result = ACTION_RESULT_FAILED,
                                    .detail = z };
                KubeEventInput in = { .target = &t,
                                      .outcome = &o,
                                      .cgroup_path = z,
                                      .instance = z,
                                      .real_usec = 1764601462123456ULL,
                                      .seq = i };
                size_t len, n;

                memcpy(z, nm->bytes, nm->len);
                z[nm->len] = '\0';
                memcpy(t.pod, z, strnlen(z, sizeof(t.pod) - 1));
                t.pod[strnlen(z, sizeof(t.pod) - 1)] = '\0';
                memcpy(t.container, z, strnlen(z, sizeof(t.container) - 1));
                t.container[strnlen(z, sizeof(t.container) - 1)] = '\0';
                if (!t.pod[0])
                        snprintf(t.pod, sizeof(t.pod), "x");
                ck_assert_msg(kube_event_format(&in, body, sizeof(body), &len) == 0, "%s", nm->what);
                ck_assert_msg(json_check(body, len, NULL, NULL, 0, NULL) == 0, "%s: %.300s", nm->what, body);
                ck_assert_msg(json_check(body, len, "note", back, sizeof(back), &n) == 0 &&
                                      n <= KUBE_EVENT_NOTE_MAX,
                              "%s: note of %zu", nm->what, n);
                ck_assert_msg(json_check(body, len, "reportingInstance", back, sizeof(back), &n) == 0 &&
                                      n <= KUBE_EVENT_FIELD_MAX,
                              "%s: instance of %zu", nm->what, n);
                n = kube_event_note(&in, note);
                ck_assert_msg(n <= KUBE_EVENT_NOTE_MAX && n == strlen(note) && sane(note), "%s", nm->what);
                kube_event_name(&in, name);
                ck_assert_msg(dns_subdomain(name), "%s: %s", nm->what, name);
                ck_assert_msg(kube_event_path(z, name, sizeof(name)) == -EINVAL ||
                                      strspn(z, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(z),
                              "%s: a path", nm->what);
        }
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("kube-event");
        TCase *tc = tcase_create("kube-event");

        tcase_add_test(tc, test_target);
        tcase_add_test(tc, test_classify);
        tcase_add_test(tc, test_path);
        tcase_add_test(tc, test_name);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_hostile);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
