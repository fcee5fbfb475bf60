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
        if (parent_kind == CGROUP_KIND_POD || parent_kind == CGROUP_KIND_CONTAINER)
                return has_prefix(name, len, "crio-conmon-") ? CGROUP_KIND_OTHER : CGROUP_KIND_CONTAINER;
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
        if (len != 36)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
                char c = p[i];
                if (dash_pos ? (c != '-' && c != '_') : !is_hex_or_dash(c, 0))
                        return -EINVAL;
                ret[i] = dash_pos ? '-' : c;
        }
        ret[len] = '\0';
        return 0;
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

struct pod_lookup {
        const char *uid;
        size_t uid_len;
        char *ns, *pod;
};

/* <namespace>_<pod>_<uid> */
static int match_pod_dir(const char *name, unsigned char type, void *userdata)
{
        struct pod_lookup *l = userdata;
        size_t len = strlen(name), ul = l->uid_len;
        const char *first, *last;

        if (len < ul + 4 || strcmp(name + len - ul, l->uid) != 0 || name[len - ul - 1] != '_')
                return 0;
        first = strchr(name, '_');
        last = name + len - ul - 1;
        if (first == name || first >= last || (size_t)(first - name) >= POD_NAMESPACE_MAX ||
            (size_t)(last - first - 1) >= POD_NAME_MAX)
                return 0;
        memcpy(l->ns, name, (size_t)(first - name));
        l->ns[first - name] = '\0';
        memcpy(l->pod, first + 1, (size_t)(last - first - 1));
        l->pod[last - first - 1] = '\0';
        return 1;
}

int pod_log_lookup(int logdir_fd, const char *uid, char ns[POD_NAMESPACE_MAX], char pod[POD_NAME_MAX])
{
        struct pod_lookup l = { .uid = uid, .uid_len = strlen(uid), .ns = ns, .pod = pod };
        int r;

        if (l.uid_len == 0)
                return -ENOENT;
        r = dir_for_each(logdir_fd, match_pod_dir, &l);
        return r > 0 ? 0 : r;
}

struct container_lookup {
        const char *id;
        size_t id_len;
        char *name;
};

/* <pod>_<namespace>_<container>-<id>.log */
static int match_container_log(const char *e, unsigned char type, void *userdata)
{
        struct container_lookup *l = userdata;
        size_t len = strlen(e), cl = l->id_len;
        const char *second, *dash;

        if (len < cl + 6 || strcmp(e + len - 4, ".log") != 0 || memcmp(e + len - 4 - cl, l->id, cl) != 0 ||
            e[len - 5 - cl] != '-')
                return 0;
        dash = e + len - 5 - cl;
        second = strchr(e, '_');
        second = second ? strchr(second + 1, '_') : NULL;
        if (!second || second >= dash || (size_t)(dash - second - 1) >= CONTAINER_NAME_MAX)
                return 0;
        memcpy(l->name, second + 1, (size_t)(dash - second - 1));
        l->name[dash - second - 1] = '\0';
        return 1;
}

int container_log_lookup(int logdir_fd, const char *cid, char name[CONTAINER_NAME_MAX])
{
        struct container_lookup l = { .id = cid, .id_len = strlen(cid), .name = name };
        int r;

        if (l.id_len == 0)
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
