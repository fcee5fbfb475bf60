/* SPDX-License-Identifier: MIT */
#include "identity.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-read.h"

static const char *const kind_names[_CGROUP_KIND_MAX] = {
        [CGROUP_KIND_ROOT] = "root",       [CGROUP_KIND_OTHER] = "other",
        [CGROUP_KIND_SLICE] = "slice",     [CGROUP_KIND_SCOPE] = "scope",
        [CGROUP_KIND_SERVICE] = "service", [CGROUP_KIND_KUBEPODS] = "kubepods",
        [CGROUP_KIND_POD] = "pod",         [CGROUP_KIND_CONTAINER] = "container",
};

const char *cgroup_kind_to_string(CgroupKind k)
{
        if (k < 0 || k >= _CGROUP_KIND_MAX)
                return NULL;
        return kind_names[k];
}

static bool has_prefix(const char *s, size_t len, const char *p)
{
        size_t pl = strlen(p);
        return len >= pl && memcmp(s, p, pl) == 0;
}

static bool has_suffix(const char *s, size_t len, const char *p)
{
        size_t pl = strlen(p);
        return len >= pl && memcmp(s + len - pl, p, pl) == 0;
}

static bool is_qos_name(const char *name, size_t len)
{
        return (len == 9 && memcmp(name, "burstable", 9) == 0) ||
               (len == 10 && memcmp(name, "besteffort", 10) == 0);
}

bool cgroup_is_kubepods_root(const char *kubepods_root, const char *path, size_t len)
{
        if (kubepods_root) {
                size_t kl = strlen(kubepods_root);
                /* "/kubepods/" is "/kubepods". */
                while (kl > 1 && kubepods_root[kl - 1] == '/')
                        kl--;
                return len == kl && memcmp(path, kubepods_root, kl) == 0;
        }
        return (len == 9 && memcmp(path, "/kubepods", 9) == 0) ||
               (len == 15 && memcmp(path, "/kubepods.slice", 15) == 0);
}

CgroupKind cgroup_kind_from_name(CgroupKind parent_kind, bool kubepods_root, const char *name, size_t len)
{
        /* systemd driver: kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/
         * cri-containerd-<id>.scope; cgroupfs driver: kubepods/burstable/pod<uid>/<id>. Only
         * under the root kubelet uses: anyone with a delegated subtree can name a directory
         * "kubepods" or "pod<uid>", and must not make it protected or a pod of some namespace. */
        if (kubepods_root)
                return CGROUP_KIND_KUBEPODS;
        if (parent_kind == CGROUP_KIND_KUBEPODS) {
                if (has_prefix(name, len, "kubepods-") && has_suffix(name, len, ".slice"))
                        return memmem(name, len, "-pod", 4) ? CGROUP_KIND_POD : CGROUP_KIND_KUBEPODS;
                if (is_qos_name(name, len))
                        return CGROUP_KIND_KUBEPODS;
                if (has_prefix(name, len, "pod"))
                        return CGROUP_KIND_POD;
        }
        /* Only kubelet's own level: what a tenant makes inside its container (a
         * cri-containerd-<id>.scope of its choosing included) is not a container,
         * else it would take another container's name, maybe of another pod. */
        if (parent_kind == CGROUP_KIND_POD)
                return has_prefix(name, len, "crio-conmon-") ? CGROUP_KIND_OTHER : CGROUP_KIND_CONTAINER;
        if (parent_kind == CGROUP_KIND_CONTAINER)
                return CGROUP_KIND_OTHER;
        if (has_suffix(name, len, ".slice"))
                return CGROUP_KIND_SLICE;
        if (has_suffix(name, len, ".scope"))
                return CGROUP_KIND_SCOPE;
        if (has_suffix(name, len, ".service"))
                return CGROUP_KIND_SERVICE;
        return CGROUP_KIND_OTHER;
}

static bool is_hex_or_dash(char c, char dash)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == dash;
}

/* A pod UID as Kubernetes prints it: a UUID (36, '-' at 8, 13, 18, 23; the
 * systemd driver writes '_' for them), or a static pod's (kubelet hashes its
 * manifest: 32 hex digits, no '-'). Into ret, with '-', if ret is not NULL. */
static bool check_pod_uid(const char *p, size_t len, bool underscores, char *ret)
{
        if (len != 36 && len != 32)
                return false;
        for (size_t i = 0; i < len; i++) {
                bool dash_pos = len == 36 && (i == 8 || i == 13 || i == 18 || i == 23);
                char c = p[i];
                if (dash_pos ? c != '-' && !(underscores && c == '_') : !is_hex_or_dash(c, 0))
                        return false;
                if (ret)
                        ret[i] = dash_pos ? '-' : c;
        }
        if (ret)
                ret[len] = '\0';
        return true;
}

int pod_uid_from_name(const char *name, char *ret, size_t size)
{
        /* "kubepods-burstable-pod<uid_>.slice" (systemd driver) or "pod<uid>" (cgroupfs). */
        const char *p = strncmp(name, "pod", 3) == 0 ? name : strstr(name, "-pod");
        size_t len;

        if (!p || size < 37)
                return -EINVAL;
        p += p == name ? 3 : 4;
        len = strlen(p);
        if (has_suffix(p, len, ".slice"))
                len -= 6;
        return check_pod_uid(p, len, true, ret) ? 0 : -EINVAL;
}

int container_id_from_name(const char *name, char *ret, size_t size)
{
        const char *p = name, *dash;
        size_t len = strlen(name);

        if (has_suffix(name, len, ".scope")) {
                len -= 6;
                dash = memrchr(name, '-', len);
                if (!dash)
                        return -EINVAL;
                p = dash + 1;
                len -= (size_t)(p - name);
        } else if (has_prefix(name, len, "crio-")) {
                p += 5;
                len -= 5;
        }
        if (len < 12 || len > 64 || len >= size)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!is_hex_or_dash(p[i], 0))
                        return -EINVAL;
        memcpy(ret, p, len);
        ret[len] = '\0';
        return 0;
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A DNS label (dots: false) or subdomain (dots: true) of 1..max bytes. */
static bool is_dns_name(const char *s, size_t len, size_t max, bool dots)
{
        if (len == 0 || len > max || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
                return false;
        for (size_t i = 1; i + 1 < len; i++) {
                char c = s[i];
                if (c == '.' ? !dots || s[i - 1] == '.' : c != '-' && !is_lower_alnum(c))
                        return false;
        }
        return true;
}

static void copy_part(char *dst, const char *src, size_t len)
{
        memcpy(dst, src, len);
        dst[len] = '\0';
}

int pod_log_entry_parse(const char *name, size_t len, char ns[POD_NAMESPACE_MAX], char pod[POD_NAME_MAX],
                        char uid[POD_UID_MAX])
{
        const char *first = memchr(name, '_', len), *last = memrchr(name, '_', len);

        if (!first || first == last)
                return -EINVAL;
        size_t ns_len = (size_t)(first - name), pod_len = (size_t)(last - first - 1);
        size_t uid_len = len - (size_t)(last - name) - 1;
        if (!is_dns_name(name, ns_len, POD_NAMESPACE_MAX - 1, false) ||
            !is_dns_name(first + 1, pod_len, POD_NAME_MAX - 1, true) ||
            !check_pod_uid(last + 1, uid_len, false, NULL))
                return -EINVAL;
        copy_part(ns, name, ns_len);
        copy_part(pod, first + 1, pod_len);
        copy_part(uid, last + 1, uid_len);
        return 0;
}

int container_log_entry_parse_pod(const char *name, size_t len, char pod[POD_NAME_MAX],
                                  char ns[POD_NAMESPACE_MAX], char container[CONTAINER_NAME_MAX],
                                  char id[CONTAINER_ID_MAX])
{
        const char *first, *second, *dash;

        if (!has_suffix(name, len, ".log"))
                return -EINVAL;
        len -= 4;
        first = memchr(name, '_', len);
        second = first ? memchr(first + 1, '_', len - (size_t)(first + 1 - name)) : NULL;
        if (!second || memchr(second + 1, '_', len - (size_t)(second + 1 - name)))
                return -EINVAL;
        dash = memrchr(second + 1, '-', len - (size_t)(second + 1 - name));
        if (!dash)
                return -EINVAL;
        size_t ns_len = (size_t)(second - first - 1), c_len = (size_t)(dash - second - 1);
        size_t id_len = len - (size_t)(dash + 1 - name);
        if (!is_dns_name(name, (size_t)(first - name), POD_NAME_MAX - 1, true) ||
            !is_dns_name(first + 1, ns_len, POD_NAMESPACE_MAX - 1, false) ||
            !is_dns_name(second + 1, c_len, CONTAINER_NAME_MAX - 1, false) || id_len < 12 ||
            id_len >= CONTAINER_ID_MAX)
                return -EINVAL;
        for (size_t i = 0; i < id_len; i++)
                if (!is_hex_or_dash(dash[1 + i], 0))
                        return -EINVAL;
        copy_part(pod, name, (size_t)(first - name));
        copy_part(ns, first + 1, ns_len);
        copy_part(container, second + 1, c_len);
        copy_part(id, dash + 1, id_len);
        return 0;
}

int container_log_entry_parse(const char *name, size_t len, char container[CONTAINER_NAME_MAX],
                              char id[CONTAINER_ID_MAX])
{
        char pod[POD_NAME_MAX], ns[POD_NAMESPACE_MAX];

        return container_log_entry_parse_pod(name, len, pod, ns, container, id);
}

struct pod_lookup {
        const char *uid;
        char *ns, *pod;
};

static int match_pod_dir(const char *name, unsigned char type, void *userdata)
{
        struct pod_lookup *l = userdata;
        char ns[POD_NAMESPACE_MAX], pod[POD_NAME_MAX], uid[POD_UID_MAX];

        (void)type;
        if (pod_log_entry_parse(name, strlen(name), ns, pod, uid) < 0 || strcmp(uid, l->uid) != 0)
                return 0;
        memcpy(l->ns, ns, strlen(ns) + 1);
        memcpy(l->pod, pod, strlen(pod) + 1);
        return 1;
}

int pod_log_lookup(int logdir_fd, const char *uid, char ns[POD_NAMESPACE_MAX], char pod[POD_NAME_MAX])
{
        struct pod_lookup l = { .uid = uid, .ns = ns, .pod = pod };
        int r;

        if (!uid[0])
                return -ENOENT;
        r = dir_for_each(logdir_fd, match_pod_dir, &l);
        return r > 0 ? 0 : r;
}

struct container_lookup {
        const char *id, *pod, *ns;
        char *name;
};

static int match_container_log(const char *e, unsigned char type, void *userdata)
{
        struct container_lookup *l = userdata;
        char name[CONTAINER_NAME_MAX], id[CONTAINER_ID_MAX], pod[POD_NAME_MAX], ns[POD_NAMESPACE_MAX];

        (void)type;
        if (container_log_entry_parse_pod(e, strlen(e), pod, ns, name, id) < 0 || strcmp(id, l->id) != 0 ||
            strcmp(pod, l->pod) != 0 || strcmp(ns, l->ns) != 0)
                return 0;
        memcpy(l->name, name, strlen(name) + 1);
        return 1;
}

int container_log_lookup(int logdir_fd, const char *cid, const char *pod, const char *ns,
                         char name[CONTAINER_NAME_MAX])
{
        struct container_lookup l = { .id = cid, .pod = pod, .ns = ns, .name = name };
        int r;

        if (!cid[0] || !pod || !pod[0] || !ns || !ns[0])
                return -ENOENT;
        r = dir_for_each(logdir_fd, match_container_log, &l);
        return r > 0 ? 0 : r;
}

const char *qos_class_to_string(QosClass q)
{
        static const char *const names[_QOS_MAX] = { "guaranteed", "burstable", "besteffort" };
        return q >= 0 && q < _QOS_MAX ? names[q] : NULL;
}

QosClass qos_from_pod_parent(const char *parent)
{
        if (!parent)
                return _QOS_INVALID;
        if (strcmp(parent, "burstable") == 0 || strcmp(parent, "kubepods-burstable.slice") == 0)
                return QOS_BURSTABLE;
        if (strcmp(parent, "besteffort") == 0 || strcmp(parent, "kubepods-besteffort.slice") == 0)
                return QOS_BESTEFFORT;
        if (strcmp(parent, "kubepods") == 0 || strcmp(parent, "kubepods.slice") == 0)
                return QOS_GUARANTEED;
        return _QOS_INVALID;
}
