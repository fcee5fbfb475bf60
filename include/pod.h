/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

/* What memwarden may kill of a Kubernetes pod: its application containers,
 * never its sandbox. Killing a pod's cgroup outside the runtime takes the
 * sandbox (pause) with it and orphans the runtime's shims; killing the
 * application containers is an OOM-like container exit that the runtime and
 * kubelet handle with the pod's restart policy.
 *
 * The model tells the two apart by kubelet's own files, which no tenant
 * writes: an application container has a /var/log/containers entry (its
 * name is known, Cgroup.container_name), the sandbox never has one. A
 * container kubelet has not logged yet looks like the sandbox and is left
 * alone until its entry appears (the watcher learns it by inotify). Nothing
 * a workload does inside its container (process names, files) counts. */
#define POD_CONTAINERS_MAX 64

/* c is a pod's container with its name known from kubelet's logs. */
bool pod_container_is_app(const Cgroup *c);

/* The application containers of pod (its direct children that are, in the
 * model's order), at most max into ret; returns how many there are in all
 * (more than max: the rest were not stored). 0 for anything not a pod. */
size_t pod_app_containers(const Cgroup *pod, const Cgroup **ret, size_t max);

/* kubelet's memory QoS (cgroup v2, the MemoryQoS feature) sets a container's
 * memory.high from its requests and limits, and sets it again when it likes:
 * a container's memory.high that is not "max" before memwarden ever lowered
 * it is kubelet's. high is the value memwarden would take as the original. A
 * throttle step does not write it unless it says overrideKubelet: true. */
bool pod_memory_high_is_kubelets(const Cgroup *c, uint64_t high);
