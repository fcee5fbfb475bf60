/* SPDX-License-Identifier: MIT */
/* memwardenctl reports [NAME]: the why-reports in --report-dir (read from
 * the directory: the daemon's loop is not asked to read files), newest
 * last, or one of them as a summary a person reads: what the cgroup held
 * by kind, its largest children and processes. Names and command lines are
 * printed in their escaped JSON form: nothing of a tenant's reaches the
 * terminal as a control character. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "json-scan.h"
#include "macro.h"

#define REPORT_READ_MAX  (4 << 20)
#define REPORTS_LIST_MAX 4096

static void human(uint64_t v, char *b, size_t size)
{
        static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double d = (double)v;
        unsigned u = 0;

        while (d >= 1024 && u + 1 < ELEMENTSOF(unit))
                d /= 1024, u++;
        snprintf(b, size, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
}

static bool get_u64(const char *s, size_t len, const char *key, uint64_t *ret)
{
        size_t n;
        const char *v = json_scan_find(s, len, key, &n);

        return v && json_scan_u64(v, n, ret);
}

static void print_str(const char *s, size_t len, const char *key, const char *label)
{
        char d[4096];
        size_t n;
        const char *v = json_scan_find(s, len, key, &n);

        json_scan_display(v ? v : "-", v ? n : 1, d, sizeof(d));
        printf("%-10s %s\n", label, d);
}

static void print_bytes(const char *s, size_t len, const char *key, const char *label)
{
        uint64_t v;
        char b[32];

        if (!get_u64(s, len, key, &v)) {
                size_t n;
                const char *raw = json_scan_find(s, len, key, &n);
                if (raw && n == 5 && memcmp(raw, "\"max\"", 5) == 0)
                        printf(" %s max", label);
                return;
        }
        human(v, b, sizeof(b));
        printf(" %s %s", label, b);
}

/* memory.stat by kind, the largest first. */
static void print_kinds(const char *stat, size_t sl)
{
        static const char *const kinds[] = { "anon",
                                             "file",
                                             "kernel",
                                             "kernel_stack",
                                             "pagetables",
                                             "percpu",
                                             "sock",
                                             "shmem",
                                             "file_mapped",
                                             "file_dirty",
                                             "file_writeback",
                                             "slab",
                                             "slab_reclaimable",
                                             "slab_unreclaimable",
                                             "zswap" };
        uint64_t v[ELEMENTSOF(kinds)];
        bool shown[ELEMENTSOF(kinds)] = {};

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (!get_u64(stat, sl, kinds[i], &v[i]))
                        shown[i] = true;
        printf("%-10s", "by kind");
        for (const char *sep = " ";; sep = ", ") {
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                        if (!shown[i] && (best == SIZE_MAX || v[i] > v[best]))
                                best = i;
                if (best == SIZE_MAX)
                        break;
                char b[32];
                shown[best] = true;
                human(v[best], b, sizeof(b));
                printf("%s%s %s", sep, kinds[best], b);
        }
        printf("\n");
}

static void print_children(const char *r, size_t len)
{
        size_t al, pos = 0, n;
        const char *a = json_scan_find(r, len, "children", &al), *e;
        uint64_t total = 0;

        if (!a)
                return;
        (void)get_u64(r, len, "children_total", &total);
        printf("\nlargest children (%llu in all):\n", (unsigned long long)total);
        while ((e = json_scan_next(a, al, &pos, &n))) {
                char name[1024], b[32];
                size_t nl;
                uint64_t cur = 0;
                const char *nm = json_scan_find(e, n, "name", &nl);
                json_scan_display(nm ? nm : "-", nm ? nl : 1, name, sizeof(name));
                (void)get_u64(e, n, "memory_current", &cur);
                human(cur, b, sizeof(b));
                printf("  %12s  %s\n", b, name);
        }
}

static void print_processes(const char *r, size_t len)
{
        size_t al, pos = 0, n;
        const char *a = json_scan_find(r, len, "processes", &al), *e;
        uint64_t total = 0;

        if (!a)
                return;
        (void)get_u64(r, len, "processes_total", &total);
        printf("\nlargest processes by RSS (%llu in all):\n  %8s %-16s %10s %10s %10s  %s\n",
               (unsigned long long)total, "PID", "COMM", "RSS", "PSS", "SWAP", "COMMAND");
        while ((e = json_scan_next(a, al, &pos, &n))) {
                char comm[128], cmd[1024], b[3][32];
                static const char *const k[] = { "rss", "pss", "swap" };
                uint64_t pid = 0, v;
                size_t vl;
                const char *raw;
                (void)get_u64(e, n, "pid", &pid);
                raw = json_scan_find(e, n, "comm", &vl);
                json_scan_display(raw ? raw : "-", raw ? vl : 1, comm, sizeof(comm));
                raw = json_scan_find(e, n, "cmdline", &vl);
                json_scan_display(raw ? raw : "-", raw ? vl : 1, cmd, sizeof(cmd));
                for (size_t i = 0; i < 3; i++) {
                        if (get_u64(e, n, k[i], &v))
                                human(v, b[i], sizeof(b[i]));
                        else
                                strcpy(b[i], "-");
                }
                printf("  %8llu %-16s %10s %10s %10s  %s\n", (unsigned long long)pid, comm, b[0], b[1], b[2],
                       cmd);
        }
}

static int show(int dirfd, const char *name)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *r = malloc(REPORT_READ_MAX);
        size_t len = 0, sl;
        ssize_t n;
        const char *v;

        if (!r)
                return 1;
        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                fprintf(stderr, "memwardenctl: cannot open report '%s': %m\n", name);
                return 1;
        }
        while (len < REPORT_READ_MAX && (n = read(fd, r + len, REPORT_READ_MAX - len)) > 0)
                len += (size_t)n;
        if (ctl_json) {
                fwrite(r, 1, len, stdout);
                return 0;
        }
        printf("%-10s %s\n", "report", name);
        print_str(r, len, "ts", "time");
        print_str(r, len, "cgroup", "cgroup");
        print_str(r, len, "policy", "policy");
        printf("%-10s", "memory");
        print_bytes(r, len, "memory_current", "current");
        print_bytes(r, len, "memory_high", "high");
        print_bytes(r, len, "memory_max", "max");
        print_bytes(r, len, "memory_swap_current", "swap");
        printf("\n");
        if ((v = json_scan_find(r, len, "stat", &sl)))
                print_kinds(v, sl);
        if ((v = json_scan_find(r, len, "events", &sl))) {
                char d[512];
                json_scan_display(v, sl, d, sizeof(d));
                printf("%-10s %s\n", "events", d);
        }
        if ((v = json_scan_find(r, len, "pressure", &sl))) {
                char d[512];
                json_scan_display(v, sl, d, sizeof(d));
                printf("%-10s %s\n", "pressure", d);
        }
        print_children(r, len);
        print_processes(r, len);
        if ((v = json_scan_find(r, len, "truncated", &sl)) && sl == 4 && memcmp(v, "true", 4) == 0)
                printf("\n(cut short: more cgroups or processes than a report looks at)\n");
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line: the time from the name, policy and cgroup from the file's first
 * keys (the name's parts are ambiguous: '-' is in policy names too). */
static void list_one(int dirfd, const char *name)
{
        char head[16384], t[32] = "-", pol[256] = "-", cg[1024] = "-", b[32] = "-";
        _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        ssize_t len = fd >= 0 ? read(fd, head, sizeof(head)) : -1;
        struct stat st = {};
        const char *v;
        size_t n;

        if (len > 0 && (v = json_scan_find(head, (size_t)len, "policy", &n)))
                json_scan_display(v, n, pol, sizeof(pol));
        if (len > 0 && (v = json_scan_find(head, (size_t)len, "cgroup", &n)))
                json_scan_display(v, n, cg, sizeof(cg));
        if (fd >= 0 && fstat(fd, &st) == 0)
                human((uint64_t)st.st_size, b, sizeof(b));
        /* 20261201T143334.123456Z-... -> 2026-12-01 14:33:34 */
        if (strlen(name) > 15 && name[8] == 'T')
                snprintf(t, sizeof(t), "%.4s-%.2s-%.2s %.2s:%.2s:%.2s", name, name + 4, name + 6, name + 9,
                         name + 11, name + 13);
        if (ctl_json)
                printf("{\"name\":\"%s\",\"size\":%lld}\n", name, (long long)st.st_size);
        else
                printf("%-22s %-24s %10s  %-40s %s\n", t, pol, b, cg, name);
}

/* The file names, sorted (they start with their UTC time). */
static int list(int dirfd)
{
        DIR *d = fdopendir(dup(dirfd));
        char **names = calloc(REPORTS_LIST_MAX, sizeof(char *));
        size_t n = 0, skipped = 0;
        struct dirent *de;

        if (!d || !names) {
                if (d)
                        closedir(d);
                free(names);
                return 1;
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
                        continue;
                if (n == REPORTS_LIST_MAX || !(names[n] = strdup(de->d_name))) {
                        skipped++;
                        continue;
                }
                n++;
        }
        closedir(d);
        qsort(names, n, sizeof(char *), cmp_names);
        if (!ctl_json)
                printf("%-22s %-24s %10s  %-40s %s\n", "TIME", "POLICY", "SIZE", "CGROUP", "NAME");
        for (size_t i = 0; i < n; i++)
                list_one(dirfd, names[i]);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        if (skipped)
                fprintf(stderr, "memwardenctl: %zu more reports not listed\n", skipped);
        return 0;
}

int ctl_reports(const char *dir, const char *name)
{
        _cleanup_close_ int dirfd = -1;
        const char *slash;

        /* A path: its directory and its name. */
        if (name && (slash = strrchr(name, '/'))) {
                static char d[4096];
                snprintf(d, sizeof(d), "%.*s", (int)(slash - name), name);
                dir = d[0] ? d : "/";
                name = slash + 1;
        }
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                fprintf(stderr, "memwardenctl: cannot open the report directory '%s': %m\n", dir);
                return 1;
        }
        return name ? show(dirfd, name) : list(dirfd);
}
