/* SPDX-License-Identifier: MIT */
#include "pod.h"

bool pod_container_is_app(const Cgroup *c)
{
        return c && c->kind == CGROUP_KIND_CONTAINER && c->parent && c->parent->kind == CGROUP_KIND_POD &&
               c->container_name && c->container_name[0];
}

size_t pod_app_containers(const Cgroup *pod, const Cgroup **ret, size_t max)
{
        size_t n = 0;

        if (!pod || pod->kind != CGROUP_KIND_POD)
                return 0;
        for (const Cgroup *c = pod->first_child; c; c = c->next_sibling)
                if (pod_container_is_app(c)) {
                        if (n < max)
                                ret[n] = c;
                        n++;
                }
        return n;
}

bool pod_memory_high_is_kubelets(const Cgroup *c, uint64_t high)
{
        return c && c->kind == CGROUP_KIND_CONTAINER && c->parent && c->parent->kind == CGROUP_KIND_POD &&
               high != UINT64_MAX;
}
