/* SPDX-License-Identifier: MIT */
/* The policy directory on temp dirs: each source on its own (a broken file
 * keeps its source's last good set, the others load), the admin's word at a
 * tie, confinement of a namespace's policies, the bounds (a source over one,
 * or with a tie, takes nothing on a first load), each source's share of a
 * load, and the symlink rules (kubelet's ..data scheme only). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "policy-dir.h"
#include "test-main.h"

static char root[256];

static void put(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...)
{
        char path[512];
        va_list ap;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fclose(f);
}

static void mkd(const char *rel)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void lnk(const char *target, const char *rel)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        (void)unlink(path);
        ck_assert_int_eq(symlink(target, path), 0);
}

/* A cgroup policy (a memoryEvents trigger) named name with the given match. */
#define POL(name, match)                                                                                    \
        "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: " name "}\nspec:\n  match: " match        \
        "\n  triggers: {any: [{memoryEvents: {counter: oom_kill}}]}\n  actions: [{type: notify}]\n"

static void setup(void)
{
        snprintf(root, sizeof(root), "/tmp/mw-policy-dir-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        ck_assert_int_eq(system(cmd), 0);
}

typedef struct Load {
        PolicySet set;
        PolicyErrors e;
        PolicyDirStats st;
        int r;
} Load;

static void load(PolicyDir *d, Load *l)
{
        policy_set_done(&l->set);
        memset(&l->e, 0, sizeof(l->e));
        l->r = policy_dir_load(d, &l->set, &l->e, &l->st);
}

static const Policy *find(const PolicySet *set, const char *ns, const char *name)
{
        for (size_t i = 0; i < set->n; i++) {
                const Policy *p = &set->policies[i];
                if (strcmp(p->name, name) == 0 &&
                    ((!ns && !p->scope_namespace) ||
                     (ns && p->scope_namespace && !strcmp(ns, p->scope_namespace))))
                        return p;
        }
        return NULL;
}

static bool has_error(const PolicyErrors *e, const char *needle)
{
        for (size_t i = 0; i < e->n; i++)
                if (strstr(e->msg[i], needle))
                        return true;
        return false;
}

/* The defaults without their wall-time bounds: a test on a loaded machine or
 * under valgrind must not trip them. The time bounds are tested on a fake
 * clock (test_budget_time and the shares' tests). */
static PolicyDirBudget test_budget(void)
{
        PolicyDirBudget b = POLICY_DIR_BUDGET_DEFAULT;

        b.usec_max = b.ns_usec_max = b.admin_usec_max = 0;
        return b;
}

static PolicyDir *dir_new(void)
{
        PolicyDir *d = NULL;
        PolicyDirBudget b = test_budget();

        ck_assert_int_eq(policy_dir_new(root, &d), 0);
        policy_dir_set_budget(d, &b);
        return d;
}

START_TEST(test_sources_load)
{
        static Load l;
        PolicyDir *d = dir_new();

        mkd("shop");
        mkd("batch");
        put("zz-admin.yaml", POL("web", "{unit: \"web-*.service\"}"));
        put("shop/a.yaml", POL("web", "{pod: \"web-*\"}"));
        put("batch/a.yml", POL("etl", "{}"));
        put("batch/README", "not yaml: ignored\n");
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(l.e.n, 0);
        ck_assert_uint_eq(l.set.n, 3);
        ck_assert_uint_eq(l.st.n_sources, 3);
        /* The admin's first, whatever the names sort to. */
        ck_assert_ptr_null(l.set.policies[0].scope_namespace);
        ck_assert_str_eq(l.set.policies[1].scope_namespace, "batch");
        ck_assert_str_eq(l.set.policies[2].scope_namespace, "shop");
        ck_assert_str_eq(find(&l.set, "shop", "web")->match.namespace, "shop");
        ck_assert_str_eq(find(&l.set, "batch", "etl")->match.namespace, "batch"); /* implied */
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_broken_namespace_keeps_last_good)
{
        static Load l;
        PolicyDir *d = dir_new();
        const PolicySource *s;

        mkd("shop");
        mkd("batch");
        put("admin.yaml", POL("base", "{unit: \"web-*.service\"}"));
        put("shop/a.yaml", POL("one", "{pod: \"web-*\"}"));
        put("batch/a.yaml", POL("etl", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);

        /* shop breaks; batch is edited; the admin adds a policy: all but shop's edit load. */
        put("shop/a.yaml", POL("two", "{pod: \"web-*\"}") "  bogus: 1\n");
        put("batch/a.yaml", POL("etl2", "{}"));
        put("admin2.yaml", POL("db", "{unit: \"db-*.service\"}"));
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(l.st.n_failed, 1);
        ck_assert(has_error(&l.e, "/shop/a.yaml:8:3: unknown key 'bogus'"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "one")); /* the last good */
        ck_assert_ptr_null(find(&l.set, "shop", "two"));
        ck_assert_ptr_nonnull(find(&l.set, "batch", "etl2"));
        ck_assert_ptr_null(find(&l.set, "batch", "etl"));
        ck_assert_ptr_nonnull(find(&l.set, NULL, "db"));
        ck_assert_uint_eq(l.set.n, 4);
        for (size_t i = 0; i < policy_dir_n_sources(d); i++) {
                s = policy_dir_source(d, i);
                ck_assert_int_eq(s->failed, s->namespace && strcmp(s->namespace, "shop") == 0);
        }

        /* Still broken at the next reload: still the last good (not nothing). */
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_ptr_nonnull(find(&l.set, "shop", "one"));

        /* Fixed: the new one. */
        put("shop/a.yaml", POL("two", "{pod: \"web-*\"}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_ptr_nonnull(find(&l.set, "shop", "two"));
        ck_assert_ptr_null(find(&l.set, "shop", "one"));

        /* A namespace directory removed: its policies go, without an error. */
        ck_assert_int_eq(unlink(strcat(strcpy((char[512]){ 0 }, root), "/shop/a.yaml")), 0);
        ck_assert_int_eq(rmdir(strcat(strcpy((char[512]){ 0 }, root), "/shop")), 0);
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_ptr_null(find(&l.set, "shop", "two"));
        ck_assert_uint_eq(l.set.n, 3);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_broken_admin_keeps_last_good)
{
        static Load l;
        PolicyDir *d = dir_new();

        mkd("shop");
        put("a.yaml", POL("base", "{unit: \"*.service\"}"));
        put("shop/a.yaml", POL("one", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);

        put("a.yaml", "apiVersion: memwarden/v1\nkind: [\n");
        put("shop/a.yaml", POL("two", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/a.yaml:"));
        ck_assert_ptr_nonnull(find(&l.set, NULL, "base"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "two"));
        ck_assert_uint_eq(l.set.n, 2);
        ck_assert(policy_dir_source(d, 0)->failed);
        ck_assert_ptr_null(policy_dir_source(d, 0)->namespace);
        ck_assert_uint_ge(policy_dir_source(d, 0)->n_errors, 1);
        ck_assert_ptr_nonnull(strstr(policy_dir_source(d, 0)->first_error, "/a.yaml:"));
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* At the first load there is no last good set: the valid files are used, as
 * memwardend always did at start. */
START_TEST(test_first_load_uses_valid_files)
{
        static Load l;
        PolicyDir *d = dir_new();

        mkd("shop");
        put("shop/a.yaml", POL("good", "{pod: \"a-*\"}"));
        put("shop/b.yaml", "kind: Policy\n");
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(l.set.n, 1);
        ck_assert_ptr_nonnull(find(&l.set, "shop", "good"));
        ck_assert(has_error(&l.e, "/shop/b.yaml:1:1:"));
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_tie_admin_wins)
{
        static Load l;
        PolicyDir *d = dir_new();
        CgroupIdentity id = {
                .path = "/kubepods.slice/x", .namespace = "shop", .pod = "web-1", .qos = _QOS_INVALID
        };
        int k;

        mkd("shop");
        /* "a-..." sorts before "shop", "zz-..." after: neither order may make the admin lose.
         * As specific as the namespace's own policies: the admin's rank first, no tie. */
        put("a-admin.yaml", POL("shop-web", "{namespace: shop, pod: \"web-*\"}"));
        put("zz-admin.yaml", POL("shop-all", "{namespace: shop}"));
        put("shop/mine.yaml", POL("mine", "{pod: \"web-*\"}"));
        put("shop/other.yaml", POL("all", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        for (size_t i = 0; i < l.e.n; i++)
                ck_assert_ptr_null(strstr(l.e.msg[i], "-admin.yaml"));
        k = policy_set_lookup(&l.set, &id);
        ck_assert_int_ge(k, 0);
        ck_assert_str_eq(l.set.policies[k].name, "shop-web");

        /* A broken namespace file keeps its last good set, still below the admin's. */
        put("shop/other.yaml", "broken: [\n");
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/shop/other.yaml:"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "all")); /* kept from the last good load */
        k = policy_set_lookup(&l.set, &id);
        ck_assert_str_eq(l.set.policies[k].name, "shop-web");
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* A namespace's policies reach only that namespace's pods. */
START_TEST(test_confinement)
{
        static Load l;
        PolicyDir *d = dir_new();
        const CgroupIdentity own = { .path = "/kubepods.slice/p/c",
                                     .namespace = "shop",
                                     .pod = "web-1",
                                     .qos = QOS_BURSTABLE },
                             other = { .path = "/kubepods.slice/q/c",
                                       .namespace = "bank",
                                       .pod = "web-1",
                                       .qos = QOS_BURSTABLE },
                             host = { .path = "/system.slice/sshd.service",
                                      .unit = "sshd.service",
                                      .qos = _QOS_INVALID },
                             qos_slice = { .path = "/kubepods.slice/kubepods-burstable.slice",
                                           .unit = "kubepods-burstable.slice",
                                           .qos = _QOS_INVALID };

        mkd("shop");
        put("shop/ok.yaml", POL("any-pod", "{pod: \"*\"}"));
        put("shop/other-ns.yaml", POL("x", "{namespace: bank}"));
        put("shop/glob-ns.yaml", POL("g", "{namespace: \"*\"}"));
        put("shop/cgroup.yaml", POL("y", "{cgroup: \"/*\"}"));
        put("shop/unit.yaml", POL("z", "{unit: \"*.service\"}"));
        put("shop/protected.yaml",
            "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: w}\nspec:\n  match: {}\n"
            "  triggers: {any: [{memoryEvents: {counter: oom_kill}}]}\n"
            "  actions: [{type: kill, allowProtected: true}, {type: notify, webhook: \"http://x/\"},\n"
            "            {type: exec, command: [/bin/true]}, {type: restart}, {type: stop}]\n");
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "other-ns.yaml:5:22: namespace 'bank'"));
        ck_assert(has_error(&l.e, "glob-ns.yaml:5:22: namespace '*': a policy in 'shop/' can only match"));
        ck_assert(has_error(&l.e, "cgroup.yaml:5:11: 'cgroup' is for node-admin policies only"));
        ck_assert(has_error(&l.e, "unit.yaml:5:11: 'unit' is for node-admin policies only"));
        ck_assert(has_error(&l.e, "protected.yaml:7:26: allowProtected: for node-admin policies only"));
        ck_assert(has_error(&l.e, "protected.yaml:7:64: webhook: not allowed"));
        ck_assert(has_error(&l.e, "protected.yaml:8:20: action 'exec' is for node-admin policies only"));
        ck_assert(has_error(&l.e, "action 'restart' is for node-admin policies only"));
        ck_assert(has_error(&l.e, "action 'stop' is for node-admin policies only"));
        ck_assert_uint_eq(l.set.n, 1);
        const Policy *p = find(&l.set, "shop", "any-pod");
        ck_assert_ptr_nonnull(p);
        ck_assert_str_eq(p->match.namespace, "shop");
        ck_assert_ptr_null(p->match.cgroup);
        ck_assert_ptr_null(p->match.unit);
        ck_assert(policy_match(p, &own, NULL, 0));
        ck_assert(!policy_match(p, &other, NULL, 0));
        ck_assert(!policy_match(p, &host, NULL, 0));
        ck_assert(!policy_match(p, &qos_slice, NULL, 0));
        ck_assert_int_eq(policy_set_lookup(&l.set, &host), -ENOENT);
        ck_assert_int_eq(policy_set_lookup(&l.set, &other), -ENOENT);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_bounds)
{
        static Load l;
        PolicyDir *d = dir_new();
        char name[512], *big;
        FILE *f;

        mkd("many");
        for (int i = 0; i <= POLICY_DIR_FILES_MAX; i++) {
                snprintf(name, sizeof(name), "many/f%02d.yaml", i);
                put(name, "%s", "");
        }
        mkd("fat");
        snprintf(name, sizeof(name), "%s/fat/big.yaml", root);
        f = fopen(name, "w");
        big = calloc(1, POLICY_DIR_FILE_MAX + 2);
        memset(big, '#', POLICY_DIR_FILE_MAX + 1);
        fputs(big, f);
        fclose(f);
        free(big);
        mkd("crowd");
        f = fopen(strcat(strcpy((char[512]){ 0 }, root), "/crowd/p.yaml"), "w");
        for (int i = 0; i <= POLICY_DIR_POLICIES_MAX; i++)
                fprintf(f, "---\n" POL("p%d", "{pod: \"p%d\"}"), i, i);
        fclose(f);
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/many:0:0: more than 32 policy files: 'f32.yaml'"));
        ck_assert(has_error(&l.e, "/fat/big.yaml:0:0: larger than 256 KiB"));
        ck_assert(has_error(&l.e, "/crowd:0:0: 33 policies: a namespace may have at most 32"));
        ck_assert_uint_eq(l.st.n_failed, 3);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_namespaces_bound)
{
        static Load l;
        PolicyDir *d = dir_new();
        char name[64];

        for (int i = 0; i <= POLICY_DIR_NAMESPACES_MAX; i++) {
                snprintf(name, sizeof(name), "ns%04d", i);
                mkd(name);
        }
        put("ns0512/a.yaml", POL("late", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(l.st.n_ns_ignored, 1);
        ck_assert_uint_eq(l.st.n_sources, 1 + POLICY_DIR_NAMESPACES_MAX);
        ck_assert(has_error(&l.e, "more than 512 namespaces: 'ns0512' and later ones are not loaded"));
        ck_assert_uint_eq(l.set.n, 0);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_symlinks)
{
        static Load l;
        PolicyDir *d = dir_new();
        char outside[512], fifo[512];

        /* kubelet's scheme: NAME -> ..data/NAME, ..data -> ..TIMESTAMP. */
        mkd("shop");
        mkd("shop/..2026_12_01_10_00_00.1");
        put("shop/..2026_12_01_10_00_00.1/a.yaml", POL("one", "{}"));
        lnk("..2026_12_01_10_00_00.1", "shop/..data");
        lnk("..data/a.yaml", "shop/a.yaml");
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_ptr_nonnull(find(&l.set, "shop", "one"));

        /* The swap: a new timestamped directory, ..data renamed over. */
        mkd("shop/..2026_12_01_11_00_00.2");
        put("shop/..2026_12_01_11_00_00.2/a.yaml", POL("two", "{}"));
        lnk("..2026_12_01_11_00_00.2", "shop/..data");
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_ptr_nonnull(find(&l.set, "shop", "two"));

        /* A file outside the policy directory, through a link: not followed. */
        snprintf(outside, sizeof(outside), "%s-outside.yaml", root);
        FILE *f = fopen(outside, "w");
        fputs(POL("evil", "{}"), f);
        fclose(f);
        mkd("bank");
        lnk(outside, "bank/a.yaml");
        /* ..data pointing out of the directory: not followed either. */
        mkd("pay");
        lnk("../bank", "pay/..data");
        lnk("..data/a.yaml", "pay/a.yaml");
        /* A namespace directory that is a symlink. */
        lnk("bank", "link-ns");
        /* A FIFO must not block the load. */
        snprintf(fifo, sizeof(fifo), "%s/shop/fifo.yaml", root);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        load(d, &l);
        unlink(outside);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/bank/a.yaml:0:0: a symlink that is not kubelet's '..data/NAME'"));
        ck_assert(has_error(&l.e, "/pay/a.yaml:0:0: '..data' is missing or not kubelet's"));
        ck_assert(has_error(&l.e,
                            "/link-ns:0:0: a symlink that is not kubelet's '..data/link-ns': not followed"));
        ck_assert(has_error(&l.e, "/shop/fifo.yaml:0:0: not a regular file"));
        ck_assert_ptr_null(find(&l.set, "bank", "evil"));
        ck_assert_ptr_null(find(&l.set, "pay", "evil"));
        ck_assert_ptr_null(find(&l.set, "link-ns", "evil"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "two")); /* shop's last good */
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_missing_dir)
{
        static Load l;
        PolicyDir *d = NULL;
        char path[512];

        snprintf(path, sizeof(path), "%s/none", root);
        ck_assert_int_eq(policy_dir_new(path, &d), 0);
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert(l.st.missing);
        ck_assert_uint_eq(l.set.n, 0);
        policy_dir_free(d);

        /* Loaded, then deleted (rm -rf, or a directory being replaced): kept. */
        d = dir_new();
        mkd("ns");
        put("a.yaml", POL("admin", "{}"));
        put("ns/b.yaml", POL("mine", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(l.set.n, 2);
        policy_set_done(&l.set);
        snprintf(path, sizeof(path), "rm -rf '%s'", root);
        ck_assert_int_eq(system(path), 0);
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(l.st.missing);
        ck_assert_uint_eq(l.set.n, 2);
        ck_assert(has_error(&l.e, "the policy directory is gone"));
        policy_set_done(&l.set);
        ck_assert_int_eq(mkdir(root, 0755), 0);
        load(d, &l); /* back, empty: no policies */
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(l.set.n, 0);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_copy)
{
        static PolicyErrors e;
        PolicySet set = {};
        Policy c;
        const char *text = "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n"
                           "  match: {unit: \"a.service\", pod: x, container: y, cgroup: /a}\n"
                           "  triggers: {any: [{memoryEvents: {counter: oom_kill}}]}\n"
                           "  actions: [{type: notify, webhook: \"http://h/\"}, "
                           "{type: exec, command: [/bin/echo, a, b]}]\n";

        ck_assert_int_eq(policy_load_buffer(&set, "t.yaml", text, strlen(text), NULL, &e), 0);
        ck_assert_int_eq(policy_copy(&set.policies[0], &c), 0);
        policy_set_done(&set);
        ck_assert_str_eq(c.name, "p");
        ck_assert_str_eq(c.match.cgroup, "/a");
        ck_assert_str_eq(c.actions[0].webhook, "http://h/");
        ck_assert_uint_eq(c.actions[1].argc, 3);
        ck_assert_str_eq(c.actions[1].argv[2], "b");
        set = (PolicySet){ .policies = malloc(sizeof(Policy)), .n = 1 };
        set.policies[0] = c;
        policy_set_done(&set);
        ck_assert(policy_dir_valid_namespace("kube-system"));
        ck_assert(!policy_dir_valid_namespace("-a"));
        ck_assert(!policy_dir_valid_namespace("A"));
        ck_assert(!policy_dir_valid_namespace("a_b"));
        ck_assert(!policy_dir_valid_namespace(""));
}
END_TEST

/* ---- the budget of a whole load ---- */

typedef struct FakeClock {
        uint64_t now, step;
} FakeClock;

/* Every look at the clock moves it on by step: the load's checks are what
 * make its time pass, so the test does not depend on the machine's speed. */
static uint64_t fake_now(void *userdata)
{
        FakeClock *c = userdata;

        return c->now += c->step;
}

/* The admin's two files and three namespaces of one file each; a first
 * load (unbounded) in force. */
static void budget_tree(PolicyDir *d, Load *l)
{
        mkd("a");
        mkd("b");
        mkd("c");
        put("1.yaml", POL("one", "{unit: \"one.service\"}"));
        put("2.yaml", POL("two", "{unit: \"two.service\"}"));
        put("a/x.yaml", POL("ax", "{pod: \"x\"}"));
        put("b/x.yaml", POL("bx", "{pod: \"x\"}"));
        put("c/x.yaml", POL("cx", "{pod: \"x\"}"));
        policy_dir_set_budget(d, &(PolicyDirBudget){});
        load(d, l);
        ck_assert_int_eq(l->r, 0);
        ck_assert_uint_eq(l->set.n, 5);
        ck_assert_uint_eq(policy_dir_n_sources(d), 4);
}

/* After an abandoned load: the one error, and a set to swap in. */
static void assert_abandoned(Load *l, int r, const char *why)
{
        ck_assert_int_eq(l->r, r);
        ck_assert_uint_eq(l->e.n, 1);
        ck_assert_uint_eq(l->e.dropped, 0);
        ck_assert_ptr_nonnull(strstr(l->e.msg[0], ":0:0: reload abandoned after "));
        ck_assert_msg(strstr(l->e.msg[0], why), "%s", l->e.msg[0]);
        ck_assert_uint_eq(l->st.n_errors, 1);
}

START_TEST(test_budget_time)
{
        static Load l;
        PolicyDir *d = dir_new();
        FakeClock clock = { .step = USEC_PER_SEC };

        budget_tree(d, &l);
        policy_set_done(&l.set);
        put("1.yaml", POL("one2", "{unit: \"one.service\"}"));
        put("a/x.yaml", POL("ax2", "{pod: \"x\"}"));
        put("b/x.yaml", "not: [valid"); /* not reached: its error is not reported */
        /* The clock is read at the start, then before 1.yaml (1 s on), 2.yaml
         * (2 s), namespace a (3 s), a/x.yaml (4 s): abandoned there. */
        policy_dir_set_budget(d, &(PolicyDirBudget){ .usec_max = 4 * USEC_PER_SEC,
                                                     .now_usec = fake_now,
                                                     .userdata = &clock });
        load(d, &l);
        assert_abandoned(&l, -ETIME,
                         "(the bound is 4000 ms), at 'a/x.yaml': 'a' and the namespaces after it keep the "
                         "policies they had in force");
        ck_assert_uint_eq(l.st.usec, 5 * USEC_PER_SEC); /* and once more at the end */
        ck_assert_ptr_nonnull(strstr(l.e.msg[0], "after 5.000 s / "));
        /* The admin's new files are in force: a namespace cannot hold them back. */
        ck_assert_uint_eq(l.set.n, 5);
        ck_assert_ptr_nonnull(find(&l.set, NULL, "one2"));
        ck_assert_ptr_nonnull(find(&l.set, "a", "ax"));
        ck_assert_ptr_null(find(&l.set, "a", "ax2"));
        ck_assert_ptr_nonnull(find(&l.set, "b", "bx"));
        ck_assert_ptr_nonnull(find(&l.set, "c", "cx"));
        ck_assert_uint_eq(policy_dir_n_sources(d), 4);
        ck_assert_str_eq(policy_dir_source(d, 1)->namespace, "a");
        ck_assert(!policy_dir_source(d, 1)->failed);
        policy_set_done(&l.set);

        /* A load that keeps within the bound is not abandoned: 8 s at the last check. */
        clock.now = 0;
        policy_dir_set_budget(d, &(PolicyDirBudget){ .usec_max = 9 * USEC_PER_SEC,
                                                     .now_usec = fake_now,
                                                     .userdata = &clock });
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL); /* b/x.yaml */
        ck_assert_ptr_nonnull(find(&l.set, "a", "ax2"));
        ck_assert_ptr_nonnull(find(&l.set, "b", "bx")); /* its last good set */
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

static uint64_t file_size(const char *rel)
{
        char path[512];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        ck_assert_int_eq(stat(path, &st), 0);
        return (uint64_t)st.st_size;
}

START_TEST(test_budget_bytes)
{
        static Load l;
        PolicyDir *d = dir_new();
        const char *files[] = { "1.yaml", "2.yaml", "b/x.yaml", "c/x.yaml" };
        uint64_t total = 0;
        char msg[128];

        budget_tree(d, &l);
        total = file_size("a/x.yaml");
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                total += file_size(files[i]);
        ck_assert_uint_eq(l.st.n_bytes, total);
        policy_set_done(&l.set);
        /* Namespace a is gone (before the stop: dropped); b and c change. */
        ck_assert_int_eq(system(strcat(strcat(strcpy((char[600]){ 0 }, "rm -r "), root), "/a")), 0);
        put("b/x.yaml", POL("bx2", "{pod: \"x\"}"));
        put("c/x.yaml", POL("cx2", "{pod: \"x\"}"));
        total = 0;
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                total += file_size(files[i]);

        /* One byte short: c/x.yaml, the last, is not read whole. */
        policy_dir_set_budget(d, &(PolicyDirBudget){ .bytes_max = total - 1 });
        load(d, &l);
        snprintf(msg, sizeof(msg), "(the bound is %" PRIu64 " bytes), at 'c/x.yaml': 'c' and", total - 1);
        assert_abandoned(&l, -E2BIG, msg);
        snprintf(msg, sizeof(msg), " s / %" PRIu64 " bytes (", total);
        ck_assert_msg(strstr(l.e.msg[0], msg), "%s", l.e.msg[0]); /* read: the bound and one more byte */
        ck_assert_uint_eq(l.st.n_bytes, total);
        ck_assert_uint_eq(l.set.n, 4);
        ck_assert_ptr_null(find(&l.set, "a", "ax"));
        ck_assert_ptr_nonnull(find(&l.set, "b", "bx2"));
        ck_assert_ptr_nonnull(find(&l.set, "c", "cx"));
        ck_assert_uint_eq(policy_dir_n_sources(d), 3);
        ck_assert_str_eq(policy_dir_source(d, 2)->namespace, "c");
        policy_set_done(&l.set);

        /* Exactly the bound: loaded, every byte counted. */
        policy_dir_set_budget(d, &(PolicyDirBudget){ .bytes_max = total });
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(l.st.n_bytes, total);
        ck_assert_ptr_nonnull(find(&l.set, "c", "cx2"));
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

START_TEST(test_budget_cancel)
{
        static Load l;
        PolicyDir *d = dir_new();
        atomic_bool cancel = true;

        budget_tree(d, &l);
        policy_set_done(&l.set);
        put("a/x.yaml", POL("ax2", "{pod: \"x\"}"));
        policy_dir_set_budget(d, &(PolicyDirBudget){ .cancel = &cancel });
        load(d, &l);
        assert_abandoned(&l, -ECANCELED,
                         "(cancelled), at '1.yaml': every source keeps the policies it had in force");
        ck_assert_uint_eq(l.st.n_bytes, 0);
        ck_assert_uint_eq(l.set.n, 5);
        ck_assert_ptr_nonnull(find(&l.set, "a", "ax"));
        ck_assert_uint_eq(policy_dir_n_sources(d), 4);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* A file of n policies, pods p0 .. p(n-1) (names prefixed). */
static void put_policies(const char *rel, const char *prefix, int n)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < n; i++)
                fprintf(f, "---\n" POL("%s%d", "{pod: \"%s%d\"}"), prefix, i, prefix, i);
        fclose(f);
}

static size_t n_of(const PolicySet *set, const char *ns)
{
        size_t n = 0;

        for (size_t i = 0; i < set->n; i++)
                n += ns && set->policies[i].scope_namespace && !strcmp(set->policies[i].scope_namespace, ns);
        return n;
}

/* Over the policy count with no last good set: nothing, at every load
 * (the oversized set never becomes the last good one); with one, that. */
START_TEST(test_count_bound_first_load)
{
        static Load l;
        PolicyDir *d = dir_new();

        mkd("crowd");
        mkd("shop");
        put("admin.yaml", POL("base", "{unit: \"web-*.service\"}"));
        put("shop/a.yaml", POL("one", "{}"));
        put_policies("crowd/p.yaml", "p", 40);
        put("crowd/q.yaml", "broken: [\n"); /* a file's error too: still nothing */
        for (int k = 0; k < 2; k++) {
                load(d, &l);
                ck_assert_int_eq(l.r, -EINVAL);
                ck_assert(has_error(&l.e, "/crowd:0:0: 40 policies: a namespace may have at most 32"));
                ck_assert_uint_eq(n_of(&l.set, "crowd"), 0);
                ck_assert_uint_eq(l.set.n, 2);
                ck_assert_uint_eq(l.st.n_failed, 1);
        }
        put("crowd/q.yaml", "%s", "");
        put_policies("crowd/p.yaml", "p", 32); /* at the bound: loads */
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(n_of(&l.set, "crowd"), 32);
        put_policies("crowd/p.yaml", "n", 33);
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(n_of(&l.set, "crowd"), 32); /* the last good */
        ck_assert_ptr_nonnull(find(&l.set, "crowd", "p31"));
        ck_assert_ptr_null(find(&l.set, "crowd", "n0"));
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* The file-count bound is the source's too: its first 32 files are not taken. */
START_TEST(test_files_bound_first_load)
{
        static Load l;
        PolicyDir *d = dir_new();
        char name[64], pol[64];

        mkd("many");
        for (int i = 0; i <= POLICY_DIR_FILES_MAX; i++) {
                snprintf(name, sizeof(name), "many/f%02d.yaml", i);
                snprintf(pol, sizeof(pol), "f%d", i);
                put_policies(name, pol, i < 1 ? 1 : 0);
        }
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/many:0:0: more than 32 policy files: 'f32.yaml'"));
        ck_assert_uint_eq(l.set.n, 0);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* Two policies of a source that tie: nothing of it with no last good set
 * (the admin's as a namespace's), its last good set with one. */
START_TEST(test_tie_first_load)
{
        static Load l;
        PolicyDir *d = dir_new();

        mkd("shop");
        put("a.yaml", POL("a1", "{unit: \"web-*.service\"}"));
        put("b.yaml", POL("a2", "{unit: \"web-*.service\"}"));
        put("shop/a.yaml", POL("s1", "{pod: \"web-*\"}"));
        put("shop/b.yaml", POL("s2", "{pod: \"web-*\"}"));
        put("shop/c.yaml", POL("s3", "{pod: \"db-*\"}"));
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(l.st.n_failed, 2);
        ck_assert_uint_eq(l.set.n, 0);
        load(d, &l);
        ck_assert_uint_eq(l.set.n, 0);

        put("b.yaml", POL("a2", "{unit: \"db-*.service\"}"));
        put("shop/b.yaml", POL("s2", "{pod: \"api-*\"}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(l.set.n, 5);
        put("b.yaml", POL("a3", "{unit: \"web-*.service\"}"));
        put("shop/b.yaml", POL("s4", "{pod: \"web-*\"}"));
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(l.set.n, 5);
        ck_assert_ptr_nonnull(find(&l.set, NULL, "a2"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "s2"));
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

static void put_max_files(const char *ns, int from, int n)
{
        char *big = malloc(POLICY_DIR_FILE_MAX + 1);
        char name[64];

        ck_assert_ptr_nonnull(big);
        memset(big, '#', POLICY_DIR_FILE_MAX);
        big[POLICY_DIR_FILE_MAX] = '\0';
        for (int i = from; i < from + n; i++) {
                snprintf(name, sizeof(name), "%s/f%02d.yaml", ns, i);
                put(name, "%s", big);
        }
        free(big);
}

/* The defaults: namespaces named to be read first, with the largest files
 * the other bounds allow (32 x 256 KiB each, what once used up the whole
 * load's bytes), cost only themselves: each stops at its share, as its own
 * error, and the admin's and a later namespace's edits load. */
START_TEST(test_share_bytes_defaults)
{
        static Load l;
        PolicyDir *d = dir_new();

        mkd("aaa");
        mkd("bbb");
        mkd("zzz");
        put("admin.yaml", POL("base", "{unit: \"web-*.service\"}"));
        put("aaa/a.yaml", POL("good", "{}"));
        put("zzz/a.yaml", POL("z1", "{}"));
        load(d, &l);
        ck_assert_int_eq(l.r, 0);

        put_max_files("aaa", 0, POLICY_DIR_FILES_MAX - 1); /* 31 files before a.yaml: within the count */
        put_max_files("bbb", 0, POLICY_DIR_FILES_MAX);
        put("zzz/a.yaml", POL("z2", "{}"));
        put("admin.yaml", POL("base2", "{unit: \"web-*.service\"}"));
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/aaa:0:0: past a namespace's share of a load ("));
        ck_assert(has_error(&l.e, "/bbb:0:0: past a namespace's share of a load ("));
        ck_assert_uint_eq(l.st.n_failed, 2);
        ck_assert_uint_le(l.st.n_bytes, 2 * (POLICY_DIR_NS_BYTES_MAX + POLICY_DIR_FILE_MAX) + 4096);
        ck_assert_ptr_nonnull(find(&l.set, "aaa", "good")); /* its last good set */
        ck_assert_uint_eq(n_of(&l.set, "bbb"), 0);          /* a first load: nothing */
        ck_assert_ptr_nonnull(find(&l.set, "zzz", "z2"));
        ck_assert_ptr_nonnull(find(&l.set, NULL, "base2"));
        ck_assert_uint_eq(l.set.n, 3);
        for (size_t i = 0; i < policy_dir_n_sources(d); i++) {
                const PolicySource *s = policy_dir_source(d, i);
                ck_assert_int_eq(s->failed, s->namespace && strcmp(s->namespace, "zzz") != 0);
        }
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* Bytes, on a small share: the file that crosses it is not taken, nor the
 * ones after it, and nothing before it is (a first load). */
START_TEST(test_share_bytes)
{
        static Load l;
        PolicyDir *d = dir_new();
        char msg[160];
        uint64_t one;

        mkd("a");
        mkd("b");
        put("a/x1.yaml", POL("x1", "{pod: \"x1\"}"));
        put("a/x2.yaml", POL("x2", "{pod: \"x2\"}"));
        put("a/x3.yaml", POL("x3", "{pod: \"x3\"}"));
        put("b/x.yaml", POL("bx", "{pod: \"x\"}"));
        one = file_size("a/x1.yaml");
        policy_dir_set_budget(d, &(PolicyDirBudget){ .ns_bytes_max = 2 * one - 1 });
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        snprintf(msg, sizeof(msg),
                 "/a:0:0: past a namespace's share of a load (%" PRIu64
                 " bytes): 'x2.yaml' and the files after it are not read",
                 2 * one - 1);
        ck_assert_msg(has_error(&l.e, msg), "%s", l.e.n ? l.e.msg[0] : "");
        ck_assert_uint_eq(l.e.n, 1);
        ck_assert_uint_eq(l.set.n, 1);
        ck_assert_ptr_nonnull(find(&l.set, "b", "bx"));
        ck_assert_uint_eq(l.st.n_bytes, 2 * one + file_size("b/x.yaml"));

        /* Exactly at the share: loaded. */
        policy_dir_set_budget(d, &(PolicyDirBudget){ .ns_bytes_max = 3 * one });
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(l.set.n, 4);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* Time, on the fake clock: a namespace past its share is its own error and
 * keeps its last good set; the next namespace starts a share of its own. */
START_TEST(test_share_time)
{
        static Load l;
        PolicyDir *d = dir_new();
        FakeClock clock = { .step = USEC_PER_SEC };
        const PolicyDirBudget b = { .ns_usec_max = 2 * USEC_PER_SEC,
                                    .now_usec = fake_now,
                                    .userdata = &clock };

        mkd("a");
        mkd("b");
        put("1.yaml", POL("one", "{unit: \"one.service\"}"));
        put("a/x1.yaml", POL("x1", "{pod: \"x1\"}"));
        put("a/x2.yaml", POL("x2", "{pod: \"x2\"}"));
        put("a/x3.yaml", POL("x3", "{pod: \"x3\"}"));
        put("b/x1.yaml", POL("b1", "{pod: \"x1\"}"));
        /* The clock: start 1 s, 1.yaml 2 s, namespace a 3 s (its share
         * starts), a/x1.yaml 4 s, a/x2.yaml 5 s: past it. b: 6 s, 7 s. */
        policy_dir_set_budget(d, &b);
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/a:0:0: past a namespace's share of a load (2000 ms): 'x2.yaml' and the "
                                  "files after it are not read"));
        ck_assert_uint_eq(l.e.n, 1);
        ck_assert_uint_eq(n_of(&l.set, "a"), 0);
        ck_assert_uint_eq(n_of(&l.set, "b"), 1);
        ck_assert_ptr_nonnull(find(&l.set, NULL, "one"));

        policy_dir_set_budget(d, &(PolicyDirBudget){});
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_uint_eq(n_of(&l.set, "a"), 3);
        put("a/x1.yaml", POL("x1new", "{pod: \"x1\"}"));
        clock.now = 0;
        policy_dir_set_budget(d, &b);
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert_uint_eq(n_of(&l.set, "a"), 3);
        ck_assert_ptr_nonnull(find(&l.set, "a", "x1"));
        ck_assert_ptr_null(find(&l.set, "a", "x1new"));
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* The whole load's byte bound still bounds the work: namespaces that stay
 * within their shares but together pass it hold back the ones after them. */
START_TEST(test_budget_total_with_shares)
{
        static Load l;
        PolicyDir *d = dir_new();
        PolicyDirBudget b = test_budget();

        mkd("n0");
        mkd("n1");
        mkd("n2");
        put_max_files("n0", 0, 4);
        put_max_files("n1", 0, 4);
        put_max_files("n2", 0, 4);
        b.bytes_max = 8 * POLICY_DIR_FILE_MAX + 100;
        policy_dir_set_budget(d, &b);
        load(d, &l);
        ck_assert_int_eq(l.r, -E2BIG);
        ck_assert_uint_eq(l.st.n_bytes, 8 * POLICY_DIR_FILE_MAX + 101);
        ck_assert_ptr_nonnull(strstr(l.e.msg[0], "at 'n2/f00.yaml': 'n2' and the namespaces after it keep"));
        ck_assert_uint_eq(policy_dir_n_sources(d), 3); /* the admin's, n0, n1: n2 had nothing */
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

/* kubelet's projected volume, as the DaemonSet mounts the admin's ConfigMap
 * and each namespace's into one directory: "..data -> ..TIMESTAMP" at the
 * top, the admin's "NAME.yaml -> ..data/NAME.yaml", a namespace's
 * "NS -> ..data/NS" (a directory inside the timestamped one). */
START_TEST(test_projected)
{
        static Load l;
        PolicyDir *d = dir_new();
        char outside[512], path[600];

        mkd("..2026_12_01_10_00_00.1");
        mkd("..2026_12_01_10_00_00.1/shop");
        put("..2026_12_01_10_00_00.1/node.yaml", POL("node", "{}"));
        put("..2026_12_01_10_00_00.1/shop/policy.yaml", POL("one", "{}"));
        lnk("..2026_12_01_10_00_00.1", "..data");
        lnk("..data/node.yaml", "node.yaml");
        lnk("..data/shop", "shop");
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_ptr_nonnull(find(&l.set, NULL, "node"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "one"));
        ck_assert_str_eq(find(&l.set, "shop", "one")->scope_namespace, "shop");

        /* The swap: a new timestamped directory, ..data replaced. */
        mkd("..2026_12_01_11_00_00.2");
        mkd("..2026_12_01_11_00_00.2/shop");
        put("..2026_12_01_11_00_00.2/node.yaml", POL("node", "{}"));
        put("..2026_12_01_11_00_00.2/shop/policy.yaml", POL("two", "{}"));
        lnk("..2026_12_01_11_00_00.2", "..data");
        load(d, &l);
        ck_assert_int_eq(l.r, 0);
        ck_assert_ptr_nonnull(find(&l.set, "shop", "two"));
        ck_assert_ptr_null(find(&l.set, "shop", "one"));

        /* Hostile links: a namespace that names another's directory, one that
         * leaves the volume, a directory inside ..data that is a link out, a
         * file inside a namespace's directory that is a link out. */
        snprintf(outside, sizeof(outside), "%s-outside", root);
        ck_assert_int_eq(mkdir(outside, 0755), 0);
        snprintf(path, sizeof(path), "%s/policy.yaml", outside);
        FILE *f = fopen(path, "w");
        fputs(POL("evil", "{}"), f);
        fclose(f);
        lnk("..data/shop", "bank");
        lnk("..data/../../x", "pay");
        lnk(outside, "..2026_12_01_11_00_00.2/dev");
        lnk("..data/dev", "dev");
        lnk(path, "..2026_12_01_11_00_00.2/shop/more.yaml");
        load(d, &l);
        ck_assert_int_eq(l.r, -EINVAL);
        ck_assert(has_error(&l.e, "/bank:0:0: a symlink that is not kubelet's '..data/bank'"));
        ck_assert(has_error(&l.e, "/pay:0:0: a symlink that is not kubelet's '..data/pay'"));
        ck_assert(has_error(&l.e, "/dev:0:0: a symlink that is not kubelet's '..data/dev'"));
        ck_assert(has_error(&l.e, "/shop/more.yaml:0:0: a symlink that is not kubelet's '..data/NAME'"));
        ck_assert_ptr_null(find(&l.set, "bank", "two"));
        ck_assert_ptr_null(find(&l.set, "dev", "evil"));
        ck_assert_ptr_null(find(&l.set, "shop", "evil"));
        ck_assert_ptr_nonnull(find(&l.set, "shop", "two")); /* shop's last good */
        ck_assert_ptr_nonnull(find(&l.set, NULL, "node"));
        unlink(path);
        rmdir(outside);
        policy_set_done(&l.set);
        policy_dir_free(d);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("policy-dir");
        TCase *tc = tcase_create("load");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_sources_load);
        tcase_add_test(tc, test_broken_namespace_keeps_last_good);
        tcase_add_test(tc, test_broken_admin_keeps_last_good);
        tcase_add_test(tc, test_first_load_uses_valid_files);
        tcase_add_test(tc, test_tie_admin_wins);
        tcase_add_test(tc, test_confinement);
        tcase_add_test(tc, test_bounds);
        tcase_add_test(tc, test_namespaces_bound);
        tcase_add_test(tc, test_symlinks);
        tcase_add_test(tc, test_projected);
        tcase_add_test(tc, test_missing_dir);
        tcase_add_test(tc, test_copy);
        tcase_add_test(tc, test_budget_time);
        tcase_add_test(tc, test_budget_bytes);
        tcase_add_test(tc, test_budget_cancel);
        tcase_add_test(tc, test_count_bound_first_load);
        tcase_add_test(tc, test_files_bound_first_load);
        tcase_add_test(tc, test_tie_first_load);
        tcase_add_test(tc, test_share_bytes_defaults);
        tcase_add_test(tc, test_share_bytes);
        tcase_add_test(tc, test_share_time);
        tcase_add_test(tc, test_budget_total_with_shares);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
