/* SPDX-License-Identifier: MIT */
#include "selfcg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "macro.h"
#include "parse.h"

static const char *const source_names[_SELFCG_SOURCE_MAX] = {
        [SELFCG_SOURCE_NONE] = "none", [SELFCG_SOURCE_EXPLICIT] = "option",
        [SELFCG_SOURCE_PROC] = "proc", [SELFCG_SOURCE_POD_UID] = "pod-uid",
        [SELFCG_SOURCE_WALK] = "walk",
};

const char *selfcg_source_to_string(SelfCgroupSource s)
{
        return s >= 0 && s < _SELFCG_SOURCE_MAX ? source_names[s] : NULL;
}

/* Whether a comma-separated controller list of n bytes names "memory". */
static bool has_memory_controller(const char *list, size_t n)
{
        for (size_t i = 0; i < n;) {
                size_t k = i;
                while (k < n && list[k] != ',')
                        k++;
                if (k - i == 6 && memcmp(list + i, "memory", 6) == 0)
                        return true;
                i = k + 1;
        }
        return false;
}

int selfcg_parse(const char *buf, size_t len, bool v1, char *ret, size_t size)
{
        size_t pos = 0, n;
        const char *line;

        while (next_line(buf, len, &pos, &line, &n)) {
                const char *c1 = memchr(line, ':', n), *c2;
                size_t plen;

                if (!c1 || !(c2 = memchr(c1 + 1, ':', (size_t)(line + n - c1 - 1))))
                        continue;
                if (v1 ? !has_memory_controller(c1 + 1, (size_t)(c2 - c1 - 1))
                       : !(c1 - line == 1 && line[0] == '0' && c2 == c1 + 1))
                        continue;
                plen = (size_t)(line + n - c2 - 1);
                if (plen == 0 || c2[1] != '/' || memchr(c2 + 1, '\0', plen))
                        return -EINVAL;
                if (plen + 1 > size)
                        return -ENAMETOOLONG;
                memcpy(ret, c2 + 1, plen);
                ret[plen] = '\0';
                return 0;
        }
        return -ENOENT;
}

int selfcg_in_namespace(int proc_fd)
{
        struct stat self, init;

        /* Following the links: each is its namespace's nsfs inode. */
        if (fstatat(proc_fd, "self/ns/cgroup", &self, 0) < 0 ||
            fstatat(proc_fd, "1/ns/cgroup", &init, 0) < 0)
                return -errno;
        return self.st_dev != init.st_dev || self.st_ino != init.st_ino;
}

int selfcg_procs_has_pid(int dirfd, pid_t pid)
{
        _cleanup_close_ int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        uint64_t v = 0;
        bool digits = false, bad = false;
        char buf[4096];
        ssize_t n;

        if (fd < 0)
                return -errno;
        /* A number may span two reads: the state carries over. */
        while ((n = read(fd, buf, sizeof(buf))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (ssize_t i = 0; i < n; i++) {
                        char c = buf[i];
                        if (c >= '0' && c <= '9') {
                                bad = bad || v > UINT64_MAX / 10 - 1;
                                v = v * 10 + (uint64_t)(c - '0');
                                digits = true;
                                continue;
                        }
                        if (digits && !bad && v == (uint64_t)pid)
                                return 1;
                        v = 0, digits = bad = false;
                }
        }
        return digits && !bad && v == (uint64_t)pid;
}

static bool valid_uid(const char *uid)
{
        size_t n = strlen(uid);

        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((uid[i] >= '0' && uid[i] <= '9') || (uid[i] >= 'a' && uid[i] <= 'f') ||
                      (uid[i] >= 'A' && uid[i] <= 'F') || uid[i] == '-'))
                        return false;
        return true;
}

static bool is_dir_at(int root_fd, const char *rel)
{
        struct stat st;

        return fstatat(root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* The pod's cgroup under one kubepods root kp (relative, no leading '/'). */
static int find_pod_under(int root_fd, const char *kp, const char *uid, char *ret, size_t size)
{
        static const char *const qos[] = { "", "burstable", "besteffort" };
        size_t kplen = strlen(kp);
        bool systemd = kplen > 6 && strcmp(kp + kplen - 6, ".slice") == 0;
        const char *base = strrchr(kp, '/') ? strrchr(kp, '/') + 1 : kp;
        int blen = (int)strlen(base) - (systemd ? 6 : 0);
        char u[65];

        /* systemd escapes '-' in a unit name's parts: the UID's dashes become '_'. */
        snprintf(u, sizeof(u), "%s", uid);
        for (char *p = u; systemd && *p; p++)
                if (*p == '-')
                        *p = '_';
        for (size_t i = 0; i < ELEMENTSOF(qos); i++) {
                int n;
                if (systemd && qos[i][0])
                        n = snprintf(ret, size, "/%s/%.*s-%s.slice/%.*s-%s-pod%s.slice", kp, blen, base,
                                     qos[i], blen, base, qos[i], u);
                else if (systemd)
                        n = snprintf(ret, size, "/%s/%.*s-pod%s.slice", kp, blen, base, u);
                else
                        n = snprintf(ret, size, "/%s/%s%spod%s", kp, qos[i], qos[i][0] ? "/" : "", u);
                if (n < 0 || (size_t)n >= size)
                        return -ENAMETOOLONG;
                if (is_dir_at(root_fd, ret + 1))
                        return 0;
        }
        return -ENOENT;
}

int selfcg_find_pod(int root_fd, const char *kubepods_root, const char *pod_uid, char *ret, size_t size)
{
        static const char *const defaults[] = { "kubepods.slice", "kubepods" };

        if (!pod_uid || !valid_uid(pod_uid))
                return -EINVAL;
        if (kubepods_root) {
                while (*kubepods_root == '/')
                        kubepods_root++;
                if (!*kubepods_root || strstr(kubepods_root, ".."))
                        return -EINVAL;
                return find_pod_under(root_fd, kubepods_root, pod_uid, ret, size);
        }
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                int r = find_pod_under(root_fd, defaults[i], pod_uid, ret, size);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

/* Depth first from dfd (path[0..plen) names it), one budget unit per directory
 * read. Opens each child with O_NOFOLLOW relative to its parent's fd: no
 * symlink leads the walk out of the hierarchy. */
static int walk_dir(int dfd, pid_t pid, unsigned depth, unsigned *budget, char *path, size_t plen,
                    size_t size)
{
        struct dirent *de;
        DIR *d;
        int r;

        if (*budget == 0)
                return -E2BIG;
        (*budget)--;
        if (selfcg_procs_has_pid(dfd, pid) > 0) {
                if (plen == 0)
                        snprintf(path, size, "/");
                return 0;
        }
        if (depth >= SELFCG_WALK_MAX_DEPTH)
                return -ENOENT;
        r = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (r < 0)
                return -errno;
        d = fdopendir(r);
        if (!d) {
                int k = -errno;
                close(r);
                return k;
        }
        r = -ENOENT;
        while (r == -ENOENT && (de = readdir(d))) {
                size_t n = strlen(de->d_name);
                int cfd;

                if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                if (plen + 1 + n + 1 > size)
                        continue;
                cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (cfd < 0)
                        continue; /* a file (DT_UNKNOWN), or gone meanwhile */
                path[plen] = '/';
                memcpy(path + plen + 1, de->d_name, n + 1);
                r = walk_dir(cfd, pid, depth + 1, budget, path, plen + 1 + n, size);
                close(cfd);
                if (r == -ENOENT)
                        path[plen] = '\0';
        }
        closedir(d);
        return r;
}

/* A path from the root, relative ("." for "/"), refusing ".." (a path from
 * another cgroup namespace reads "/../.."). */
static const char *relative(const char *path)
{
        if (path[0] != '/' || strstr(path, "/..") || strstr(path, "/./"))
                return NULL;
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

int selfcg_walk(int root_fd, const char *start, pid_t pid, unsigned *budget, char *ret, size_t size)
{
        const char *rel = relative(start);
        _cleanup_close_ int fd = -1;
        int r;

        if (!rel)
                return -EINVAL;
        if (strlen(start) + 1 > size)
                return -ENAMETOOLONG;
        fd = openat(root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        snprintf(ret, size, "%s", strcmp(rel, ".") == 0 ? "" : start);
        r = walk_dir(fd, pid, 0, budget, ret, strlen(ret), size);
        if (r < 0)
                ret[0] = '\0';
        return r;
}

/* Whether the hierarchy lists pid in path's cgroup.procs. */
static bool proc_path_agrees(int root_fd, const char *path, pid_t pid)
{
        const char *rel = relative(path);
        _cleanup_close_ int fd = -1;

        if (!rel)
                return false;
        fd = openat(root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 && selfcg_procs_has_pid(fd, pid) > 0;
}

static int set_path(SelfCgroup *ret, SelfCgroupSource source, const char *path)
{
        if (snprintf(ret->path, sizeof(ret->path), "%s%s", path[0] == '/' ? "" : "/", path) >=
            (int)sizeof(ret->path)) {
                ret->path[0] = '\0';
                return -ENAMETOOLONG;
        }
        ret->source = source;
        return 0;
}

int selfcg_find(const SelfCgroupConfig *cfg, SelfCgroup *ret)
{
        unsigned max = cfg->walk_max_dirs ? cfg->walk_max_dirs : SELFCG_WALK_MAX_DIRS_DEFAULT, budget = max;
        char buf[8192], path[4096];
        int r;
        size_t len;

        *ret = (SelfCgroup){ .source = SELFCG_SOURCE_NONE };
        if (cg_read_file(cfg->proc_fd, "self/cgroup", buf, sizeof(buf), &len) < 0 ||
            selfcg_parse(buf, len, cfg->v1, ret->proc_path, sizeof(ret->proc_path)) < 0)
                ret->proc_path[0] = '\0';
        ret->namespaced = selfcg_in_namespace(cfg->proc_fd) > 0;

        if (cfg->explicit_path && cfg->explicit_path[0])
                return set_path(ret, SELFCG_SOURCE_EXPLICIT, cfg->explicit_path);
        /* Outside a namespace /proc is right, except that "/" is what a
         * namespace's root reads too (a namespace we could not detect). */
        if (ret->proc_path[0] &&
            (proc_path_agrees(cfg->root_fd, ret->proc_path, cfg->pid) ||
             (!ret->namespaced && strcmp(ret->proc_path, "/") != 0 && relative(ret->proc_path))))
                return set_path(ret, SELFCG_SOURCE_PROC, ret->proc_path);
        if (cfg->pod_uid && cfg->pod_uid[0] &&
            selfcg_find_pod(cfg->root_fd, cfg->kubepods_root, cfg->pod_uid, path, sizeof(path)) >= 0) {
                char container[4096];
                ret->pod_found = true;
                ret->container_found = selfcg_walk(cfg->root_fd, path, cfg->pid, &budget, container,
                                                   sizeof(container)) >= 0;
                ret->walked_dirs = max - budget;
                return set_path(ret, SELFCG_SOURCE_POD_UID, ret->container_found ? container : path);
        }
        r = selfcg_walk(cfg->root_fd, "/", cfg->pid, &budget, path, sizeof(path));
        ret->walked_dirs = max - budget;
        if (r >= 0)
                return set_path(ret, SELFCG_SOURCE_WALK, path);
        return r == -E2BIG ? -E2BIG : -ENOENT;
}
