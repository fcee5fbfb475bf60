/* SPDX-License-Identifier: MIT */
/* Table tests for the policy loader: good files compile to the right values,
 * broken ones give every error with its line and column. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "test-main.h"

#define HEAD "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: p}\n"

static int load(PolicySet *set, PolicyErrors *e, const char *ns, const char *text)
{
        memset(e, 0, sizeof(*e));
        return policy_load_buffer(set, "t.yaml", text, strlen(text), ns, e);
}

START_TEST(test_good)
{
        static PolicyErrors e;
        PolicySet set = {};
        const char *text = HEAD
                "spec:\n"
                "  match: {unit: \"web-*.service\", qos: burstable}\n"
                "  triggers:\n"
                "    all:\n"
                "      - memoryEvents: {counter: oom_kill, increase: 3, window: 2m}\n"
                "      - pressure: {type: full, above: 12.5%, window: 10s}\n"
                "      - usage: {of: high, above: 90%}\n"
                "      - nodeAvailable: {below: 128Mi}\n"
                "    for: 10s\n"
                "  actions:\n"
                "    - {type: notify, webhook: \"http://127.0.0.1:9/x\"}\n"
                "    - {type: throttle, after: 30s, floor: 256Mi, step: 5%, interval: 15s, dryRun: true}\n"
                "    - {type: exec, after: 1m, command: [/bin/echo, hi]}\n";

        ck_assert_int_eq(load(&set, &e, NULL, text), 0);
        ck_assert_uint_eq(e.n, 0);
        ck_assert_uint_eq(set.n, 1);
        Policy *p = &set.policies[0];
        ck_assert_str_eq(p->name, "p");
        ck_assert_str_eq(p->match.unit, "web-*.service");
        ck_assert_int_eq(p->match.qos, QOS_BURSTABLE);
        ck_assert(p->all);
        ck_assert_uint_eq(p->n_triggers, 4);
        ck_assert_int_eq(p->triggers[0].counter, MEMEV_OOM_KILL);
        ck_assert_uint_eq(p->triggers[0].increase, 3);
        ck_assert_uint_eq(p->triggers[0].window_usec, 120000000);
        ck_assert_uint_eq(p->triggers[0].line, 8);
        ck_assert_int_eq(p->triggers[1].psi_type, PSI_FULL);
        ck_assert_uint_eq(p->triggers[1].above_bp, 1250);
        ck_assert_uint_eq(p->triggers[2].above_bp, 9000);
        ck_assert_uint_eq(p->triggers[3].below_bytes, 128ULL << 20);
        ck_assert_uint_eq(p->for_usec, 10000000);
        ck_assert_uint_eq(p->clear_usec, 10000000); /* default: at least 10 s */
        ck_assert_uint_eq(p->n_actions, 3);
        ck_assert_str_eq(p->actions[0].webhook, "http://127.0.0.1:9/x");
        ck_assert_uint_eq(p->actions[0].cooldown_usec, 300000000);
        ck_assert(p->actions[1].dry_run);
        ck_assert_uint_eq(p->actions[1].floor_bytes, 256ULL << 20);
        ck_assert_uint_eq(p->actions[1].step_bp, 500);
        ck_assert_uint_eq(p->actions[2].argc, 2);
        ck_assert_str_eq(p->actions[2].argv[1], "hi");
        policy_set_done(&set);
}
END_TEST

/* Each broken input and the errors it must give, in order, as "line:col: text". */
START_TEST(test_broken)
{
        static const struct {
                const char *ns;
                const char *text;
                const char *errors[4];
        } t[] = {
                { NULL, "", { NULL } }, /* an empty file: no policy, no error */
                { NULL, "a: [1, 2\n", { "2:1: YAML: did not find expected ','" } },
                { NULL, "- 1\n", { "1:1: a policy document must be a mapping" } },
                { NULL, "kind: Policy\n", { "1:1: a policy needs 'apiVersion" } },
                { NULL,
                  HEAD
                  "spec: {match: {}, triggers: {any: [{usage: {of: high}}]}, actions: [{type: notify}]}\n",
                  { "4:44: usage needs 'above'" } },
                { NULL,
                  HEAD
                  "spec:\n  match: {}\n  triggers: {any: [{memoryEvents: {counter: high, window: 2h}}]}\n"
                  "  actions: [{type: notify}]\n",
                  { "6:59: window: 2h is out of range" } },
                { NULL,
                  HEAD "spec:\n  match: {}\n  match: {}\n  triggers: {for: 1s}\n  actions: []\n",
                  { "6:3: 'match' is given twice in spec", "7:13: triggers need 'any' or 'all'",
                    "8:12: actions need at least one step" } },
                { NULL,
                  HEAD "spec:\n  match: {pod: [a]}\n  triggers: {any: [{nodeAvailable: {below: 0}}]}\n"
                       "  actions: [{type: kill, dryRun: yes}]\n",
                  { "5:16: pod must be a single value", "6:44: below: '0' is not a size",
                    "7:34: dryRun: expected true or false" } },
                /* Confinement: a namespace's file. */
                { "shop",
                  HEAD "spec:\n  match: {namespace: other, unit: x.service}\n"
                       "  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                       "  actions: [{type: restart}, {type: notify, webhook: \"http://x\"}, {type: exec, "
                       "command: [/bin/true]}]\n",
                  { "5:22: namespace 'other': a policy in 'shop/' can only match namespace 'shop'",
                    "5:29: 'unit' is for node-admin policies only",
                    "7:20: action 'restart' is for node-admin",
                    "7:45: webhook: not allowed in a namespace's policy" } },
                { NULL,
                  HEAD "spec:\n  match: {}\n  triggers: {any: [{pressure: {above: 5%}, usage: {of: max, "
                       "above: 1%}}]}\n"
                       "  actions: [{type: notify}]\n",
                  { "6:20: a trigger is one of" } },
                { NULL,
                  HEAD "spec:\n  match: {}\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                       "  actions: [{type: notify, after: 1m}, {type: kill, after: 10s}]\n",
                  { "7:40: the ladder goes up" } },
                { NULL,
                  HEAD "spec:\n  match: {}\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                       "  actions: [{type: exec, command: [echo]}]\n",
                  { "7:35: command: the program must be an absolute path" } },
                { NULL,
                  HEAD "spec:\n  match: {}\n  triggers: {any: [{nodeAvailable: {below: 1Gi}}]}\n"
                       "  actions: [{type: notify}]\n---\n" HEAD "spec: {}\n",
                  { "12:7: spec needs 'match'", "12:7: spec needs 'triggers'",
                    "12:7: spec needs 'actions'" } },
                { NULL,
                  HEAD "spec:\n  match: {}\n  select: {by: fattest, count: 0}\n"
                       "  triggers: {any: [{pressureLevel: {level: severe}}, {pressureLevel: {count: 2}}]}\n"
                       "  actions: [{type: notify}]\n",
                  { "6:16: by: expected each, hungriest, leastImportant or pressure, got 'fattest'",
                    "6:32: count: expected 1 to 64, got '0'",
                    "7:44: level: expected low, medium or critical, got 'severe'",
                    "7:70: pressureLevel needs 'level' (low, medium or critical)" } },
        };
        static PolicyErrors e;

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                PolicySet set = {};
                size_t want = 0;
                int r = load(&set, &e, t[i].ns, t[i].text);

                while (want < 4 && t[i].errors[want])
                        want++;
                ck_assert_int_eq(r, want ? -EINVAL : 0);
                ck_assert_msg(e.n >= want, "case %zu: %zu errors, want at least %zu (first: %s)", i, e.n,
                              want, e.n ? e.msg[0] : "-");
                for (size_t j = 0; j < want; j++) {
                        char expect[320];
                        snprintf(expect, sizeof(expect), "t.yaml:%s", t[i].errors[j]);
                        ck_assert_msg(strncmp(e.msg[j], expect, strlen(expect)) == 0,
                                      "case %zu error %zu: got '%s', want '%s...'", i, j, e.msg[j], expect);
                }
                ck_assert_uint_eq(set.n, 0); /* a file with any error gives no policy */
                policy_set_done(&set);
        }
}
END_TEST

START_TEST(test_namespace_default_and_duplicates)
{
        static PolicyErrors e;
        PolicySet set = {};
        const char *text = HEAD
                "spec:\n  match: {pod: \"etl-*\"}\n  triggers: {any: [{usage: {of: max, above: 90%}}]}\n"
                "  actions: [{type: notify}]\n";

        ck_assert_int_eq(load(&set, &e, "batch", text), 0);
        ck_assert_str_eq(set.policies[0].match.namespace, "batch");
        ck_assert_str_eq(set.policies[0].scope_namespace, "batch");
        /* The same name in another namespace is another policy... */
        ck_assert_int_eq(load(&set, &e, "shop", text), 0);
        /* ...in the same one it is an error, and the old set is unchanged. */
        ck_assert_int_eq(load(&set, &e, "batch", text), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg[0], "policy 'p' is already defined at t.yaml:1"));
        ck_assert_uint_eq(set.n, 2);
        policy_set_done(&set);
}
END_TEST

START_TEST(test_examples)
{
        static PolicyErrors e;
        PolicySet set = {};

        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(policy_load_dir(&set, MW_SOURCE_ROOT "/policies", &e), 0);
        ck_assert_msg(e.n == 0, "%s", e.msg[0]);
        ck_assert_uint_ge(set.n, 4);
        bool ns = false;
        for (size_t i = 0; i < set.n; i++)
                ns = ns || (set.policies[i].scope_namespace &&
                            strcmp(set.policies[i].scope_namespace, "batch") == 0);
        ck_assert(ns);
        policy_set_done(&set);
}
END_TEST

static void add_kind(PolicySet *set, const char *ns, const char *name, const char *match, bool node)
{
        static PolicyErrors e;
        char text[1024];

        snprintf(text, sizeof(text),
                 "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: %s}\nspec:\n  match: %s\n"
                 "  triggers: {any: [%s]}\n  actions: [{type: notify}]\n",
                 name, match,
                 node ? "{nodeAvailable: {below: 128Mi}}" : "{memoryEvents: {counter: oom_kill}}");
        ck_assert_msg(load(set, &e, ns, text) == 0, "%s", e.msg[0]);
}

static void add(PolicySet *set, const char *ns, const char *name, const char *match)
{
        add_kind(set, ns, name, match, false);
}

/* Node policies (node triggers only) bind beside cgroup policies, not instead. */
START_TEST(test_node_policies)
{
        static PolicyErrors e;
        PolicySet set = {};
        const char *node =
                "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: hard}\nspec:\n"
                "  match: {cgroup: \"/kubepods*\"}\n  select: {by: leastImportant}\n"
                "  triggers: {any: [{nodeAvailable: {below: 128Mi}}]}\n  actions: [{type: kill}]\n";

        add(&set, "shop", "shop-web", "{pod: \"web-*\"}");
        add(&set, NULL, "tree", "{cgroup: \"/kubepods*\"}"); /* as specific as the node policy, other kind */
        memset(&e, 0, sizeof(e));
        ck_assert_msg(load(&set, &e, NULL, node) == 0, "%s", e.msg[0]);
        ck_assert(policy_is_node(&set.policies[2]) && !policy_is_node(&set.policies[1]));
        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(policy_set_check_ambiguity(&set, &e), 0);

        CgroupIdentity shop = { .path = "/kubepods/burstable/podz",
                                .namespace = "shop",
                                .pod = "web-7d9f",
                                .qos = QOS_BURSTABLE };
        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &shop)].name, "tree");
        ck_assert_str_eq(set.policies[policy_set_lookup_kind(&set, &shop, true)].name, "hard");
        CgroupIdentity other = { .path = "/system.slice", .qos = _QOS_INVALID };
        ck_assert_int_eq(policy_set_lookup_kind(&set, &other, true), -ENOENT);
        policy_set_done(&set);
}
END_TEST

START_TEST(test_match_precedence)
{
        PolicySet set = {};
        char why[256];

        add(&set, NULL, "all", "{}");
        add(&set, NULL, "besteffort", "{qos: besteffort}");
        add(&set, NULL, "kube-system", "{namespace: kube-system}");
        add(&set, NULL, "web", "{unit: \"web-*.service\"}");
        add(&set, "shop", "shop-web", "{pod: \"web-*\"}");
        add(&set, NULL, "tree", "{cgroup: \"/kubepods.slice/*\"}");

        CgroupIdentity svc = { .path = "/system.slice/web-1.service",
                               .unit = "web-1.service",
                               .qos = _QOS_INVALID };
        CgroupIdentity other = { .path = "/system.slice/db.service",
                                 .unit = "db.service",
                                 .qos = _QOS_INVALID };
        CgroupIdentity ks = { .path = "/kubepods/besteffort/podx",
                              .namespace = "kube-system",
                              .pod = "coredns",
                              .qos = QOS_BESTEFFORT };
        CgroupIdentity be = { .path = "/kubepods/besteffort/pody",
                              .namespace = "batch",
                              .pod = "etl-0",
                              .qos = QOS_BESTEFFORT };
        CgroupIdentity shop = { .path = "/kubepods/burstable/podz",
                                .namespace = "shop",
                                .pod = "web-7d9f",
                                .qos = QOS_BURSTABLE };
        CgroupIdentity shop_sd = { .path = "/kubepods.slice/kubepods-burstable.slice/x",
                                   .namespace = "shop",
                                   .pod = "web-7d9f",
                                   .qos = QOS_BURSTABLE };

        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &svc)].name, "web");
        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &other)].name, "all");
        /* namespace beats qos */
        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &ks)].name, "kube-system");
        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &be)].name, "besteffort");
        /* the node admin's `match: {}` outranks the namespace's own, more specific, policy */
        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &shop)].name, "all");
        /* a cgroup glob beats everything */
        ck_assert_str_eq(set.policies[policy_set_lookup(&set, &shop_sd)].name, "tree");

        ck_assert(!policy_match(&set.policies[4], &be, why, sizeof(why)));
        ck_assert_str_eq(why, "namespace 'batch' does not match 'shop'");
        ck_assert(!policy_match(&set.policies[1], &svc, why, sizeof(why)));
        ck_assert_str_eq(why, "qos (not a pod) is not besteffort");
        ck_assert(!policy_match(&set.policies[3], &be, why, sizeof(why)));
        ck_assert_str_eq(why, "unit: none here (wants 'web-*.service')");

        static PolicyErrors e;
        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(policy_set_check_ambiguity(&set, &e), 0);
        policy_set_done(&set);
}
END_TEST

START_TEST(test_ambiguity)
{
        static const struct {
                const char *a, *b;
                bool ambiguous;
        } t[] = {
                { "{unit: \"web-*.service\"}", "{unit: \"db-*.service\"}", false },
                { "{unit: \"web-*.service\"}", "{unit: \"*.service\"}", true },
                { "{unit: \"web-*.service\"}", "{unit: \"web-*.scope\"}", false },
                { "{unit: \"a.service\"}", "{unit: \"a.service\"}", true },
                { "{namespace: a, qos: burstable}", "{namespace: a, qos: besteffort}", false },
                { "{namespace: a, qos: burstable}", "{namespace: b, qos: burstable}", false },
                { "{pod: \"web-*\", namespace: a}", "{pod: \"web-1\", namespace: a}", true },
                { "{cgroup: \"/\"}", "{cgroup: \"/*demo*\"}",
                  false }, /* a plain value against a glob: exact */
                { "{cgroup: \"/a/demo\"}", "{cgroup: \"/*demo*\"}", true },
                { "{}", "{}", true },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                static PolicyErrors e;
                PolicySet set = {};
                add(&set, NULL, "first", t[i].a);
                add(&set, NULL, "second", t[i].b);
                memset(&e, 0, sizeof(e));
                ck_assert_msg((policy_set_check_ambiguity(&set, &e) < 0) == t[i].ambiguous, "case %zu", i);
                if (t[i].ambiguous)
                        ck_assert_ptr_nonnull(
                                strstr(e.msg[0], "t.yaml:1:1: policy 'second' is as specific as 'first'"));
                policy_set_done(&set);
        }
}
END_TEST

/* The node admin's word is final: within a kind, an admin policy that
 * matches wins over any namespace policy, and the two never clash. */
START_TEST(test_admin_final)
{
        static const struct {
                const char *ns_match;
                bool ns_node;
                const char *admin_match;
                bool admin_node;
                const char *cgroup_policy, *node_policy; /* expected for shop's pod; NULL: none */
        } t[] = {
                /* a tenant's catch-all cgroup policy: the admin's node policy binds beside it */
                { "{}", false, "{qos: burstable}", true, "ns", "admin" },
                /* a tenant's catch-all node policy cannot opt its pods out of the admin's */
                { "{}", true, "{qos: burstable}", true, NULL, "admin" },
                { "{pod: \"web-*\"}", true, "{}", true, NULL, "admin" },
                { "{pod: \"web-*\"}", false, "{qos: burstable}", false, "admin", NULL },
                /* the admin's node policy does not match: the namespace's applies */
                { "{}", true, "{qos: besteffort}", true, NULL, "ns" },
                { "{}", false, "{namespace: batch}", false, "ns", NULL },
                /* same fields (namespace implied): an admin/namespace tie is no error */
                { "{}", false, "{namespace: shop}", false, "admin", NULL },
        };
        CgroupIdentity shop = { .path = "/kubepods/burstable/podz",
                                .namespace = "shop",
                                .pod = "web-7d9f",
                                .qos = QOS_BURSTABLE };

        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                static PolicyErrors e;
                PolicySet set = {};
                add_kind(&set, "shop", "ns", t[i].ns_match, t[i].ns_node);
                add_kind(&set, NULL, "admin", t[i].admin_match, t[i].admin_node);
                memset(&e, 0, sizeof(e));
                ck_assert_msg(policy_set_check_ambiguity(&set, &e) == 0, "case %zu: %s", i, e.msg[0]);
                int c = policy_set_lookup_kind(&set, &shop, false),
                    n = policy_set_lookup_kind(&set, &shop, true);
                ck_assert_msg(t[i].cgroup_policy
                                      ? c >= 0 && strcmp(set.policies[c].name, t[i].cgroup_policy) == 0
                                      : c == -ENOENT,
                              "case %zu: cgroup policy %d", i, c);
                ck_assert_msg(t[i].node_policy
                                      ? n >= 0 && strcmp(set.policies[n].name, t[i].node_policy) == 0
                                      : n == -ENOENT,
                              "case %zu: node policy %d", i, n);
                policy_set_done(&set);
        }

        /* Two namespace policies that tie are still an error, at the second one. */
        static PolicyErrors e;
        PolicySet set = {};
        add_kind(&set, "shop", "first", "{pod: \"web-*\"}", true);
        add_kind(&set, "shop", "second", "{pod: \"web-1\"}", true);
        memset(&e, 0, sizeof(e));
        ck_assert_int_eq(policy_set_check_ambiguity(&set, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg[0], "t.yaml:1:1: policy 'second' is as specific as 'first'"));
        policy_set_done(&set);
}
END_TEST

/* A namespace's policy matches its own namespace's pods only: not another
 * namespace's, not a cgroup outside any pod, even with an empty match. */
START_TEST(test_namespace_confined)
{
        PolicySet set = {};
        char why[256];
        CgroupIdentity own = {
                .path = "/kubepods/podz", .namespace = "shop", .pod = "web", .qos = QOS_BURSTABLE
        };
        CgroupIdentity other = {
                .path = "/kubepods/pody", .namespace = "bank", .pod = "web", .qos = QOS_BURSTABLE
        };
        CgroupIdentity host = { .path = "/system.slice/sshd.service",
                                .unit = "sshd.service",
                                .qos = _QOS_INVALID };

        add(&set, "shop", "all", "{}");
        ck_assert(policy_match(&set.policies[0], &own, NULL, 0));
        ck_assert(!policy_match(&set.policies[0], &other, why, sizeof(why)));
        ck_assert_str_eq(why, "namespace 'bank' does not match 'shop'");
        ck_assert(!policy_match(&set.policies[0], &host, why, sizeof(why)));
        ck_assert_str_eq(why, "namespace: none here (wants 'shop')");

        /* Even a policy with no namespace in its match (not made by the compiler). */
        Policy p = { .name = (char *)"raw", .scope_namespace = (char *)"shop", .match.qos = _QOS_INVALID };
        ck_assert(policy_match(&p, &own, NULL, 0));
        ck_assert(!policy_match(&p, &other, NULL, 0));
        ck_assert(!policy_match(&p, &host, NULL, 0));
        p.match.pod = (char *)"*";
        ck_assert(!policy_match(&p, &other, NULL, 0));
        policy_set_done(&set);
}
END_TEST

/* Bounds, checked before libyaml builds a document: every input is refused at
 * the first node out of bounds, with its line and column, and quickly (1 MiB
 * of distinct keys took 50 s with a quadratic repeated-key check; libyaml's
 * scanner is quadratic in nesting). */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
        size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
        char *b = malloc(hl + ul * n + tl + 1), *q = b;

        ck_assert_ptr_nonnull(b);
        memcpy(q, head, hl), q += hl;
        for (size_t i = 0; i < n; i++, q += ul)
                memcpy(q, unit, ul);
        memcpy(q, tail, tl + 1);
        return b;
}

static bool has_error(const PolicyErrors *e, const char *what)
{
        for (size_t i = 0; i < e->n; i++)
                if (strstr(e->msg[i], what))
                        return true;
        return false;
}

START_TEST(test_bounds)
{
        static PolicyErrors e;
        PolicySet set = {};
        char *text;

        /* 500k levels of flow nesting: refused at the 33rd. */
        text = repeat("", "[", 500000, "");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_uint_eq(e.n, 1);
        ck_assert_str_eq(e.msg[0], "t.yaml:1:33: nested more than 32 deep");
        free(text);
        /* Block nesting counts the same. */
        text = malloc(40 * 40 * 2);
        ck_assert_ptr_nonnull(text);
        text[0] = '\0';
        for (int i = 0; i < 40; i++)
                snprintf(text + strlen(text), 40 * 40 * 2 - strlen(text), "%*sk:\n", i, "");
        ck_assert_int_eq(load(&set, &e, "ns", text), -EINVAL);
        ck_assert_str_eq(e.msg[0], "t.yaml:33:33: nested more than 32 deep");
        free(text);
        /* Exactly 32 is fine as far as bounds go. */
        text = repeat("", "[", 32, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg[0], "a policy document must be a mapping"));
        free(text);

        /* About 1 MiB of distinct keys in one mapping (block and flow). */
        text = repeat("", "key-with-a-long-name-0123456789: value\n", 27000, "");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_uint_eq(e.n, 1);
        ck_assert_str_eq(e.msg[0], "t.yaml:65:1: more than 64 keys in one mapping");
        free(text);
        text = repeat("{", "a: b, ", 170000, "}");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_str_eq(e.msg[0], "t.yaml:1:386: more than 64 keys in one mapping");
        free(text);

        /* Lists, nodes, documents. */
        text = repeat("[", "x, ", 200000, "x]");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_str_eq(e.msg[0], "t.yaml:1:386: more than 128 items in one list");
        free(text);
        char *inner = repeat("[", "a, ", 99, "a], ");
        text = repeat("[", inner, 50, "[]]"); /* 50 lists of 100: 5051 nodes */
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.msg[0], "more than 4096 YAML nodes in one document"));
        free(inner);
        free(text);
        text = repeat("", "--- {}\n", 100000, "");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert_ptr_nonnull(
                strstr(e.msg[0], "t.yaml:257:1: more than 256 documents (policies) in one file"));
        free(text);
        ck_assert_uint_eq(set.n, 0);
}
END_TEST

/* Repeated keys among many: found by sorting, reported at the repetition, in
 * the order of the file; the others go on to their own errors. */
START_TEST(test_repeated_keys)
{
        static PolicyErrors e;
        PolicySet set = {};
        char text[4096] = HEAD "spec:\n  match: {";

        for (int i = 40; i >= 1; i--)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "k%d: v, ", i);
        strcat(text, "k7: again}\n  triggers: {any: [{memoryEvents: {counter: high}}]}\n"
                     "  actions: [{type: notify, after: 1s, cooldown: 1s, after: 2s}]\n");
        ck_assert_int_eq(load(&set, &e, NULL, text), -EINVAL);
        ck_assert(has_error(&e, "'k7' is given twice in match"));
        ck_assert(has_error(&e, "7:53: 'after' is given twice in an action"));
        ck_assert(has_error(&e, "unknown key 'k40' in match"));
        ck_assert(!has_error(&e, "'k6' is given twice"));
        ck_assert_uint_eq(set.n, 0);
}
END_TEST

/* The content hash: what the policy does, not where or how it is written. */
START_TEST(test_content_hash)
{
        static const char *const same[] = {
                "metadata: {name: p}\nspec:\n  match: {pod: a, qos: burstable}\n"
                "  triggers: {any: [{memoryEvents: {counter: high, window: 10s}}]}\n"
                "  actions: [{type: exec, command: [/bin/x, a]}]\n",
                "\n\nmetadata: {name: p, description: moved and reordered}\nspec:\n"
                "  actions: [{command: [/bin/x, a], type: exec}]\n  match: {qos: burstable, pod: a}\n"
                "  triggers: {any: [{memoryEvents: {window: 10000ms, counter: high, increase: 1}}]}\n",
        };
        static const char *const other[] = {
                "metadata: {name: p}\nspec:\n  match: {pod: a, qos: burstable}\n"
                "  triggers: {any: [{memoryEvents: {counter: high, window: 11s}}]}\n"
                "  actions: [{type: exec, command: [/bin/x, a]}]\n",
                "metadata: {name: p}\nspec:\n  match: {pod: a, qos: burstable}\n"
                "  triggers: {any: [{memoryEvents: {counter: high, window: 10s}}]}\n"
                "  actions: [{type: exec, command: [/bin/x, b]}]\n",
                "metadata: {name: p}\nspec:\n  match: {pod: a}\n"
                "  triggers: {any: [{memoryEvents: {counter: high, window: 10s}}]}\n"
                "  actions: [{type: exec, command: [/bin/x, a]}]\n",
                "metadata: {name: p}\nspec:\n  match: {pod: a, qos: burstable}\n"
                "  triggers: {all: [{memoryEvents: {counter: high, window: 10s}}]}\n"
                "  actions: [{type: exec, command: [/bin/x, a], dryRun: true}]\n",
        };
        static PolicyErrors e;
        char text[1024];
        uint64_t h = 0;

        for (size_t i = 0; i < 2 + sizeof(other) / sizeof(other[0]); i++) {
                PolicySet set = {};
                snprintf(text, sizeof(text), "apiVersion: memwarden/v1\nkind: Policy\n%s",
                         i < 2 ? same[i] : other[i - 2]);
                ck_assert_msg(load(&set, &e, NULL, text) == 0, "%zu: %s", i, e.msg[0]);
                ck_assert_uint_eq(set.policies[0].hash, policy_content_hash(&set.policies[0]));
                if (i == 0)
                        h = set.policies[0].hash;
                else
                        ck_assert_msg((set.policies[0].hash == h) == (i < 2), "case %zu", i);
                policy_set_done(&set);
        }
}
END_TEST

/* overrideKubelet: on throttle steps only; a namespace may say it for its own. */
START_TEST(test_override_kubelet)
{
        static PolicyErrors e;
        PolicySet set = {};

        ck_assert_int_eq(load(&set, &e, "shop",
                              HEAD
                              "spec:\n  match: {}\n  triggers: {any: [{memoryEvents: {counter: high}}]}\n"
                              "  actions: [{type: throttle, floor: 64Mi, overrideKubelet: true}]\n"),
                         0);
        ck_assert(set.policies[0].actions[0].override_kubelet);
        policy_set_done(&set);
        ck_assert_int_lt(load(&set, &e, NULL,
                              HEAD
                              "spec:\n  match: {}\n  triggers: {any: [{memoryEvents: {counter: high}}]}\n"
                              "  actions: [{type: kill, overrideKubelet: true}]\n"),
                         0);
        ck_assert(has_error(&e, "unknown key 'overrideKubelet' in a kill action"));
        policy_set_done(&set);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("loader");
        tcase_add_test(tc, test_good);
        tcase_add_test(tc, test_broken);
        tcase_add_test(tc, test_namespace_default_and_duplicates);
        tcase_add_test(tc, test_examples);
        tcase_add_test(tc, test_match_precedence);
        tcase_add_test(tc, test_node_policies);
        tcase_add_test(tc, test_ambiguity);
        tcase_add_test(tc, test_admin_final);
        tcase_add_test(tc, test_namespace_confined);
        tcase_add_test(tc, test_bounds);
        tcase_add_test(tc, test_repeated_keys);
        tcase_add_test(tc, test_content_hash);
        tcase_add_test(tc, test_override_kubelet);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
