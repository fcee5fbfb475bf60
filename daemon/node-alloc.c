/* SPDX-License-Identifier: MIT */
/* Per-CPU perf counters on kmem:mm_page_alloc (node-alloc.h). One counter
 * per online CPU and order class (tracepoint filters "order == 0", ...),
 * sampling: each overflows after its period and then writes a header-only
 * record into its CPU's ring buffer, which makes the buffer's fd readable.
 * The buffers are mapped read-only (the kernel overwrites, nothing to drain)
 * and the other classes' counters of a CPU write into the first one's
 * (PERF_EVENT_IOC_SET_OUTPUT): one 8 KiB buffer and one fd on the loop per
 * CPU. A new period takes DISABLE, PERIOD, RESET, ENABLE: PERIOD on a running
 * counter would make its next allocation overflow at once. All memory is
 * taken at open. */
#include "node-alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "log.h"
#include "node.h"
#include "parse.h"

#define NODE_ALLOC_MAX_CPUS 4096

struct NodeAlloc {
        unsigned n_cpus;
        size_t n; /* n_cpus * NODE_ALLOC_CLASSES */
        int *fds;
        uint64_t *weight, *seen, *periods;
        void **maps; /* per CPU */
        size_t map_len;
        sd_event_source **sources; /* per CPU */
        void (*on_wake)(void *userdata);
        void *userdata;
        bool armed;
        uint64_t budget, n_arms, n_wakes;
};

static const char *const tracefs_ids[] = {
        "/sys/kernel/tracing/events/kmem/mm_page_alloc/id",
        "/sys/kernel/debug/tracing/events/kmem/mm_page_alloc/id",
};

static int read_small(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        n = n < 0 ? -errno : n;
        safe_close(fd);
        if (n < 0)
                return (int)n;
        buf[n] = '\0';
        return (int)n;
}

static int tracepoint_id(uint64_t *ret)
{
        char buf[32];
        int r = -ENOENT;

        for (size_t i = 0; i < sizeof(tracefs_ids) / sizeof(tracefs_ids[0]); i++) {
                r = read_small(tracefs_ids[i], buf, sizeof(buf));
                if (r <= 0)
                        continue;
                buf[strcspn(buf, "\n")] = '\0';
                return parse_u64(buf, ret);
        }
        return r < 0 ? r : -ENOENT;
}

static int on_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        NodeAlloc *a = userdata;

        (void)s;
        (void)fd;
        if (revents & (EPOLLERR | EPOLLHUP)) {
                /* A counter gone (its CPU taken offline?): the timer takes over. */
                log_warning("A page allocation counter failed; MemAvailable is sampled on the timer.");
                node_alloc_disarm(a);
                for (unsigned c = 0; c < a->n_cpus; c++)
                        a->sources[c] = sd_event_source_disable_unref(a->sources[c]);
                a->n = 0;
                a->on_wake(a->userdata);
                return 0;
        }
        if (!a->armed)
                return 0; /* a buffer's flag from before the last stop */
        a->n_wakes++;
        a->on_wake(a->userdata);
        return 0;
}

NodeAlloc *node_alloc_close(NodeAlloc *a)
{
        if (!a)
                return NULL;
        for (unsigned c = 0; a->sources && c < a->n_cpus; c++)
                a->sources[c] = sd_event_source_disable_unref(a->sources[c]);
        for (unsigned c = 0; a->maps && c < a->n_cpus; c++)
                if (a->maps[c] && a->maps[c] != MAP_FAILED)
                        (void)munmap(a->maps[c], a->map_len);
        for (size_t i = 0; a->fds && i < (size_t)a->n_cpus * NODE_ALLOC_CLASSES; i++)
                safe_close(a->fds[i]);
        free(a->fds);
        free(a->weight);
        free(a->seen);
        free(a->periods);
        free(a->maps);
        free(a->sources);
        free(a);
        return NULL;
}

static int open_counter(uint64_t id, unsigned cpu, const char *filter)
{
        struct perf_event_attr attr = {
                .type = PERF_TYPE_TRACEPOINT,
                .size = sizeof(attr),
                .config = id,
                .sample_period = UINT64_C(1) << 62,
                .wakeup_events = 1,
                .disabled = 1,
        };
        int fd = (int)syscall(SYS_perf_event_open, &attr, -1, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

NodeAlloc *node_alloc_open(sd_event *event, void (*on_wake)(void *userdata), void *userdata,
                           const char **ret_why)
{
        static unsigned cpus[NODE_ALLOC_MAX_CPUS];
        char buf[4096];
        unsigned top = 10;
        uint64_t id;
        NodeAlloc *a = NULL;
        long page = sysconf(_SC_PAGESIZE);
        int n, r;

        *ret_why = NULL;
        r = tracepoint_id(&id);
        if (r < 0) {
                *ret_why = "no kmem:mm_page_alloc tracepoint (tracefs not mounted or not visible)";
                return NULL;
        }
        n = read_small("/sys/devices/system/cpu/online", buf, sizeof(buf));
        if (n <= 0 || (n = node_cpulist_parse(buf, (size_t)n, cpus, NODE_ALLOC_MAX_CPUS)) <= 0) {
                *ret_why = "the online CPUs are unknown (/sys/devices/system/cpu/online)";
                return NULL;
        }
        r = read_small("/proc/buddyinfo", buf, sizeof(buf));
        if (r <= 0 || node_buddyinfo_top_order(buf, (size_t)r, &top) < 0 || top < 10)
                top = top < 10 ? 10 : top;

        a = calloc(1, sizeof(*a));
        if (!a)
                goto oom;
        a->n_cpus = (unsigned)n;
        a->n = (size_t)n * NODE_ALLOC_CLASSES;
        a->map_len = 2 * (size_t)page;
        a->on_wake = on_wake;
        a->userdata = userdata;
        a->fds = malloc(a->n * sizeof(int));
        a->weight = calloc(a->n, sizeof(uint64_t));
        a->seen = calloc(a->n, sizeof(uint64_t));
        a->periods = calloc(a->n, sizeof(uint64_t));
        a->maps = calloc(a->n_cpus, sizeof(void *));
        a->sources = calloc(a->n_cpus, sizeof(sd_event_source *));
        if (!a->fds || !a->weight || !a->seen || !a->periods || !a->maps || !a->sources)
                goto oom;
        for (size_t i = 0; i < a->n; i++)
                a->fds[i] = -EBADF;

        for (unsigned c = 0; c < a->n_cpus; c++) {
                for (unsigned k = 0; k < NODE_ALLOC_CLASSES; k++) {
                        const NodeAllocClass *cls = node_alloc_class(k);
                        size_t i = (size_t)c * NODE_ALLOC_CLASSES + k;
                        unsigned order = k == NODE_ALLOC_CLASSES - 1 ? top : cls->max_order;

                        a->weight[i] = UINT64_C(1) << order;
                        a->fds[i] = open_counter(id, cpus[c], cls->filter);
                        if (a->fds[i] < 0) {
                                errno = -a->fds[i];
                                *ret_why =
                                        errno == EACCES || errno == EPERM
                                                ? "perf_event_open is not allowed (needs CAP_PERFMON, and "
                                                  "the seccomp filter to let it through)"
                                                : "perf_event_open failed on the tracepoint";
                                log_full_errno(LOG_DEBUG, a->fds[i],
                                               "perf_event_open(mm_page_alloc, cpu %u, %s): %m", cpus[c],
                                               cls->filter);
                                goto fail;
                        }
                        if (k == 0) {
                                a->maps[c] = mmap(NULL, a->map_len, PROT_READ, MAP_SHARED, a->fds[i], 0);
                                if (a->maps[c] == MAP_FAILED) {
                                        log_full_errno(LOG_DEBUG, -errno, "mmap of a perf buffer: %m");
                                        *ret_why = "the counters' ring buffers cannot be mapped "
                                                   "(perf_event_mlock_kb)";
                                        goto fail;
                                }
                        } else if (ioctl(a->fds[i], PERF_EVENT_IOC_SET_OUTPUT, a->fds[i - k]) < 0) {
                                *ret_why = "PERF_EVENT_IOC_SET_OUTPUT failed";
                                goto fail;
                        }
                }
                r = sd_event_add_io(event, &a->sources[c], a->fds[(size_t)c * NODE_ALLOC_CLASSES], EPOLLIN,
                                    on_ready, a);
                if (r < 0) {
                        *ret_why = "the counters cannot be watched on the loop";
                        goto fail;
                }
                (void)sd_event_source_set_description(a->sources[c], "node-alloc");
        }
        return a;
oom:
        *ret_why = "out of memory";
fail:
        return node_alloc_close(a);
}

void node_alloc_disarm(NodeAlloc *a)
{
        if (!a || !a->armed)
                return;
        for (size_t i = 0; i < a->n; i++)
                (void)ioctl(a->fds[i], PERF_EVENT_IOC_DISABLE, 0);
        a->armed = false;
        a->budget = 0;
}

int node_alloc_arm(NodeAlloc *a, uint64_t budget)
{
        if (!a || a->n == 0)
                return -ENODEV;
        /* What each counted since the last arm shapes the split. */
        for (size_t i = 0; i < a->n; i++) {
                uint64_t count = 0;
                a->seen[i] = a->armed && read(a->fds[i], &count, sizeof(count)) == (ssize_t)sizeof(count)
                                     ? count
                                     : 0;
        }
        if (node_alloc_split(budget, a->seen, a->weight, a->n, a->periods) < 0) {
                node_alloc_disarm(a);
                return -ERANGE;
        }
        for (size_t i = 0; i < a->n; i++)
                if (ioctl(a->fds[i], PERF_EVENT_IOC_DISABLE, 0) < 0 ||
                    ioctl(a->fds[i], PERF_EVENT_IOC_PERIOD, &a->periods[i]) < 0 ||
                    ioctl(a->fds[i], PERF_EVENT_IOC_RESET, 0) < 0 ||
                    ioctl(a->fds[i], PERF_EVENT_IOC_ENABLE, 0) < 0) {
                        int r = -errno;
                        a->armed = true;
                        node_alloc_disarm(a);
                        return r;
                }
        a->armed = true;
        a->budget = budget;
        a->n_arms++;
        return 0;
}

bool node_alloc_armed(const NodeAlloc *a)
{
        return a && a->armed;
}

void node_alloc_stats(const NodeAlloc *a, NodeAllocStats *ret)
{
        *ret = (NodeAllocStats){};
        if (!a)
                return;
        ret->n_cpus = a->n_cpus;
        ret->n_counters = (unsigned)a->n;
        ret->budget = a->armed ? a->budget : 0;
        ret->n_arms = a->n_arms;
        ret->n_wakes = a->n_wakes;
}
