/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a cgroup path, component by component, through the
 * identity parsers the watcher runs on each new cgroup: its kind (from its
 * parent's), the pod UID, the container id, the QoS class; and the same bytes
 * as kubelet's log directory entry names. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(CgroupKind *kind, bool kubepods_root, const char *parent, const char *name, size_t len)
{
        /* An exact-size copy: a read past the name is a sanitizer report. */
        char *z = malloc(len + 1), uid[37], id[65], small[13];

        if (!z)
                return;
        memcpy(z, name, len);
        z[len] = '\0';
        *kind = cgroup_kind_from_name(*kind, kubepods_root, name, len);
        if (*kind < 0 || *kind >= _CGROUP_KIND_MAX || !cgroup_kind_to_string(*kind))
                __builtin_trap();
        /* A UUID, or a static pod's 32 hex digits. */
        if (pod_uid_from_name(z, uid, sizeof(uid)) == 0 && strlen(uid) != 36 && strlen(uid) != 32)
                __builtin_trap();
        if (container_id_from_name(z, id, sizeof(id)) == 0 && strlen(id) < 12)
                __builtin_trap();
        if (container_id_from_name(z, small, sizeof(small)) == 0 && strlen(small) >= sizeof(small))
                __builtin_trap();
        (void)qos_from_pod_parent(parent);
        /* The same bytes as kubelet log directory entries (hostile names). */
        char ns[POD_NAMESPACE_MAX], pod[POD_NAME_MAX], puid[POD_UID_MAX], cname[CONTAINER_NAME_MAX],
                cid[CONTAINER_ID_MAX];
        if (pod_log_entry_parse(z, len, ns, pod, puid) == 0 &&
            (strlen(ns) >= POD_NAMESPACE_MAX || strlen(pod) >= POD_NAME_MAX || strlen(puid) >= POD_UID_MAX ||
             strchr(ns, '_') || strchr(pod, '_')))
                __builtin_trap();
        if (container_log_entry_parse(z, len, cname, cid) == 0 &&
            (strlen(cname) >= CONTAINER_NAME_MAX || strlen(cid) >= CONTAINER_ID_MAX))
                __builtin_trap();
        free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *p = (const char *)data, *end = p + size;
        CgroupKind kind = CGROUP_KIND_ROOT;
        char parent[256] = "", path[4096] = "";
        size_t path_len = 0;

        while (p < end) {
                const char *slash = memchr(p, '/', (size_t)(end - p));
                size_t len = slash ? (size_t)(slash - p) : (size_t)(end - p);
                /* The kubepods root is a path ("/kubepods", "/kubepods.slice"), not a name. */
                if (path_len + 1 + len < sizeof(path)) {
                        path[path_len++] = '/';
                        memcpy(path + path_len, p, len);
                        path_len += len;
                }
                one(&kind, cgroup_is_kubepods_root(NULL, path, path_len), parent, p, len);
                snprintf(parent, sizeof(parent), "%.*s", (int)len, p);
                p += len + 1;
        }
        return 0;
}
