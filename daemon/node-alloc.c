/* SPDX-License-Identifier: MIT */
/* The kernel's page allocations counted against a budget (node-alloc.h) by
 * a small BPF program on the mm_page_alloc raw tracepoint, assembled here
 * (some twenty instructions; no compiler, no libbpf, no tracefs):
 *
 *   left = &shares[smp_processor_id()];   pages this CPU may allocate
 *   if (*left <= 0) return;               stopped (0), or already told
 *   *left -= 1 << order;
 *   if (*left <= 0) ringbuf_output(&pages, FORCE_WAKEUP);
 *
 * The ring buffer's fd is readable once a CPU has spent its share: the loop
 * wakes, MemAvailable is read, and the shares are set again from the new
 * headroom (node_alloc_budget) split over the CPUs by what each allocated
 * last time (node_alloc_split). Exact in pages (an order-9 allocation
 * counts 512), one attach for all CPUs, a lookup per allocation.
 *
 * Everything needing bpf(2) happens at start-up, while the agent still has
 * CAP_BPF and CAP_PERFMON: the maps are made, the program loaded and
 * attached. Nothing after start-up depends on what bpf(2) lets a process
 * without CAP_BPF do (kernels and kernel.unprivileged_bpf_disabled
 * differ): the shares are an mmap()ed array (a
 * 64-byte slot per CPU, so CPUs do not share a cache line) and the ring
 * buffer is read from its mapping: no system call but reads and epoll. The
 * program stays attached; with every share 0 it returns at once. Kernels
 * before 5.8 (no ring buffer), or a sandbox without bpf(2), leave the agent
 * on its timer. Debian's kernels refuse perf_event_open without
 * CAP_SYS_ADMIN (kernel.perf_event_paranoid=3), which is why this is not a
 * perf counter. */
#include "node-alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-read.h"
#include "log.h"
#include "macro.h"
#include "node.h"

#define NODE_ALLOC_MAX_CPUS 4096
#define RINGBUF_SIZE        4096

#define SLOT 64 /* bytes per CPU in the shares array: a cache line */

struct NodeAlloc {
        unsigned n_cpus; /* the highest possible CPU + 1: the shares array's entries */
        int left_fd, ring_fd, prog_fd, link_fd;
        void *consumer, *producer;             /* the ring buffer's two mappings */
        void *shares;                          /* the shares array's mapping */
        size_t page, shares_len, ring_size;    /* the ring: a power of 2, a page at least */
        uint64_t *armed_left, *seen, *periods; /* n_cpus each */
        sd_event_source *source;
        void (*on_wake)(void *userdata);
        void *userdata;
        bool armed;
        uint64_t budget, n_arms, n_wakes;
};

static int sys_bpf(int cmd, union bpf_attr *attr)
{
        return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

#define INSN(c, d, s, o, i)                                                                                 \
        ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV64_REG(d, s)      INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, i)      INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ALU64_IMM(op, d, i)  INSN(BPF_ALU64 | (op) | BPF_K, d, 0, 0, i)
#define ALU64_REG(op, d, s)  INSN(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define LDX_DW(d, s, o)      INSN(BPF_LDX | BPF_DW | BPF_MEM, d, s, o, 0)
#define STX_DW(d, s, o)      INSN(BPF_STX | BPF_DW | BPF_MEM, d, s, o, 0)
#define STX_W(d, s, o)       INSN(BPF_STX | BPF_W | BPF_MEM, d, s, o, 0)
#define JMP_IMM(op, d, i, o) INSN(BPF_JMP | (op) | BPF_K, d, 0, o, i)
#define CALL(f)              INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()               INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define LD_MAP_FD(d, fd)     INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)

static int load_program(int left_fd, int ring_fd, char *log, size_t log_size)
{
        const struct bpf_insn prog[] = {
                /* r8 = 1 << (args[1] & 31): the allocation's pages (args: page, order, gfp, migratetype) */
                LDX_DW(BPF_REG_7, BPF_REG_1, 8),
                ALU64_IMM(BPF_AND, BPF_REG_7, 31),
                MOV64_IMM(BPF_REG_8, 1),
                ALU64_REG(BPF_LSH, BPF_REG_8, BPF_REG_7),
                /* r0 = &shares[this CPU] */
                CALL(BPF_FUNC_get_smp_processor_id),
                STX_W(BPF_REG_10, BPF_REG_0, -4),
                LD_MAP_FD(BPF_REG_1, left_fd),
                MOV64_REG(BPF_REG_2, BPF_REG_10),
                ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
                CALL(BPF_FUNC_map_lookup_elem),
                JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 13),
                /* stopped (0) or already told (< 0): nothing */
                LDX_DW(BPF_REG_1, BPF_REG_0, 0),
                JMP_IMM(BPF_JSLE, BPF_REG_1, 0, 11),
                ALU64_REG(BPF_SUB, BPF_REG_1, BPF_REG_8),
                STX_DW(BPF_REG_0, BPF_REG_1, 0),
                JMP_IMM(BPF_JSGT, BPF_REG_1, 0, 8),
                /* this CPU spent its share: wake the agent */
                STX_DW(BPF_REG_10, BPF_REG_8, -16),
                LD_MAP_FD(BPF_REG_1, ring_fd),
                MOV64_REG(BPF_REG_2, BPF_REG_10),
                ALU64_IMM(BPF_ADD, BPF_REG_2, -16),
                MOV64_IMM(BPF_REG_3, 8),
                MOV64_IMM(BPF_REG_4, BPF_RB_FORCE_WAKEUP),
                CALL(BPF_FUNC_ringbuf_output),
                MOV64_IMM(BPF_REG_0, 0),
                EXIT(),
        };
        union bpf_attr a = {};

        a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
        a.insns = (uint64_t)(uintptr_t)prog;
        a.insn_cnt = sizeof(prog) / sizeof(prog[0]);
        a.license = (uint64_t)(uintptr_t) "Dual MIT/GPL";
        if (log) {
                a.log_buf = (uint64_t)(uintptr_t)log;
                a.log_size = (uint32_t)log_size;
                a.log_level = 1;
        }
        memcpy(a.prog_name, "memwarden_alloc", sizeof("memwarden_alloc"));
        return sys_bpf(BPF_PROG_LOAD, &a);
}

/* The ring buffer's records are not needed (the wake is the message): skip them. */
static void drain(NodeAlloc *a)
{
        uint64_t prod = __atomic_load_n((uint64_t *)a->producer, __ATOMIC_ACQUIRE);
        __atomic_store_n((uint64_t *)a->consumer, prod, __ATOMIC_RELEASE);
}

static int on_ready(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        NodeAlloc *a = userdata;

        (void)s;
        (void)fd;
        drain(a);
        if (revents & (EPOLLERR | EPOLLHUP)) {
                log_warning("The page allocation counter failed; MemAvailable is sampled on the timer.");
                node_alloc_disarm(a);
                a->source = sd_event_source_disable_unref(a->source);
                a->prog_fd = safe_close(a->prog_fd); /* node_alloc_arm fails from now on */
                a->on_wake(a->userdata);
                return 0;
        }
        if (!a->armed)
                return 0; /* a record from before the last stop */
        a->n_wakes++;
        a->on_wake(a->userdata);
        return 0;
}

NodeAlloc *node_alloc_close(NodeAlloc *a)
{
        if (!a)
                return NULL;
        a->source = sd_event_source_disable_unref(a->source);
        if (a->consumer && a->consumer != MAP_FAILED)
                (void)munmap(a->consumer, a->page);
        if (a->producer && a->producer != MAP_FAILED)
                (void)munmap(a->producer, a->page + 2 * a->ring_size);
        if (a->shares && a->shares != MAP_FAILED)
                (void)munmap(a->shares, a->shares_len);
        safe_close(a->link_fd);
        safe_close(a->prog_fd);
        safe_close(a->ring_fd);
        safe_close(a->left_fd);
        free(a->armed_left);
        free(a->seen);
        free(a->periods);
        free(a);
        return NULL;
}

static int possible_cpus(unsigned *ret)
{
        char buf[4096];
        size_t len;
        int r = cg_read_file(AT_FDCWD, "/sys/devices/system/cpu/possible", buf, sizeof(buf), &len);

        if (r < 0)
                return r;
        r = node_cpulist_span(buf, len, ret);
        if (r < 0 || *ret > NODE_ALLOC_MAX_CPUS)
                return -EINVAL;
        return 0;
}

static int node_alloc_attach(NodeAlloc *a);

NodeAlloc *node_alloc_open(sd_event *event, void (*on_wake)(void *userdata), void *userdata,
                           const char **ret_why)
{
        static char log[8192];
        NodeAlloc *a;
        union bpf_attr m = {};
        int r;

        *ret_why = NULL;
        a = calloc(1, sizeof(*a));
        if (!a) {
                *ret_why = "out of memory";
                return NULL;
        }
        a->left_fd = a->ring_fd = a->prog_fd = a->link_fd = -EBADF;
        a->page = (size_t)sysconf(_SC_PAGESIZE);
        a->ring_size = a->page > RINGBUF_SIZE ? a->page : RINGBUF_SIZE;
        a->on_wake = on_wake;
        a->userdata = userdata;
        if (possible_cpus(&a->n_cpus) < 0) {
                *ret_why = "the possible CPUs are unknown (/sys/devices/system/cpu/possible)";
                goto fail;
        }
        a->armed_left = calloc(a->n_cpus, sizeof(uint64_t));
        a->seen = calloc(a->n_cpus, sizeof(uint64_t));
        a->periods = calloc(a->n_cpus, sizeof(uint64_t));
        if (!a->armed_left || !a->seen || !a->periods) {
                *ret_why = "out of memory";
                goto fail;
        }

        m.map_type = BPF_MAP_TYPE_ARRAY;
        m.key_size = 4;
        m.value_size = SLOT;
        m.max_entries = a->n_cpus;
        m.map_flags = BPF_F_MMAPABLE;
        memcpy(m.map_name, "mw_alloc_left", sizeof("mw_alloc_left"));
        a->left_fd = sys_bpf(BPF_MAP_CREATE, &m);
        if (a->left_fd < 0) {
                r = -errno;
                *ret_why = r == -EPERM || r == -EACCES
                                   ? "bpf(2) is not allowed (needs CAP_BPF and CAP_PERFMON, "
                                     "and the seccomp filter to let it through)"
                                   : "bpf(2) cannot make a map";
                log_full_errno(LOG_DEBUG, r, "BPF_MAP_CREATE array: %m");
                goto fail;
        }
        a->shares_len = ((size_t)a->n_cpus * SLOT + a->page - 1) / a->page * a->page;
        a->shares = mmap(NULL, a->shares_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->left_fd, 0);
        if (a->shares == MAP_FAILED) {
                log_full_errno(LOG_DEBUG, -errno, "mmap of the shares array: %m");
                *ret_why = "the BPF array cannot be mapped (Linux 5.5 or later)";
                goto fail;
        }
        m = (union bpf_attr){};
        m.map_type = BPF_MAP_TYPE_RINGBUF;
        m.max_entries = (uint32_t)a->ring_size;
        memcpy(m.map_name, "mw_alloc_wake", sizeof("mw_alloc_wake"));
        a->ring_fd = sys_bpf(BPF_MAP_CREATE, &m);
        if (a->ring_fd < 0) {
                log_full_errno(LOG_DEBUG, -errno, "BPF_MAP_CREATE ringbuf: %m");
                *ret_why = "no BPF ring buffer (Linux 5.8 or later)";
                goto fail;
        }
        a->consumer = mmap(NULL, a->page, PROT_READ | PROT_WRITE, MAP_SHARED, a->ring_fd, 0);
        a->producer =
                mmap(NULL, a->page + 2 * a->ring_size, PROT_READ, MAP_SHARED, a->ring_fd, (off_t)a->page);
        if (a->consumer == MAP_FAILED || a->producer == MAP_FAILED) {
                log_full_errno(LOG_DEBUG, -errno, "mmap of the BPF ring buffer: %m");
                *ret_why = "the BPF ring buffer cannot be mapped";
                goto fail;
        }
        a->prog_fd = load_program(a->left_fd, a->ring_fd, NULL, 0);
        if (a->prog_fd < 0) {
                r = -errno;
                /* Again with the verifier's log, for the debug message. */
                safe_close(load_program(a->left_fd, a->ring_fd, log, sizeof(log)));
                log_full_errno(LOG_DEBUG, r, "BPF_PROG_LOAD: %m: %s", log);
                *ret_why = r == -EPERM || r == -EACCES
                                   ? "loading a BPF tracing program is not allowed (needs "
                                     "CAP_BPF and CAP_PERFMON)"
                                   : "the kernel refused the BPF program";
                goto fail;
        }
        r = sd_event_add_io(event, &a->source, a->ring_fd, EPOLLIN, on_ready, a);
        if (r < 0) {
                *ret_why = "the counter cannot be watched on the loop";
                goto fail;
        }
        (void)sd_event_source_set_description(a->source, "node-alloc");
        /* Attached for good, so that nothing later needs bpf(2). With every
         * share 0 the program returns at once. */
        if (node_alloc_attach(a) < 0) {
                *ret_why = "no mm_page_alloc raw tracepoint";
                goto fail;
        }
        return a;
fail:
        return node_alloc_close(a);
}

static int node_alloc_attach(NodeAlloc *a)
{
        union bpf_attr t = {};

        t.raw_tracepoint.name = (uint64_t)(uintptr_t) "mm_page_alloc";
        t.raw_tracepoint.prog_fd = (uint32_t)a->prog_fd;
        a->link_fd = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &t);
        if (a->link_fd < 0) {
                int r = -errno;
                log_full_errno(LOG_DEBUG, r, "BPF_RAW_TRACEPOINT_OPEN mm_page_alloc: %m");
                a->link_fd = -EBADF;
                return r;
        }
        return 0;
}

static volatile int64_t *slot(NodeAlloc *a, unsigned c)
{
        return (volatile int64_t *)((char *)a->shares + (size_t)c * SLOT);
}

static void write_left(NodeAlloc *a, const uint64_t *values)
{
        for (unsigned c = 0; c < a->n_cpus; c++)
                __atomic_store_n(slot(a, c), (int64_t)values[c], __ATOMIC_RELAXED);
}

void node_alloc_disarm(NodeAlloc *a)
{
        if (!a || !a->armed)
                return;
        memset(a->periods, 0, a->n_cpus * sizeof(uint64_t));
        write_left(a, a->periods);
        a->armed = false;
        a->budget = 0;
}

int node_alloc_arm(NodeAlloc *a, uint64_t budget)
{
        int r;

        if (!a || a->prog_fd < 0)
                return -ENODEV;
        /* What each CPU allocated since the last arm shapes the split. */
        for (unsigned c = 0; c < a->n_cpus; c++) {
                int64_t left = __atomic_load_n(slot(a, c), __ATOMIC_RELAXED);
                a->seen[c] = a->armed && left < (int64_t)a->armed_left[c]
                                     ? (uint64_t)((int64_t)a->armed_left[c] - left)
                                     : 0;
        }
        r = node_alloc_split(budget, a->seen, a->n_cpus, a->periods);
        if (r < 0) {
                node_alloc_disarm(a);
                return r;
        }
        /* A CPU wakes the agent once it spent its share: the pages unseen
         * before that are fewer than the share (periods[c] - 1 each). */
        write_left(a, a->periods);
        memcpy(a->armed_left, a->periods, a->n_cpus * sizeof(uint64_t));
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
        ret->attached = a->link_fd >= 0 && a->prog_fd >= 0;
        ret->budget = a->armed ? a->budget : 0;
        ret->n_arms = a->n_arms;
        ret->n_wakes = a->n_wakes;
}
