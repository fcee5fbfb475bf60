/* SPDX-License-Identifier: MIT */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "json.h"
#include "macro.h"
#include "parse.h"
#include "psi.h"

#define REPORT_DEPTH_MAX 16

typedef struct Walk {
        int proc_fd;
        long page_size;
        unsigned n_dirs, n_pids;
        bool truncated, timed_out;
        const ReportBound *bound;
        ReportProcess top[REPORT_TOP_PROCESSES];
        unsigned n_top;
        char procs[65536]; /* one cgroup.procs at a time */
} Walk;

/* Up to size-1 bytes of a file, NUL-terminated; *ret_full false if there was more. */
static int read_prefix(int dirfd, const char *file, char *buf, size_t size, size_t *ret_len, bool *ret_full)
{
        _cleanup_close_ int fd = -1;
        size_t len = 0;

        fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (len < size - 1) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret_len = len;
        if (ret_full) {
                char c;
                *ret_full = len < size - 1 || read(fd, &c, 1) <= 0;
        }
        return 0;
}

/* Scratch for one report at a time: the daemon builds them on one thread. */
static Walk walk_scratch;

/* Past the deadline? Asked between processes and between cgroups. */
static bool walk_late(Walk *w)
{
        const ReportBound *b = w->bound;
        uint64_t now;

        if (w->timed_out)
                return true;
        if (!b || !b->deadline_usec)
                return false;
        if (b->now_usec)
                now = b->now_usec(b->userdata);
        else {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                now = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
        }
        if (now < b->deadline_usec)
                return false;
        w->timed_out = w->truncated = true;
        return true;
}

static void top_insert(Walk *w, int pid, uint64_t rss)
{
        unsigned i;

        if (w->n_top == REPORT_TOP_PROCESSES && rss <= w->top[w->n_top - 1].rss)
                return;
        i = w->n_top < REPORT_TOP_PROCESSES ? w->n_top++ : w->n_top - 1;
        while (i > 0 && w->top[i - 1].rss < rss) {
                w->top[i] = w->top[i - 1];
                i--;
        }
        w->top[i] = (ReportProcess){ .pid = pid, .rss = rss, .pss = UINT64_MAX, .swap = UINT64_MAX };
}

static void scan_procs(Walk *w, int dirfd)
{
        size_t len;
        bool full;
        char path[64], statm[128];

        if (read_prefix(dirfd, "cgroup.procs", w->procs, sizeof(w->procs), &len, &full) < 0)
                return;
        if (!full) {
                /* More pids than fit: keep whole lines only. */
                w->truncated = true;
                while (len > 0 && w->procs[len - 1] != '\n')
                        len--;
        }
        for (char *p = w->procs, *end = w->procs + len; p < end;) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
                uint64_t pid, size_pages, rss_pages;
                size_t slen;

                if (parse_u64_n(p, n, &pid) >= 0 && pid > 0 && pid <= INT32_MAX) {
                        if (walk_late(w))
                                return;
                        if (w->n_pids >= REPORT_PIDS_MAX) {
                                w->truncated = true;
                                return;
                        }
                        w->n_pids++;
                        snprintf(path, sizeof(path), "%llu/statm", (unsigned long long)pid);
                        if (cg_read_file(w->proc_fd, path, statm, sizeof(statm), &slen) >= 0 &&
                            sscanf(statm, "%" SCNu64 " %" SCNu64, &size_pages, &rss_pages) == 2)
                                top_insert(w, (int)pid, rss_pages * (uint64_t)w->page_size);
                }
                p += n + 1;
        }
}

typedef struct SubtreeCtx {
        Walk *w;
        int dirfd;
        unsigned depth;
} SubtreeCtx;

static void walk_subtree(Walk *w, int dirfd, unsigned depth);

static int walk_child(const char *name, unsigned char type, void *userdata)
{
        SubtreeCtx *ctx = userdata;
        int fd;

        if (type != DT_DIR || name[0] == '.')
                return 0;
        if (walk_late(ctx->w))
                return 1;
        if (ctx->w->n_dirs >= REPORT_DIRS_MAX) {
                ctx->w->truncated = true;
                return 1;
        }
        ctx->w->n_dirs++;
        fd = openat(ctx->dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0; /* gone meanwhile */
        walk_subtree(ctx->w, fd, ctx->depth + 1);
        close(fd);
        return 0;
}

static void walk_subtree(Walk *w, int dirfd, unsigned depth)
{
        SubtreeCtx ctx = { .w = w, .dirfd = dirfd, .depth = depth };

        scan_procs(w, dirfd);
        if (depth >= REPORT_DEPTH_MAX) {
                w->truncated = true;
                return;
        }
        (void)dir_for_each(dirfd, walk_child, &ctx);
}

/* "key value" lines as one JSON object, numbers as numbers. */
static void put_flat_keyed(JsonWriter *j, const char *key, const char *buf, size_t len)
{
        json_key(j, key);
        json_object_open(j);
        for (const char *p = buf, *end = buf + len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
                const char *sp = memchr(p, ' ', n);
                uint64_t v;
                char k[64];

                if (sp && (size_t)(sp - p) < sizeof(k) &&
                    parse_u64_n(sp + 1, n - (size_t)(sp + 1 - p), &v) >= 0) {
                        memcpy(k, p, (size_t)(sp - p));
                        k[sp - p] = '\0';
                        json_key(j, k);
                        json_u64(j, v);
                }
                p += n + 1;
        }
        json_object_close(j);
}

typedef struct Child {
        char name[256];
        uint64_t current;
} Child;

typedef struct ChildrenCtx {
        int dirfd;
        Child top[REPORT_TOP_CHILDREN];
        unsigned n_top, n;
        Walk *w;
} ChildrenCtx;

static int rank_child(const char *name, unsigned char type, void *userdata)
{
        ChildrenCtx *ctx = userdata;
        char file[300];
        uint64_t cur;
        unsigned i;

        if (type != DT_DIR || name[0] == '.' || strlen(name) >= sizeof(ctx->top[0].name))
                return 0;
        if (walk_late(ctx->w))
                return 1;
        snprintf(file, sizeof(file), "%s/memory.current", name);
        if (cg_read_u64(ctx->dirfd, file, &cur) < 0) {
                /* cgroup v1 */
                snprintf(file, sizeof(file), "%s/memory.usage_in_bytes", name);
                if (cg_read_u64(ctx->dirfd, file, &cur) < 0)
                        return 0;
        }
        ctx->n++;
        if (ctx->n_top == REPORT_TOP_CHILDREN && cur <= ctx->top[ctx->n_top - 1].current)
                return 0;
        i = ctx->n_top < REPORT_TOP_CHILDREN ? ctx->n_top++ : ctx->n_top - 1;
        while (i > 0 && ctx->top[i - 1].current < cur) {
                ctx->top[i] = ctx->top[i - 1];
                i--;
        }
        snprintf(ctx->top[i].name, sizeof(ctx->top[i].name), "%s", name);
        ctx->top[i].current = cur;
        return 0;
}

static void put_children(JsonWriter *j, int dirfd, ReportSummary *sum, Walk *w)
{
        ChildrenCtx ctx = { .dirfd = dirfd, .w = w };
        Child *top = ctx.top;
        unsigned n, n_top;

        (void)dir_for_each(dirfd, rank_child, &ctx);
        n = ctx.n;
        n_top = ctx.n_top;
        sum->n_children = n;
        json_key(j, "children_total");
        json_u64(j, n);
        json_key(j, "children");
        json_array_open(j);
        for (unsigned i = 0; i < n_top; i++) {
                json_object_open(j);
                json_key(j, "name");
                json_string(j, top[i].name);
                json_key(j, "memory_current");
                json_u64(j, top[i].current);
                json_object_close(j);
        }
        json_array_close(j);
}

static void read_process_details(Walk *w, ReportProcess *p, char *cmdline, size_t cmd_size,
                                 size_t *ret_cmd_len)
{
        char path[64], buf[4096];
        size_t len;

        *ret_cmd_len = 0;
        snprintf(path, sizeof(path), "%d/comm", p->pid);
        if (read_prefix(w->proc_fd, path, p->comm, sizeof(p->comm), &len, NULL) >= 0) {
                while (len > 0 && p->comm[len - 1] == '\n')
                        len--;
                p->comm[len] = '\0';
        }
        snprintf(path, sizeof(path), "%d/cmdline", p->pid);
        if (read_prefix(w->proc_fd, path, cmdline, cmd_size, &len, NULL) >= 0) {
                while (len > 0 && cmdline[len - 1] == '\0')
                        len--;
                for (size_t i = 0; i < len; i++)
                        if (cmdline[i] == '\0')
                                cmdline[i] = ' ';
                *ret_cmd_len = len;
        }
        snprintf(path, sizeof(path), "%d/smaps_rollup", p->pid);
        if (read_prefix(w->proc_fd, path, buf, sizeof(buf), &len, NULL) >= 0) {
                const char *s;
                unsigned long long kb;
                if ((s = strstr(buf, "\nPss:")) && sscanf(s + 5, "%llu", &kb) == 1)
                        p->pss = (uint64_t)kb * 1024;
                if ((s = strstr(buf, "\nSwap:")) && sscanf(s + 6, "%llu", &kb) == 1)
                        p->swap = (uint64_t)kb * 1024;
        }
}

/* cgroup v2, then cgroup v1 (where the first two of each set are current and the limit). */
static void put_limits(JsonWriter *j, int dirfd, ReportSummary *sum)
{
        static const char *const limits[] = { "memory.current",
                                              "memory.high",
                                              "memory.max",
                                              "memory.swap.current",
                                              "memory.low",
                                              "memory.min",
                                              "memory.usage_in_bytes",
                                              "memory.limit_in_bytes",
                                              "memory.soft_limit_in_bytes",
                                              "memory.max_usage_in_bytes",
                                              "memory.memsw.usage_in_bytes",
                                              "memory.failcnt" };
        uint64_t v;

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                char key[32];
                if (cg_read_limit(dirfd, limits[i], &v) < 0)
                        continue;
                snprintf(key, sizeof(key), "%s", limits[i]);
                for (char *c = key; *c; c++)
                        if (*c == '.')
                                *c = '_';
                json_key(j, key);
                json_limit(j, v);
                if (i == 0 || i == 6)
                        sum->current = v;
        }
}

/* memory.stat, memory.events, oom_control (v1) and PSI. */
static void put_files(JsonWriter *j, int dirfd, ReportSummary *sum)
{
        char file[8192];
        MemoryStat ms;
        PsiStats psi;
        size_t len;

        if (cg_read_file(dirfd, "memory.stat", file, sizeof(file), &len) >= 0) {
                put_flat_keyed(j, "stat", file, len);
                if (memory_stat_parse(file, len, &ms) >= 0) {
                        sum->anon = ms.value[MEMSTAT_ANON];
                        sum->file = ms.value[MEMSTAT_FILE];
                        sum->kernel = ms.value[MEMSTAT_KERNEL];
                }
        }
        if (cg_read_file(dirfd, "memory.events", file, sizeof(file), &len) >= 0)
                put_flat_keyed(j, "events", file, len);
        if (cg_read_file(dirfd, "memory.oom_control", file, sizeof(file), &len) >= 0)
                put_flat_keyed(j, "oom_control", file, len);
        if (cg_read_file(dirfd, "memory.pressure", file, sizeof(file), &len) >= 0 &&
            psi_parse(file, len, &psi) >= 0) {
                json_key(j, "pressure");
                json_object_open(j);
                psi_line_format_json(j, "some", &psi.some);
                if (psi.has_full)
                        psi_line_format_json(j, "full", &psi.full);
                json_object_close(j);
        }
}

static void put_u64_or_null(JsonWriter *j, const char *key, uint64_t v)
{
        json_key(j, key);
        if (v == UINT64_MAX)
                json_null(j);
        else
                json_u64(j, v);
}

static void put_processes(JsonWriter *j, Walk *w, ReportSummary *sum)
{
        json_key(j, "processes_total");
        json_u64(j, w->n_pids);
        json_key(j, "truncated");
        json_bool(j, w->truncated);
        json_key(j, "timed_out");
        json_bool(j, w->timed_out);
        json_key(j, "processes");
        json_array_open(j);
        for (unsigned i = 0; i < w->n_top; i++) {
                ReportProcess *p = &w->top[i];
                char cmd[REPORT_CMDLINE_MAX];
                size_t cmd_len;

                cmd_len = 0;
                if (!walk_late(w))
                        read_process_details(w, p, cmd, sizeof(cmd), &cmd_len);
                json_object_open(j);
                json_key(j, "pid");
                json_u64(j, (uint64_t)p->pid);
                json_key(j, "comm");
                json_string(j, p->comm);
                json_key(j, "rss");
                json_u64(j, p->rss);
                put_u64_or_null(j, "pss", p->pss);
                put_u64_or_null(j, "swap", p->swap);
                json_key(j, "cmdline");
                json_string_n(j, cmd, cmd_len);
                json_object_close(j);
                if (i == 0)
                        sum->top = *p;
        }
        json_array_close(j);
}

int report_build(int root_fd, const char *rel, int proc_fd, const char *cgroup_path, const char *policy,
                 uint64_t real_usec, char *buf, size_t size, size_t *ret_len, ReportSummary *sum)
{
        return report_build_bounded(root_fd, rel, proc_fd, cgroup_path, policy, real_usec, NULL, buf, size,
                                    ret_len, sum);
}

int report_build_bounded(int root_fd, const char *rel, int proc_fd, const char *cgroup_path,
                         const char *policy, uint64_t real_usec, const ReportBound *bound, char *buf,
                         size_t size, size_t *ret_len, ReportSummary *sum)
{
        _cleanup_close_ int dirfd = -1;
        Walk *w = &walk_scratch;
        char ts[40];
        JsonWriter j;
        time_t t = (time_t)(real_usec / USEC_PER_SEC);
        struct tm tm;

        *sum = (ReportSummary){ 0 };
        dirfd = openat(root_fd, rel && rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return -errno;

        json_init(&j, buf, size);
        json_object_open(&j);
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_key(&j, "ts");
        json_string(&j, ts);
        json_key(&j, "cgroup");
        json_string(&j, cgroup_path);
        if (policy) {
                json_key(&j, "policy");
                json_string(&j, policy);
        }
        w->proc_fd = proc_fd;
        w->page_size = sysconf(_SC_PAGESIZE);
        w->n_dirs = w->n_pids = w->n_top = 0;
        w->truncated = w->timed_out = false;
        w->bound = bound;
        put_limits(&j, dirfd, sum);
        put_files(&j, dirfd, sum);
        put_children(&j, dirfd, sum, w);
        walk_subtree(w, dirfd, 0);
        put_processes(&j, w, sum);
        sum->n_processes = w->n_pids;
        sum->truncated = w->truncated;
        sum->timed_out = w->timed_out;
        json_object_close(&j);
        json_raw(&j, "\n", 1);
        if (j.overflow)
                return -ENOBUFS;
        *ret_len = j.len;
        return 0;
}

/* ---- file names and pruning ---- */

static bool name_safe(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '.';
}

/* s into buf at *k, every unsafe byte as '_', no two dots in a row, up to limit. */
static void name_put(char *buf, size_t *k, size_t limit, const char *s)
{
        for (; s && *s && *k < limit; s++) {
                char c = name_safe(*s) ? *s : '_';
                if (c == '.' && *k > 0 && buf[*k - 1] == '.')
                        c = '_';
                buf[(*k)++] = c;
        }
}

/* The source part of a name: "_admin_" (never a namespace: those are DNS
 * labels) or the namespace made safe, at most REPORT_SOURCE_MAX bytes. */
#define REPORT_SOURCE_MAX 63
#define REPORT_TIME_LEN   24 /* "20260101T120000.000123Z-" */
static void source_put(char *buf, size_t *k, size_t limit, const char *ns)
{
        size_t start = *k;

        if (!ns || !ns[0])
                ns = "_admin_";
        name_put(buf, k, start + REPORT_SOURCE_MAX < limit ? start + REPORT_SOURCE_MAX : limit, ns);
}

int report_file_name(const char *ns, const char *policy, const char *path, uint64_t real_usec, char *buf,
                     size_t size)
{
        time_t tt = (time_t)(real_usec / USEC_PER_SEC);
        struct tm tm;
        size_t k;
        int n;

        if (size < 40 + REPORT_SOURCE_MAX)
                return -ENOBUFS;
        if (size > REPORT_NAME_MAX)
                size = REPORT_NAME_MAX;
        /* Names sort by time: the oldest go first when the directory is full. */
        gmtime_r(&tt, &tm);
        k = strftime(buf, size, "%Y%m%dT%H%M%S", &tm);
        n = snprintf(buf + k, size - k, ".%06uZ-", (unsigned)(real_usec % USEC_PER_SEC));
        if (k == 0 || n < 0 || k + (size_t)n >= size)
                return -ENOBUFS;
        k += (size_t)n;
        /* '@' ends the source: name_put never writes one. */
        source_put(buf, &k, size - 8, ns);
        buf[k++] = '@';
        name_put(buf, &k, size - 7, policy);
        if (k < size - 7)
                buf[k++] = '-';
        name_put(buf, &k, size - 6, path);
        if (buf[k - 1] == '.')
                buf[k - 1] = '_'; /* no ".." before the suffix either */
        memcpy(buf + k, ".json", 6);
        return 0;
}

typedef struct PruneCtx {
        unsigned n;
        char source[REPORT_SOURCE_MAX + 1];
        char oldest[REPORT_NAME_MAX];
} PruneCtx;

/* Is name of source? A name without one (before sources) counts as the admin's. */
static bool name_of_source(const char *name, const char *source)
{
        const char *at = strlen(name) > REPORT_TIME_LEN ? strchr(name + REPORT_TIME_LEN, '@') : NULL;
        size_t n = strlen(source);

        if (!at)
                return strcmp(source, "_admin_") == 0;
        return (size_t)(at - name - REPORT_TIME_LEN) == n && strncmp(name + REPORT_TIME_LEN, source, n) == 0;
}

static int count_report(const char *name, unsigned char type, void *userdata)
{
        PruneCtx *ctx = userdata;
        size_t l = strlen(name);

        if (type != DT_REG || l < 6 || strcmp(name + l - 5, ".json") != 0 || l >= sizeof(ctx->oldest) ||
            !name_of_source(name, ctx->source))
                return 0;
        ctx->n++;
        /* Names start with the UTC time: the smallest is the oldest. */
        if (!ctx->oldest[0] || strcmp(name, ctx->oldest) < 0)
                memcpy(ctx->oldest, name, l + 1);
        return 0;
}

int report_prune(int dirfd, const char *ns, unsigned keep)
{
        _cleanup_close_ int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char source[REPORT_SOURCE_MAX + 1];
        size_t k = 0;
        int removed = 0;

        if (fd < 0)
                return -errno;
        source_put(source, &k, sizeof(source) - 1, ns);
        source[k] = '\0';
        /* At most 8 a time: a write adds one, a few more catch up after a smaller keep. */
        for (int round = 0; round < 8; round++) {
                PruneCtx ctx = { 0 };
                memcpy(ctx.source, source, k + 1);
                int r = dir_for_each(fd, count_report, &ctx);
                if (r < 0 && r != -ENOENT) /* -ENOENT: every entry seen */
                        return r;
                if (ctx.n <= keep || !ctx.oldest[0])
                        break;
                if (unlinkat(dirfd, ctx.oldest, 0) < 0)
                        return -errno;
                removed++;
        }
        return removed;
}
