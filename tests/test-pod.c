/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pod.h"
#include "test-main.h"

static Cgroup *cg(Cgroup *parent, CgroupKind kind, const char *name, const char *container)
{
        Cgroup *c = calloc(1, sizeof(Cgroup) + strlen(name) + 1);

        ck_assert_ptr_nonnull(c);
        c->kind = kind;
        c->name_len = (uint16_t)strlen(name);
        memcpy(c->name, name, c->name_len);
        c->container_name = (char *)container;
        c->parent = parent;
        if (parent) {
                c->next_sibling = parent->first_child;
                parent->first_child = c;
        }
        return c;
}

START_TEST(test_app_containers)
{
        Cgroup *root = cg(NULL, CGROUP_KIND_KUBEPODS, "kubepods.slice", NULL);
        Cgroup *pod = cg(root, CGROUP_KIND_POD, "kubepods-pod1.slice", NULL);
        Cgroup *sb = cg(pod, CGROUP_KIND_CONTAINER, "cri-containerd-s.scope", ""); /* no log entry */
        Cgroup *a = cg(pod, CGROUP_KIND_CONTAINER, "cri-containerd-a.scope", "app");
        Cgroup *b = cg(pod, CGROUP_KIND_CONTAINER, "cri-containerd-b.scope", "sidecar");
        Cgroup *nul = cg(pod, CGROUP_KIND_CONTAINER, "cri-containerd-n.scope", NULL);
        Cgroup *inner = cg(a, CGROUP_KIND_OTHER, "inner", "app"); /* below a container: not one */
        Cgroup *lone = cg(root, CGROUP_KIND_POD, "kubepods-pod2.slice", NULL);
        Cgroup *lsb = cg(lone, CGROUP_KIND_CONTAINER, "cri-containerd-t.scope", "");
        const Cgroup *v[POD_CONTAINERS_MAX];

        ck_assert(!pod_container_is_app(sb));
        ck_assert(!pod_container_is_app(nul));
        ck_assert(pod_container_is_app(a));
        ck_assert(!pod_container_is_app(inner));
        ck_assert(!pod_container_is_app(pod));
        ck_assert(!pod_container_is_app(NULL));
        ck_assert_uint_eq(pod_app_containers(pod, v, POD_CONTAINERS_MAX), 2);
        ck_assert(v[0] == b || v[1] == b);
        ck_assert(v[0] == a || v[1] == a);
        /* Bounded: the count is all of them, only max stored. */
        v[1] = NULL;
        ck_assert_uint_eq(pod_app_containers(pod, v, 1), 2);
        ck_assert_ptr_null(v[1]);
        ck_assert_uint_eq(pod_app_containers(lone, v, POD_CONTAINERS_MAX), 0);
        ck_assert_uint_eq(pod_app_containers(a, v, POD_CONTAINERS_MAX), 0); /* not a pod */
        ck_assert_uint_eq(pod_app_containers(NULL, v, POD_CONTAINERS_MAX), 0);
        free(inner), free(nul), free(b), free(a), free(sb), free(pod), free(lsb), free(lone), free(root);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("pod");
        TCase *tc = tcase_create("pod");

        tcase_add_test(tc, test_app_containers);
        suite_add_tcase(s, tc);
        return s;
}

MW_TEST_MAIN(make_suite)
