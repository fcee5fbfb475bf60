/* SPDX-License-Identifier: MIT */
/* explain's JSON from a policy set and identities: the policy that applies,
 * the node policy beside it, why the others do not, armed and phase from the
 * callback, the bound on "others", and a buffer too small. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"
#include "macro.h"
#include "test-main.h"

#define POL(name, match, trig)                                                                              \
        "---\napiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: " name "}\nspec:\n  match: " match   \
        "\n  triggers: {any: [" trig "]}\n  actions: [{type: notify}, {type: report}]\n"

static const char *text = POL("web", "{unit: \"web-*.service\"}", "{usage: {of: high, above: 90%}}")
        POL("all", "{}", "{memoryEvents: {counter: oom_kill, increase: 2, window: 1m}}")
                POL("low", "{}", "{nodeAvailable: {below: 128Mi}}") POL(
                        "shop", "{namespace: shop}", "{pressure: {type: full, above: 12.5%, window: 10s}}");

static PolicySet set;

static void setup(void)
{
        static PolicyErrors e;

        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(policy_load_buffer(&set, "/p/a.yaml", text, strlen(text), NULL, &e), 0);
        ck_assert_uint_eq(set.n, 4);
}

static void teardown(void)
{
        policy_set_done(&set);
}

static bool armed_firing(void *userdata, bool node, PolicyPhase *ret)
{
        (void)userdata;
        *ret = node ? POLICY_PENDING : POLICY_FIRING;
        return true;
}

static const char *route; /* ExplainInput.route for the next format() */

static void format(const CgroupIdentity *id, CgroupKind kind, ExplainArmedFn armed, char *buf, size_t size)
{
        ExplainInput in = { .id = id, .kind = kind, .set = &set, .armed = armed, .route = route };
        size_t len = 0;

        ck_assert_int_eq(explain_format(&in, buf, size, &len), 0);
        ck_assert_uint_lt(len, size);
        buf[len] = '\0';
}

START_TEST(test_unit)
{
        static char buf[8192];
        CgroupIdentity id = { .path = "/system.slice/web-1.service",
                              .unit = "web-1.service",
                              .qos = _QOS_INVALID };

        format(&id, CGROUP_KIND_SERVICE, armed_firing, buf, sizeof(buf));
        ck_assert_pstr_eq(strstr(buf, "{\"cgroup\":\"/system.slice/web-1.service\",\"kind\":\"service\","
                                      "\"identity\":{\"unit\":\"web-1.service\",\"namespace\":null,"
                                      "\"pod\":null,\"container\":null,\"qos\":null},"),
                          buf);
        ck_assert_ptr_nonnull(strstr(buf, "\"policy\":\"web\",\"source\":\"/p/a.yaml:2\",\"any\":"
                                          "[\"usage > 90.00% of memory.high\"],\"for_us\":0,"
                                          "\"select\":\"each\",\"actions\":[\"notify\",\"report\"],"
                                          "\"armed\":true,\"phase\":\"firing\""));
        ck_assert_ptr_nonnull(strstr(buf, "{\"policy\":\"all\",\"why\":\"matches, but a more specific "
                                          "policy applies\"}"));
        ck_assert_ptr_nonnull(strstr(buf, "{\"policy\":\"shop\",\"why\":\"namespace: none here (wants "
                                          "'shop')\"}"));
        ck_assert_ptr_nonnull(strstr(buf, "\"node_policy\":{\"policy\":\"low\",\"source\":\"/p/a.yaml:"));
        ck_assert_ptr_nonnull(strstr(buf, "[\"nodeAvailable < 128 MiB\"]"));
        ck_assert_ptr_nonnull(strstr(buf, "\"armed\":true,\"phase\":\"pending\"}}"));
}
END_TEST

START_TEST(test_pod_not_armed)
{
        static char buf[8192];
        CgroupIdentity id = {
                .path = "/kubepods.slice/p", .namespace = "shop", .pod = "web-1", .qos = QOS_BURSTABLE
        };

        format(&id, CGROUP_KIND_POD, NULL, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "\"namespace\":\"shop\",\"pod\":\"web-1\",\"container\":null,"
                                          "\"qos\":\"burstable\"}"));
        ck_assert_ptr_nonnull(strstr(buf, "\"policy\":\"shop\",\"source\":\"/p/a.yaml:"));
        ck_assert_ptr_nonnull(strstr(buf, "[\"pressure full > 12.50% over 10 s\"]"));
        ck_assert_ptr_nonnull(strstr(buf, "\"armed\":false,\"phase\":null"));
        ck_assert_ptr_nonnull(strstr(buf, "{\"policy\":\"web\",\"why\":\"unit: none here (wants "
                                          "'web-*.service')\"}"));
}
END_TEST

START_TEST(test_no_policy)
{
        static char buf[8192];
        static PolicySet empty;
        CgroupIdentity id = { .path = "/x\"\n", .qos = _QOS_INVALID };
        ExplainInput in = { .id = &id, .kind = CGROUP_KIND_OTHER, .set = &empty };
        size_t len;

        ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        ck_assert_str_eq(buf, "{\"cgroup\":\"/x\\\"\\n\",\"kind\":\"other\",\"identity\":{\"unit\":null,"
                              "\"namespace\":null,\"pod\":null,\"container\":null,\"qos\":null},"
                              "\"policy\":null,\"others\":[],\"node_policy\":null}");
        /* Too small: an error, never a cut object. */
        for (size_t n = 0; n < len; n++)
                ck_assert_int_eq(explain_format(&in, buf, n, &len), -ENOBUFS);
}
END_TEST

START_TEST(test_others_bounded)
{
        static char buf[16384], big[8192];
        static PolicySet many;
        static PolicyErrors e;
        CgroupIdentity id = { .path = "/a", .qos = _QOS_INVALID };
        ExplainInput in = { .id = &id, .kind = CGROUP_KIND_OTHER, .set = &many };
        size_t len = 0, n = 0;
        const char *s;

        for (int i = 0; i < 40; i++)
                n += (size_t)snprintf(big + n, sizeof(big) - n,
                                      POL("p%d", "{pod: \"p%d\"}", "{usage: {of: max, above: 50%%}}"), i, i);
        ck_assert_int_eq(policy_load_buffer(&many, "m.yaml", big, n, NULL, &e), 0);
        ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        n = 0;
        for (s = buf; (s = strstr(s, "\"why\"")); s++)
                n++;
        ck_assert_uint_eq(n, EXPLAIN_OTHERS_MAX);
        policy_set_done(&many);
}
END_TEST

START_TEST(test_triggers)
{
        Trigger t = { .type = TRIGGER_PRESSURE_LEVEL,
                      .level = V1_LEVEL_CRITICAL,
                      .increase = 3,
                      .window_usec = 20 * USEC_PER_SEC };
        char b[160];

        explain_trigger(&t, b, sizeof(b));
        ck_assert_str_eq(b, "pressureLevel critical or worse >= 3 times in 20 s (cgroup v1)");
        t = (Trigger){ .type = TRIGGER_MEMORY_EVENTS,
                       .counter = MEMEV_HIGH,
                       .increase = 5,
                       .window_usec = 30 * USEC_PER_SEC };
        explain_trigger(&t, b, sizeof(b));
        ck_assert_str_eq(b, "memoryEvents high grows by >= 5 in 30 s");
        t = (Trigger){ .type = TRIGGER_NODE_PRESSURE,
                       .psi_type = PSI_SOME,
                       .above_bp = 1005,
                       .window_usec = 10 * USEC_PER_SEC };
        explain_trigger(&t, b, sizeof(b));
        ck_assert_str_eq(b, "nodePressure some > 10.05% over 10 s");
        t = (Trigger){ .type = _TRIGGER_TYPE_INVALID };
        explain_trigger(&t, b, sizeof(b));
        ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(test_route)
{
        static char buf[8192];
        CgroupIdentity id = { .path = "/x/a.service", .unit = "a.service", .qos = _QOS_INVALID };

        route = NULL;
        format(&id, CGROUP_KIND_SERVICE, NULL, buf, sizeof(buf));
        ck_assert_ptr_null(strstr(buf, "\"route\""));
        route = "systemd: the unit a\x1b.service";
        format(&id, CGROUP_KIND_SERVICE, NULL, buf, sizeof(buf));
        ck_assert_ptr_nonnull(strstr(buf, "\"route\":\"systemd: the unit a\\u001b.service\""));
        route = NULL;
}
END_TEST

/* What select and target say: by pressure with its window, and children. */
START_TEST(test_select_target)
{
        static const char batch[] =
                "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: batch}\nspec:\n"
                "  match: {cgroup: /batch.slice}\n  target: children\n"
                "  select: {by: pressure, window: 30s}\n"
                "  triggers: {any: [{pressure: {type: full, above: 20%, window: 10s}}]}\n"
                "  actions: [{type: kill}]\n"
                "---\napiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: jobs}\nspec:\n"
                "  match: {cgroup: \"/jobs.slice/*\"}\n"
                "  select: {by: pressure, window: 30s}\n"
                "  triggers: {any: [{pressure: {type: full, above: 20%, window: 10s}}]}\n"
                "  actions: [{type: kill}]\n";
        static PolicyErrors e;
        static char buf[8192];
        PolicySet one = {};
        CgroupIdentity id = { .path = "/batch.slice", .qos = -1 };
        ExplainInput in = { .id = &id, .kind = CGROUP_KIND_SLICE, .set = &one };
        size_t len = 0;

        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(policy_load_buffer(&one, "/p/b.yaml", batch, strlen(batch), NULL, &e), 0);
        ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        ck_assert_msg(strstr(buf, "\"why\":\"target: children: its triggers are this cgroup's") != NULL,
                      "%s", buf);
        /* a child: through its parent's triggers */
        id.path = "/batch.slice/job-1.scope";
        in.kind = CGROUP_KIND_SCOPE;
        ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        ck_assert_msg(strstr(buf, "through its parent's triggers") != NULL, "%s", buf);
        /* a grandchild: not at all */
        id.path = "/batch.slice/job-1.scope/sub";
        ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        ck_assert_msg(strstr(buf, "does not match") != NULL, "%s", buf);
        /* a tenant's names: a path longer than any parent buffer, no slash, the root */
        static char longpath[6000];
        memset(longpath, 'a', sizeof(longpath) - 1);
        memcpy(longpath, "/batch.slice/", 13);
        longpath[5000] = '/';
        const char *odd[] = { longpath, "batch.slice", "/" };
        for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++) {
                id.path = odd[k];
                ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
                buf[len] = '\0';
                ck_assert_msg(strstr(buf, "through its parent's triggers") == NULL, "%s", buf);
        }
        /* select by pressure names its window */
        id.path = "/jobs.slice/a.scope";
        ck_assert_int_eq(explain_format(&in, buf, sizeof(buf), &len), 0);
        buf[len] = '\0';
        ck_assert_msg(strstr(buf, "\"select\":\"pressure over 30s, 1\"") != NULL, "%s", buf);
        policy_set_done(&one);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("explain");
        TCase *tc = tcase_create("format");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_unit);
        tcase_add_test(tc, test_route);
        tcase_add_test(tc, test_pod_not_armed);
        tcase_add_test(tc, test_no_policy);
        tcase_add_test(tc, test_others_bounded);
        tcase_add_test(tc, test_triggers);
        tcase_add_test(tc, test_select_target);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
