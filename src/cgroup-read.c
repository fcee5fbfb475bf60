/* SPDX-License-Identifier: MIT */
#include "cgroup-read.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "macro.h"
#include "parse.h"

int cg_pread_all(int fd, char *buf, size_t size, size_t *ret_len)
{
        size_t len = 0;

        if (size < 2)
                return -EINVAL;
        for (;;) {
                ssize_t n = pread(fd, buf + len, size - 1 - len, (off_t)len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == size - 1)
                        return -ENOBUFS;
        }
        buf[len] = '\0';
        *ret_len = len;
        return 0;
}

int cg_read_file(int dirfd, const char *file, char *buf, size_t size, size_t *ret_len)
{
        _cleanup_close_ int fd = -1;

        fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return cg_pread_all(fd, buf, size, ret_len);
}

int cg_read_u64(int dirfd, const char *file, uint64_t *ret)
{
        char buf[64];
        size_t len;
        int r;

        r = cg_read_file(dirfd, file, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        while (len > 0 && buf[len - 1] == '\n')
                len--;
        return parse_u64_n(buf, len, ret);
}

int cg_read_limit(int dirfd, const char *file, uint64_t *ret)
{
        char buf[64];
        size_t len;
        int r;

        r = cg_read_file(dirfd, file, buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        return parse_limit(buf, len, ret);
}

int cgroup_events_parse(const char *buf, size_t len, CgroupEvents *ret)
{
        CgroupEvents ev = {};
        bool seen_populated = false;
        const char *p = buf, *k;
        size_t kl;
        uint64_t x;
        int r;

        while ((r = kv_next(&p, buf + len, 0, &k, &kl, &x)) > 0) {
                if (x > 1)
                        return -EINVAL;
                if (kv_key_is(k, kl, "populated")) {
                        ev.populated = x;
                        seen_populated = true;
                } else if (kv_key_is(k, kl, "frozen"))
                        ev.frozen = x;
        }
        if (r < 0 || !seen_populated)
                return -EINVAL;
        *ret = ev;
        return 0;
}

static const char *const memstat_names[_MEMSTAT_MAX] = {
        [MEMSTAT_ANON] = "anon",
        [MEMSTAT_FILE] = "file",
        [MEMSTAT_KERNEL] = "kernel",
        [MEMSTAT_KERNEL_STACK] = "kernel_stack",
        [MEMSTAT_PAGETABLES] = "pagetables",
        [MEMSTAT_SOCK] = "sock",
        [MEMSTAT_SHMEM] = "shmem",
        [MEMSTAT_FILE_MAPPED] = "file_mapped",
        [MEMSTAT_FILE_DIRTY] = "file_dirty",
        [MEMSTAT_FILE_WRITEBACK] = "file_writeback",
        [MEMSTAT_SLAB] = "slab",
        [MEMSTAT_SLAB_RECLAIMABLE] = "slab_reclaimable",
        [MEMSTAT_SLAB_UNRECLAIMABLE] = "slab_unreclaimable",
        [MEMSTAT_PGMAJFAULT] = "pgmajfault",
        [MEMSTAT_WORKINGSET_REFAULT_ANON] = "workingset_refault_anon",
        [MEMSTAT_WORKINGSET_REFAULT_FILE] = "workingset_refault_file",
};

int memory_stat_parse(const char *buf, size_t len, MemoryStat *ret)
{
        MemoryStat st = {};
        const char *p = buf, *k;
        size_t kl;
        uint64_t x;
        int r;

        while ((r = kv_next(&p, buf + len, 0, &k, &kl, &x)) > 0)
                for (int i = 0; i < _MEMSTAT_MAX; i++)
                        if (kv_key_is(k, kl, memstat_names[i])) {
                                st.value[i] = x;
                                st.present |= 1U << i;
                                break;
                        }
        if (r < 0 || st.present == 0)
                return -EINVAL;
        *ret = st;
        return 0;
}

int cg_is_cgroup2(const char *path)
{
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return -errno;
        return sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cg_is_cgroup1(const char *path)
{
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return -errno;
        return sfs.f_type == CGROUP_SUPER_MAGIC;
}

/* Unescape mountinfo's octal escapes (\040 for a space) in place. */
static void unoctal(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w++ = *r;
        }
        *w = '\0';
}

int cg_mountinfo_next(FILE *f, char *line, size_t size, MountEntry *ret)
{
        while (fgets(line, (int)size, f)) {
                /* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
                char *fields[6], *save = NULL, *save2 = NULL, *sep = strstr(line, " - ");
                int nf = 0;

                if (!sep)
                        continue;
                *sep = '\0';
                for (char *t = strtok_r(line, " ", &save); t && nf < 6; t = strtok_r(NULL, " ", &save))
                        fields[nf++] = t;
                ret->fstype = strtok_r(sep + 3, " \n", &save2);
                (void)strtok_r(NULL, " \n", &save2);
                ret->superopts = strtok_r(NULL, " \n", &save2);
                if (nf < 6 || !ret->fstype)
                        continue;
                if (!ret->superopts)
                        ret->superopts = "";
                unoctal(fields[4]);
                ret->mountpoint = fields[4];
                return 1;
        }
        return 0;
}

bool mount_has_option(const char *opts, const char *opt)
{
        size_t n = strlen(opt);

        for (const char *p = opts; p && *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                if (len == n && memcmp(p, opt, n) == 0)
                        return true;
                p = comma ? comma + 1 : NULL;
        }
        return false;
}

int cg_find_cgroup2_mount(const char *mountinfo_path, char *ret_path, size_t size, bool *ret_localevents)
{
        char line[4096], best[4096] = "";
        bool best_local = false;
        MountEntry m;
        FILE *f;

        f = fopen(mountinfo_path, "re");
        if (!f)
                return -errno;
        while (cg_mountinfo_next(f, line, sizeof(line), &m) > 0) {
                if (strcmp(m.fstype, "cgroup2") != 0)
                        continue;
                if (best[0] == '\0' || strcmp(m.mountpoint, "/sys/fs/cgroup") == 0) {
                        snprintf(best, sizeof(best), "%s", m.mountpoint);
                        best_local = mount_has_option(m.superopts, "memory_localevents");
                }
        }
        fclose(f);
        if (best[0] == '\0')
                return -ENOENT;
        if (strlen(best) >= size)
                return -ENAMETOOLONG;
        strcpy(ret_path, best);
        if (ret_localevents)
                *ret_localevents = best_local;
        return 0;
}

int cg_has_controller(int dirfd, const char *controller)
{
        char buf[512];
        size_t len, cl = strlen(controller);
        int r;

        r = cg_read_file(dirfd, "cgroup.controllers", buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        for (char *p = buf; (p = strstr(p, controller)); p += cl)
                if ((p == buf || p[-1] == ' ') && (p[cl] == ' ' || p[cl] == '\n' || p[cl] == '\0'))
                        return 1;
        return 0;
}

struct dirent64_raw {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

int dir_for_each(int fd, DirEntryFunc f, void *userdata)
{
        if (fd < 0)
                return -ENOENT;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return -errno;
        for (;;) {
                _Alignas(struct dirent64_raw) char buf[4096];
                long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ENOENT;
                for (long off = 0; off < n;) {
                        struct dirent64_raw *d = (struct dirent64_raw *)(buf + off);
                        int r;
                        off += d->d_reclen;
                        r = f(d->d_name, d->d_type, userdata);
                        if (r != 0)
                                return r;
                }
        }
}
