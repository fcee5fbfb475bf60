/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* What a cgroup is, worked out once from its name and its parent's kind when
 * it appears: systemd units and the two Kubernetes cgroup drivers' layouts. */
typedef enum CgroupKind {
        CGROUP_KIND_ROOT,
        CGROUP_KIND_OTHER,
        CGROUP_KIND_SLICE,
        CGROUP_KIND_SCOPE,
        CGROUP_KIND_SERVICE,
        CGROUP_KIND_KUBEPODS,  /* kubepods, QoS level: never acted upon */
        CGROUP_KIND_POD,       /* one pod's cgroup */
        CGROUP_KIND_CONTAINER, /* a container (or the sandbox) inside a pod */
        _CGROUP_KIND_MAX,
        _CGROUP_KIND_INVALID = -22,
} CgroupKind;

/* "root", "slice", ... (as in records); NULL when out of range. */
const char *cgroup_kind_to_string(CgroupKind k);

typedef enum QosClass {
        QOS_GUARANTEED,
        QOS_BURSTABLE,
        QOS_BESTEFFORT,
        _QOS_MAX,
        _QOS_INVALID = -22,
} QosClass;

/* "guaranteed", "burstable", "besteffort"; NULL when out of range. */
const char *qos_class_to_string(QosClass q);

/* A pod's QoS class from its parent cgroup's name (both drivers);
 * _QOS_INVALID for NULL or a name that is none of theirs. */
QosClass qos_from_pod_parent(const char *parent_name);

/* Who a cgroup is, for matching policies against it. Strings are borrowed. */
typedef struct CgroupIdentity {
        const char *path;      /* "/system.slice/web.service" */
        const char *unit;      /* systemd unit or slice name, NULL if none */
        const char *namespace; /* Kubernetes, NULL when not a pod's or not known */
        const char *pod;
        const char *container; /* container name, NULL when not known */
        QosClass qos;          /* _QOS_INVALID when not a pod's */
} CgroupIdentity;

/* A container's name from kubelet's /var/log/containers/<pod>_<ns>_<name>-<id>.log
 * entries (no API needed). getdents64, no allocation. Only an entry of the
 * container's own pod counts: pod and ns are its pod cgroup's names, and
 * until they are known (NULL or "") there is no answer. -ENOENT if none. */
#define CONTAINER_NAME_MAX 64
int container_log_lookup(int logdir_fd, const char *container_id, const char *pod, const char *ns,
                         char name[CONTAINER_NAME_MAX]);

/* Whether the cgroup at path (len bytes, from the hierarchy's root, no
 * trailing '/') is the kubepods root, where kubelet's cgroups are: exactly
 * kubepods_root (kubelet's --cgroup-root, e.g. "/kubepods"; a trailing '/'
 * is ignored), or when that is NULL "/kubepods.slice" or "/kubepods". */
bool cgroup_is_kubepods_root(const char *kubepods_root, const char *path, size_t len);

/* A cgroup's kind from its name and its parent's kind; kubepods_root: it is
 * the kubepods root (cgroup_is_kubepods_root()). The Kubernetes kinds arise
 * only at the kubepods root and below it: a directory named "kubepods" or
 * "pod<uid>" anywhere else is a slice or other. Never fails. */
CgroupKind cgroup_kind_from_name(CgroupKind parent_kind, bool kubepods_root, const char *name, size_t len);

/* For a pod cgroup name, its UID (with '-', as Kubernetes prints it: a UUID,
 * or a static pod's 32 hex digits) into ret (at least 37 bytes). For a
 * container name, its id. -EINVAL if not one. */
int pod_uid_from_name(const char *name, char *ret, size_t size);
int container_id_from_name(const char *name, char *ret, size_t size);

/* Kubernetes namespace and pod name of a pod UID without any API: kubelet's
 * log directories are named <namespace>_<pod>_<uid> (namespaces and pod names
 * cannot hold '_'). Scans the directory at logdir_fd (normally /var/log/pods)
 * with getdents64: no allocation. -ENOENT if no directory matches. */
#define POD_NAMESPACE_MAX 64
#define POD_NAME_MAX      254
int pod_log_lookup(int logdir_fd, const char *uid, char ns[POD_NAMESPACE_MAX], char pod[POD_NAME_MAX]);

/* One entry name of kubelet's log directories, len bytes (no NUL needed).
 * Hostile input (anyone who can write the directory names its entries), so
 * each part is checked as Kubernetes itself would: namespace and container
 * a DNS label (1-63 of [a-z0-9-], no '-' at either end), pod a DNS subdomain
 * (1-253 of [a-z0-9.-], no "..", no '.' or '-' at either end), the pod UID
 * as Kubernetes prints it (lowercase hex: a UUID with '-' at 8, 13, 18, 23,
 * or a static pod's 32 digits),
 * the container id 12-64 lowercase hex digits. Return 0 with every output
 * set, or -EINVAL (outputs unspecified).
 * /var/log/pods: "<namespace>_<pod>_<uid>". */
#define POD_UID_MAX      37
#define CONTAINER_ID_MAX 65
int pod_log_entry_parse(const char *name, size_t len, char ns[POD_NAMESPACE_MAX], char pod[POD_NAME_MAX],
                        char uid[POD_UID_MAX]);
/* /var/log/containers: "<pod>_<namespace>_<container>-<id>.log". */
int container_log_entry_parse(const char *name, size_t len, char container[CONTAINER_NAME_MAX],
                              char id[CONTAINER_ID_MAX]);
/* The same, with the pod and namespace the entry names. */
int container_log_entry_parse_pod(const char *name, size_t len, char pod[POD_NAME_MAX],
                                  char ns[POD_NAMESPACE_MAX], char container[CONTAINER_NAME_MAX],
                                  char id[CONTAINER_ID_MAX]);
