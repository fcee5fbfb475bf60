/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "test-main.h"

/* Walk a path's components the way the watcher does, returning the leaf's kind. */
static CgroupKind kind_of_in(const char *kubepods_root, const char *path)
{
        CgroupKind k = CGROUP_KIND_ROOT;
        const char *end;

        ck_assert_int_eq(path[0], '/');
        for (const char *c = path + 1; *c; c = end + (*end == '/')) {
                end = strchrnul(c, '/');
                k = cgroup_kind_from_name(k,
                                          cgroup_is_kubepods_root(kubepods_root, path, (size_t)(end - path)),
                                          c, (size_t)(end - c));
        }
        return k;
}

static CgroupKind kind_of(const char *path)
{
        return kind_of_in(NULL, path);
}

#define POD_SD "kubepods-burstable-pod0a1b2c3d_1111_2222_3333_444455556666.slice"
#define POD_FS "pod0a1b2c3d-1111-2222-3333-444455556666"

START_TEST(test_kinds)
{
        static const struct {
                const char *path;
                CgroupKind kind;
        } t[] = {
                { "/system.slice", CGROUP_KIND_SLICE },
                { "/system.slice/nginx.service", CGROUP_KIND_SERVICE },
                { "/user.slice/user-1000.slice/session-2.scope", CGROUP_KIND_SCOPE },
                { "/init.scope", CGROUP_KIND_SCOPE },
                { "/kubepods.slice", CGROUP_KIND_KUBEPODS },
                { "/kubepods.slice/kubepods-burstable.slice", CGROUP_KIND_KUBEPODS },
                { "/kubepods.slice/kubepods-besteffort.slice", CGROUP_KIND_KUBEPODS },
                { "/kubepods.slice/kubepods-burstable.slice/" POD_SD, CGROUP_KIND_POD },
                { "/kubepods.slice/kubepods-pod0a1b2c3d_1111_2222_3333_444455556666.slice",
                  CGROUP_KIND_POD },
                { "/kubepods.slice/kubepods-burstable.slice/" POD_SD
                  "/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope",
                  CGROUP_KIND_CONTAINER },
                /* CRI-O with the systemd driver: crio-<id>.scope; its conmon is no container. */
                { "/kubepods.slice/kubepods-burstable.slice/" POD_SD "/crio-0123456789abcdef.scope",
                  CGROUP_KIND_CONTAINER },
                { "/kubepods.slice/kubepods-burstable.slice/" POD_SD "/crio-conmon-0123456789abcdef.scope",
                  CGROUP_KIND_OTHER },
                { "/kubepods", CGROUP_KIND_KUBEPODS },
                { "/kubepods/burstable", CGROUP_KIND_KUBEPODS },
                { "/kubepods/besteffort/" POD_FS, CGROUP_KIND_POD },
                { "/kubepods/" POD_FS, CGROUP_KIND_POD },
                { "/kubepods/burstable/" POD_FS "/0123456789abcdef", CGROUP_KIND_CONTAINER },
                { "/kubepods/burstable/" POD_FS "/crio-conmon-0123456789abcdef", CGROUP_KIND_OTHER },
                { "/kubepods/burstable/" POD_FS "/abc", CGROUP_KIND_CONTAINER },
                /* Below a container is the tenant's: nothing there is a container. */
                { "/kubepods/burstable/" POD_FS "/abc/container", CGROUP_KIND_OTHER },
                { "/kubepods/burstable/" POD_FS "/0123456789abcdef/fedcba9876543210", CGROUP_KIND_OTHER },
                { "/kubepods.slice/kubepods-burstable.slice/" POD_SD
                  "/cri-containerd-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"
                  "/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope",
                  CGROUP_KIND_OTHER },
                { "/kubepods.slice/kubepods-burstable.slice/" POD_SD "/cri-containerd-0123456789abcdef.scope"
                  "/kubepods-burstable-pod0a1b2c3d_1111_2222_3333_444455556666.slice",
                  CGROUP_KIND_OTHER },
                { "/kubepods/burstable/" POD_FS "/abc/x/0123456789abcdef", CGROUP_KIND_OTHER },
                { "/mygroup", CGROUP_KIND_OTHER },
                { "/notkubepods/pod123", CGROUP_KIND_OTHER },
                { "/a\nb.slice", CGROUP_KIND_SLICE },
                /* Hostile layouts: the names without the place are nothing. */
                { "/user.slice/user-1000.slice/kubepods", CGROUP_KIND_OTHER },
                { "/user.slice/user-1000.slice/kubepods/burstable", CGROUP_KIND_OTHER },
                { "/user.slice/user-1000.slice/kubepods/burstable/" POD_FS, CGROUP_KIND_OTHER },
                { "/user.slice/user-1000.slice/kubepods/burstable/" POD_FS "/0123456789abcdef",
                  CGROUP_KIND_OTHER },
                { "/system.slice/x.scope/kubepods.slice", CGROUP_KIND_SLICE },
                { "/system.slice/x.scope/kubepods.slice/kubepods-burstable.slice", CGROUP_KIND_SLICE },
                { "/system.slice/x.scope/kubepods.slice/kubepods-burstable.slice/" POD_SD,
                  CGROUP_KIND_SLICE },
                { "/kubepods/kubepods", CGROUP_KIND_OTHER },
                { "/kubepods/kubepods/burstable/" POD_FS, CGROUP_KIND_OTHER },
                { "/x/kubepods/" POD_FS, CGROUP_KIND_OTHER },
                { "/kubepods.slice/kubepods.slice", CGROUP_KIND_SLICE },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                ck_assert_msg(kind_of(t[i].path) == t[i].kind, "%s: got %s, want %s", t[i].path,
                              cgroup_kind_to_string(kind_of(t[i].path)), cgroup_kind_to_string(t[i].kind));
}
END_TEST

START_TEST(test_kubepods_root)
{
        static const struct {
                const char *root, *path;
                CgroupKind kind;
        } t[] = {
                /* kubelet --cgroup-root=/custom: exactly that path, and not the defaults. */
                { "/custom/kubepods", "/custom/kubepods", CGROUP_KIND_KUBEPODS },
                { "/custom/kubepods", "/custom/kubepods/burstable/" POD_FS "/0123456789abcdef",
                  CGROUP_KIND_CONTAINER },
                { "/custom/kubepods/", "/custom/kubepods/" POD_FS, CGROUP_KIND_POD },
                { "/custom/kubepods", "/kubepods/burstable/" POD_FS, CGROUP_KIND_OTHER },
                { "/custom/kubepods", "/kubepods.slice", CGROUP_KIND_SLICE },
                { "/custom/kubepods", "/other/kubepods/" POD_FS, CGROUP_KIND_OTHER },
                { "/custom/kubepods", "/custom/kubepodsx/" POD_FS, CGROUP_KIND_OTHER },
                { "/k8s.slice", "/k8s.slice/kubepods-besteffort.slice", CGROUP_KIND_KUBEPODS },
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                CgroupKind k = kind_of_in(t[i].root, t[i].path);
                ck_assert_msg(k == t[i].kind, "%s in %s: got %s, want %s", t[i].path, t[i].root,
                              cgroup_kind_to_string(k), cgroup_kind_to_string(t[i].kind));
        }
        ck_assert(cgroup_is_kubepods_root(NULL, "/kubepods", 9));
        ck_assert(cgroup_is_kubepods_root(NULL, "/kubepods.slice", 15));
        ck_assert(!cgroup_is_kubepods_root(NULL, "/kubepods.slice", 14));
        ck_assert(!cgroup_is_kubepods_root(NULL, "/a/kubepods", 11));
        ck_assert(!cgroup_is_kubepods_root(NULL, "", 0));
        ck_assert(cgroup_is_kubepods_root("/x/", "/x", 2));
        ck_assert(!cgroup_is_kubepods_root("/x", "/kubepods", 9));
}
END_TEST

START_TEST(test_ids)
{
        char id[80];

        ck_assert_int_eq(
                pod_uid_from_name("kubepods-burstable-pod0a1b2c3d_1111_2222_3333_444455556666.slice", id,
                                  sizeof(id)),
                0);
        ck_assert_str_eq(id, "0a1b2c3d-1111-2222-3333-444455556666");
        ck_assert_int_eq(pod_uid_from_name("pod0a1b2c3d-1111-2222-3333-444455556666", id, sizeof(id)), 0);
        ck_assert_str_eq(id, "0a1b2c3d-1111-2222-3333-444455556666");
        ck_assert_int_eq(pod_uid_from_name("pod0a1b2c3d-1111-2222-3333-44445555666", id, sizeof(id)),
                         -EINVAL);
        ck_assert_int_eq(pod_uid_from_name("pod0a1b2c3d-1111-2222-3333-44445555666g", id, sizeof(id)),
                         -EINVAL);
        ck_assert_int_eq(pod_uid_from_name("nopodhere", id, sizeof(id)), -EINVAL);
        /* Static pods: kubelet's hash of the manifest. */
        ck_assert_int_eq(pod_uid_from_name("kubepods-burstable-pod0a1b2c3d11112222333344445555666f.slice",
                                           id, sizeof(id)),
                         0);
        ck_assert_str_eq(id, "0a1b2c3d11112222333344445555666f");
        ck_assert_int_eq(pod_uid_from_name("pod0a1b2c3d11112222333344445555666", id, sizeof(id)), -EINVAL);
        ck_assert_int_eq(pod_uid_from_name("pod0a1b2c3d-1112222333344445555666f", id, sizeof(id)), -EINVAL);
        ck_assert_int_eq(pod_uid_from_name("pod0a1b2c3d-1111-2222-3333-444455556666", id, 10), -EINVAL);

        ck_assert_int_eq(container_id_from_name("cri-containerd-0123456789abcdef.scope", id, sizeof(id)), 0);
        ck_assert_str_eq(id, "0123456789abcdef");
        ck_assert_int_eq(container_id_from_name("crio-0123456789abcdef", id, sizeof(id)), 0);
        ck_assert_str_eq(id, "0123456789abcdef");
        ck_assert_int_eq(container_id_from_name("crio-0123456789abcdef.scope", id, sizeof(id)), 0);
        ck_assert_str_eq(id, "0123456789abcdef");
        ck_assert_int_eq(container_id_from_name("docker-0123456789ab.scope", id, sizeof(id)), 0);
        ck_assert_int_eq(container_id_from_name("0123456789abcdef", id, sizeof(id)), 0);
        ck_assert_int_eq(container_id_from_name("short", id, sizeof(id)), -EINVAL);
        ck_assert_int_eq(container_id_from_name("cri-containerd-XYZ0123456789abcdef.scope", id, sizeof(id)),
                         -EINVAL);
}
END_TEST

START_TEST(test_pod_log_lookup)
{
        char dir[] = "/tmp/mw-pods-XXXXXX", p[256], ns[POD_NAMESPACE_MAX], pod[POD_NAME_MAX];
        static const char *const entries[] = {
                "default_web-7d9f_0a1b2c3d-1111-2222-3333-444455556666",
                "kube-system_coredns-abc_99999999-1111-2222-3333-444455556666",
                "garbage",
                "_nons_11111111-1111-2222-3333-444455556666",
                "ns_22222222-1111-2222-3333-444455556666",
        };
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, entries[i]);
                ck_assert_int_eq(mkdir(p, 0755), 0);
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pod_log_lookup(fd, "0a1b2c3d-1111-2222-3333-444455556666", ns, pod), 0);
        ck_assert_str_eq(ns, "default");
        ck_assert_str_eq(pod, "web-7d9f");
        ck_assert_int_eq(pod_log_lookup(fd, "99999999-1111-2222-3333-444455556666", ns, pod), 0);
        ck_assert_str_eq(ns, "kube-system");
        ck_assert_str_eq(pod, "coredns-abc");
        ck_assert_int_eq(pod_log_lookup(fd, "11111111-1111-2222-3333-444455556666", ns, pod), -ENOENT);
        ck_assert_int_eq(pod_log_lookup(fd, "22222222-1111-2222-3333-444455556666", ns, pod), -ENOENT);
        ck_assert_int_eq(pod_log_lookup(fd, "33333333-1111-2222-3333-444455556666", ns, pod), -ENOENT);
        ck_assert_int_eq(pod_log_lookup(-1, "x", ns, pod), -ENOENT);
        close(fd);
        snprintf(p, sizeof(p), "rm -rf %s", dir);
        ck_assert_int_eq(system(p), 0);
}
END_TEST

START_TEST(test_container_log_lookup)
{
        char dir[] = "/tmp/mw-ctrs-XXXXXX", p[300], name[CONTAINER_NAME_MAX];
        static const char *const entries[] = {
                "web-7d9f_shop_app-0123456789abcdef.log",
                "web-7d9f_shop_istio-proxy-fedcba9876543210.log",
                "broken-0123456789abcdee.log",
                /* The same id in another pod and another namespace: not ours. */
                "other_evil_admin-1111222233334444.log",
                "web-7d9f_prod_db-1111222233334444.log",
                "web-7d9f_shop_cart-1111222233334444.log",
        };
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, entries[i]);
                fd = open(p, O_CREAT | O_WRONLY, 0644);
                ck_assert_int_ge(fd, 0);
                close(fd);
        }
        fd = open(dir, O_RDONLY | O_DIRECTORY);
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdef", "web-7d9f", "shop", name), 0);
        ck_assert_str_eq(name, "app");
        ck_assert_int_eq(container_log_lookup(fd, "fedcba9876543210", "web-7d9f", "shop", name), 0);
        ck_assert_str_eq(name, "istio-proxy");
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdee", "web-7d9f", "shop", name), -ENOENT);
        ck_assert_int_eq(container_log_lookup(fd, "ffff", "web-7d9f", "shop", name), -ENOENT);
        /* Only the entry of the cgroup's own pod and namespace names it. */
        ck_assert_int_eq(container_log_lookup(fd, "1111222233334444", "web-7d9f", "shop", name), 0);
        ck_assert_str_eq(name, "cart");
        ck_assert_int_eq(container_log_lookup(fd, "1111222233334444", "web-7d9f", "prod", name), 0);
        ck_assert_str_eq(name, "db");
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdef", "web-7d9f", "prod", name), -ENOENT);
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdef", "web", "shop", name), -ENOENT);
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdef", "web-7d9f", "sho", name), -ENOENT);
        /* The pod not named yet: no answer (not the first entry with the id). */
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdef", "", "shop", name), -ENOENT);
        ck_assert_int_eq(container_log_lookup(fd, "0123456789abcdef", "web-7d9f", NULL, name), -ENOENT);
        close(fd);
        snprintf(p, sizeof(p), "rm -rf %s", dir);
        ck_assert_int_eq(system(p), 0);

        ck_assert_int_eq(qos_from_pod_parent("kubepods-burstable.slice"), QOS_BURSTABLE);
        ck_assert_int_eq(qos_from_pod_parent("besteffort"), QOS_BESTEFFORT);
        ck_assert_int_eq(qos_from_pod_parent("kubepods.slice"), QOS_GUARANTEED);
        ck_assert_int_eq(qos_from_pod_parent("kubepods"), QOS_GUARANTEED);
        ck_assert_int_eq(qos_from_pod_parent("system.slice"), _QOS_INVALID);
}
END_TEST

#define U "0a1b2c3d-1111-2222-3333-444455556666"
#define L63                                                                                                 \
        "abcdefghij"                                                                                        \
        "abcdefghij"                                                                                        \
        "abcdefghij"                                                                                        \
        "abcdefghij"                                                                                        \
        "abcdefghij"                                                                                        \
        "abcdefghij"                                                                                        \
        "abc"

/* Entry names are anyone's who can write kubelet's directories. */
START_TEST(test_log_entry_parse)
{
        static const struct {
                const char *name;
                const char *ns, *pod;
        } pods[] = {
                { "default_web-7d9f_" U, "default", "web-7d9f" },
                { "kube-system_etcd.node-1.example_" U, "kube-system", "etcd.node-1.example" },
                { L63 "_p_" U, L63, "p" },
                { "a_b_" U, "a", "b" },
                { "kube-system_etcd-node-1_0a1b2c3d11112222333344445555666f", "kube-system", "etcd-node-1" },
                { L63 "x_p_" U, NULL, NULL }, /* namespace of 64 */
                { "garbage", NULL, NULL },
                { "", NULL, NULL },
                { U, NULL, NULL },
                { "ns_" U, NULL, NULL },
                { "_pod_" U, NULL, NULL },
                { "ns__" U, NULL, NULL },
                { "ns_pod_", NULL, NULL },
                { "ns_web..1_" U, NULL, NULL },
                { "ns_.web_" U, NULL, NULL },
                { "ns_web._" U, NULL, NULL },
                { "..__" U, NULL, NULL },
                { "ns_a_b_" U, NULL, NULL },
                { "Ns_web_" U, NULL, NULL },
                { "ns_Web_" U, NULL, NULL },
                { "-ns_web_" U, NULL, NULL },
                { "ns_web-_" U, NULL, NULL },
                { "ns_w/b_" U, NULL, NULL },
                { "n.s_web_" U, NULL, NULL },
                { "ns_web_0A1B2C3D-1111-2222-3333-444455556666", NULL, NULL },
                { "ns_web_0a1b2c3d-1111-2222-3333-44445555666", NULL, NULL },
                { "ns_web_0a1b2c3d-1111-2222-3333-4444555566667", NULL, NULL },
                { "ns_web_0a1b2c3d_1111_2222_3333_444455556666", NULL, NULL },
                { "ns_web_0a1b2c3d11111-2222-3333-444455556666", NULL, NULL },
                { "ns_web_0a1b2c3d-1111-2222-3333-44445555666g", NULL, NULL },
                { "ns_web_0a1b2c3d1111222233334444555566", NULL, NULL },
                { "ns_web_0a1b2c3d11112222333344445555666F", NULL, NULL },
        };
        char ns[POD_NAMESPACE_MAX], pod[POD_NAME_MAX], uid[POD_UID_MAX];
        char name[CONTAINER_NAME_MAX], id[CONTAINER_ID_MAX], big[600];
        const char *ok = "web-7d9f_shop_istio-proxy-0123456789ab.log";

        for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
                int r = pod_log_entry_parse(pods[i].name, strlen(pods[i].name), ns, pod, uid);
                if (!pods[i].ns) {
                        ck_assert_msg(r == -EINVAL, "'%s' accepted", pods[i].name);
                        continue;
                }
                ck_assert_msg(r == 0, "'%s' refused", pods[i].name);
                ck_assert_str_eq(ns, pods[i].ns);
                ck_assert_str_eq(pod, pods[i].pod);
                ck_assert_str_eq(uid, strrchr(pods[i].name, '_') + 1);
        }
        /* A pod name of 253 is the most; 254 is too long. Not NUL-terminated: len counts. */
        memset(big, 'p', sizeof(big));
        memcpy(big, "ns_", 3);
        memcpy(big + 3 + 253, "_" U, 37);
        ck_assert_int_eq(pod_log_entry_parse(big, 3 + 253 + 37, ns, pod, uid), 0);
        ck_assert_uint_eq(strlen(pod), 253);
        memcpy(big + 3 + 254, "_" U, 37);
        ck_assert_int_eq(pod_log_entry_parse(big, 3 + 254 + 37, ns, pod, uid), -EINVAL);
        ck_assert_int_eq(pod_log_entry_parse(big, sizeof(big), ns, pod, uid), -EINVAL);
        ck_assert_int_eq(pod_log_entry_parse("a_b_" U "trailing", 4 + 36, ns, pod, uid), 0);

        ck_assert_int_eq(container_log_entry_parse(ok, strlen(ok), name, id), 0);
        ck_assert_str_eq(name, "istio-proxy");
        ck_assert_str_eq(id, "0123456789ab");
        ck_assert_int_eq(container_log_entry_parse_pod(ok, strlen(ok), pod, ns, name, id), 0);
        ck_assert_str_eq(pod, "web-7d9f");
        ck_assert_str_eq(ns, "shop");
        ck_assert_str_eq(name, "istio-proxy");
        ck_assert_str_eq(id, "0123456789ab");
        static const char *const bad[] = {
                "web_shop_app-0123456789ab",       /* no .log */
                "web_shop_app-0123456789a.log",    /* id of 11 */
                "web_shop_app-0123456789AB.log",   /* uppercase */
                "web_shop_app_x-0123456789ab.log", /* three '_' */
                "web_shop-app-0123456789ab.log",   /* one '_' */
                "web_shop_-0123456789ab.log",      /* no container name */
                "web_shop_app0123456789ab.log",    /* no '-' before the id */
                "web_sh.op_app-0123456789ab.log",  /* namespace with '.' */
                "web_shop_a.b-0123456789ab.log",   /* container with '.' */
                "../x_shop_app-0123456789ab.log",  /* pod with '/' */
                "_shop_app-0123456789ab.log",      /* no pod */
                "web__app-0123456789ab.log",       /* no namespace */
                ".log",
                "",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(container_log_entry_parse(bad[i], strlen(bad[i]), name, id) == -EINVAL,
                              "'%s' accepted", bad[i]);
        /* An id of 64 is the most. */
        snprintf(big, sizeof(big), "p_n_c-%064d.log", 0);
        ck_assert_int_eq(container_log_entry_parse(big, strlen(big), name, id), 0);
        snprintf(big, sizeof(big), "p_n_c-%065d.log", 0);
        ck_assert_int_eq(container_log_entry_parse(big, strlen(big), name, id), -EINVAL);
        snprintf(big, sizeof(big), "p_n_" L63 "-%012d.log", 0);
        ck_assert_int_eq(container_log_entry_parse(big, strlen(big), name, id), 0);
        ck_assert_str_eq(name, L63);
        snprintf(big, sizeof(big), "p_n_" L63 "x-%012d.log", 0);
        ck_assert_int_eq(container_log_entry_parse(big, strlen(big), name, id), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("identity");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_kinds);
        tcase_add_test(tc, test_kubepods_root);
        tcase_add_test(tc, test_ids);
        tcase_add_test(tc, test_pod_log_lookup);
        tcase_add_test(tc, test_container_log_lookup);
        tcase_add_test(tc, test_log_entry_parse);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(suite)
