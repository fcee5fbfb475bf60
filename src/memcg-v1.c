/* SPDX-License-Identifier: MIT */
#include "memcg-v1.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "macro.h"
#include "parse.h"

static const char *const level_names[_V1_LEVEL_MAX] = { "low", "medium", "critical" };
static const char *const mode_names[_V1_MODE_MAX] = { "default", "hierarchy", "local" };

const char *v1_level_to_string(V1Level l)
{
        return l >= 0 && l < _V1_LEVEL_MAX ? level_names[l] : NULL;
}

const char *v1_mode_to_string(V1Mode m)
{
        return m >= 0 && m < _V1_MODE_MAX ? mode_names[m] : NULL;
}

int cg_find_v1_memory_mount(const char *mountinfo_path, char *ret_path, size_t size)
{
        char line[4096];
        int r = -ENOENT;
        MountEntry m;
        FILE *f;

        f = fopen(mountinfo_path, "re");
        if (!f)
                return -errno;
        while (cg_mountinfo_next(f, line, sizeof(line), &m) > 0)
                if (strcmp(m.fstype, "cgroup") == 0 && mount_has_option(m.superopts, "memory")) {
                        r = strlen(m.mountpoint) < size ? 0 : -ENAMETOOLONG;
                        if (r == 0)
                                strcpy(ret_path, m.mountpoint);
                        break;
                }
        fclose(f);
        return r;
}

static int watch(int dirfd, const char *file, const char *args)
{
        _cleanup_close_ int efd = -1, cfd = -1, ctl = -1;
        char line[128];
        int n;

        efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0)
                return -errno;
        cfd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
        if (cfd < 0)
                return -errno;
        ctl = openat(dirfd, "cgroup.event_control", O_WRONLY | O_CLOEXEC);
        if (ctl < 0)
                return -errno;
        n = snprintf(line, sizeof(line), "%d %d%s%s", efd, cfd, args ? " " : "", args ? args : "");
        if (n < 0 || (size_t)n >= sizeof(line))
                return -EINVAL;
        if (write(ctl, line, (size_t)n) < 0)
                return -errno;
        /* The kernel holds the event now; the control file may be closed. */
        return TAKE_FD(efd);
}

int memcg_v1_watch_pressure(int dirfd, V1Level level, V1Mode mode)
{
        char args[32];

        if (!v1_level_to_string(level) || !v1_mode_to_string(mode))
                return -EINVAL;
        snprintf(args, sizeof(args), "%s,%s", v1_level_to_string(level), v1_mode_to_string(mode));
        return watch(dirfd, "memory.pressure_level", args);
}

int memcg_v1_watch_threshold(int dirfd, uint64_t usage_bytes)
{
        char args[32];

        snprintf(args, sizeof(args), "%llu", (unsigned long long)usage_bytes);
        return watch(dirfd, "memory.usage_in_bytes", args);
}

int memcg_v1_watch_oom(int dirfd)
{
        return watch(dirfd, "memory.oom_control", NULL);
}

int memcg_v1_oom_control_parse(const char *buf, size_t len, bool *ret_under_oom, uint64_t *ret_oom_kill)
{
        const char *p = buf, *k;
        bool seen = false, under_oom = false;
        uint64_t x, oom_kill = 0;
        size_t kl;
        int r;

        while ((r = kv_next(&p, buf + len, 0, &k, &kl, &x)) != 0) {
                if (r < 0)
                        continue; /* a malformed line: the others still count */
                if (kv_key_is(k, kl, "under_oom")) {
                        under_oom = x != 0;
                        seen = true;
                } else if (kv_key_is(k, kl, "oom_kill"))
                        oom_kill = x;
        }
        if (!seen)
                return -EINVAL;
        *ret_under_oom = under_oom;
        *ret_oom_kill = oom_kill;
        return 0;
}

typedef struct KillCtx {
        int sig, dirfd;
        unsigned depth, n;
        bool count;
        pid_t self;
} KillCtx;

static void kill_procs(int dirfd, KillCtx *k)
{
        _cleanup_close_ int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
        char buf[4096];
        uint64_t pid = 0;
        bool in = false;

        if (fd < 0)
                return;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n <= 0)
                        break;
                /* Numbers may be split across reads: carry the partial one. */
                for (ssize_t i = 0; i <= n; i++) {
                        if (i < n && buf[i] >= '0' && buf[i] <= '9') {
                                pid = pid * 10 + (uint64_t)(buf[i] - '0');
                                in = pid < INT32_MAX;
                                continue;
                        }
                        if (i == n)
                                break;
                        if (in && pid > 0 && (pid_t)pid != k->self && kill((pid_t)pid, k->sig) == 0 &&
                            k->count)
                                k->n++;
                        pid = 0;
                        in = false;
                }
        }
        if (in && pid > 0 && (pid_t)pid != k->self && kill((pid_t)pid, k->sig) == 0 && k->count)
                k->n++;
}

static void kill_dir(int dirfd, KillCtx *k);

static int kill_child(const char *name, unsigned char type, void *userdata)
{
        KillCtx *k = userdata;
        _cleanup_close_ int fd = -1;

        if (type != DT_DIR || name[0] == '.')
                return 0;
        fd = openat(k->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0)
                kill_dir(fd, k);
        return 0;
}

static void kill_dir(int dirfd, KillCtx *k)
{
        int saved = k->dirfd;

        kill_procs(dirfd, k);
        if (k->depth >= 64)
                return;
        k->depth++;
        k->dirfd = dirfd;
        (void)dir_for_each(dirfd, kill_child, k);
        k->dirfd = saved;
        k->depth--;
}

int memcg_v1_kill_subtree(int dirfd, int sig, unsigned *ret_n)
{
        KillCtx k = { .sig = sig, .dirfd = dirfd, .count = true, .self = getpid() };

        if (faccessat(dirfd, "cgroup.procs", F_OK, 0) < 0)
                return -errno;
        kill_dir(dirfd, &k);
        /* A child forked between the read and the kill of its parent: once more
         * (processes killed already and still exiting get a second, harmless signal). */
        k.count = false;
        kill_dir(dirfd, &k);
        *ret_n = k.n;
        return 0;
}
