/* SPDX-License-Identifier: MIT */
/* Node-wide sources: a PSI trigger on /proc/pressure/memory (event-driven,
 * armed whenever PSI is on), and MemAvailable from /proc/meminfo. The kernel
 * has no notification for MemAvailable, so it is read only while some policy
 * has a nodeAvailable trigger, and then when the kernel's page allocation
 * counters (node-alloc.c) say that half the headroom to the nearest
 * watermark may have been allocated; near a watermark, and where the
 * counters cannot be had, at the interval src/node.c works out from the
 * headroom (node_sample_interval: 10 ms near one, up to 60 s with plenty).
 * At once as well on the node's PSI trigger and on a watched cgroup's high
 * or max events. A `node` record goes out when it crosses one of those
 * policies' watermarks (either way), not at every sample. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"

static void node_emit(Manager *m, const NodeStats *n, const char *why)
{
        Record r = record_init(RECORD_NODE);
        r.path = "/";
        r.node = n;
        r.message = why;

        r.mono_usec = now_usec(CLOCK_MONOTONIC);
        r.real_usec = now_usec(CLOCK_REALTIME);
        manager_dispatch(m, RECORD_ORIGIN_NODE, &r, NULL);
}

static void node_feed(Manager *m, const NodeStats *n)
{
        if (m->engine && m->scanned) {
                engine_node_update(m->engine, n, now_usec(CLOCK_MONOTONIC));
                manager_arm_engine_timer(m);
        }
}

/* MemAvailable again after half its headroom was allocated (the counters),
 * or after the interval the headroom allows, from now. */
static void node_rearm(Manager *m, uint64_t now, uint64_t avail)
{
        uint64_t budget = node_alloc_budget(&m->node_marks, avail, m->page_size), next;

        if (m->node_alloc && budget > 0 && node_alloc_arm(m->node_alloc, budget) == 0)
                next = now + node_guard_interval(&m->node_marks, avail);
        else {
                node_alloc_disarm(m->node_alloc);
                next = now + node_sample_interval(&m->node_marks, avail, m->cfg.fill_rate);
        }

        m->node_sample_next = next;
        (void)sd_event_source_set_time(m->node_sample_timer, next);
        (void)sd_event_source_set_enabled(m->node_sample_timer, SD_EVENT_ON);
}

/* A fresh MemAvailable (a sample, or the PSI trigger's read): crossings make a record. */
static void node_take(Manager *m, const NodeStats *n, uint64_t now)
{
        int crossed;

        m->n_node_samples++;
        m->node_sample_last = now;
        crossed = node_watermarks_update(&m->node_marks, n->mem_available);
        /* The counter first: what is allocated while the record goes out counts. */
        if (m->node_sample_timer)
                node_rearm(m, now, n->mem_available);
        if (crossed != 0)
                node_emit(m, n,
                          crossed < 0 ? "MemAvailable fell below a watermark"
                                      : "MemAvailable rose above a watermark");
}

static int on_node_psi(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        NodeStats n = {};

        if (revents & EPOLLERR) {
                log_warning("The node's PSI trigger failed; node pressure is no longer watched.");
                m->node_psi_source = sd_event_source_disable_unref(m->node_psi_source);
                m->node_psi_fd = safe_close(m->node_psi_fd);
                return 0;
        }
        m->n_node_psi_events++;
        (void)node_read_psi(m->proc_fd, &n);
        (void)node_read_meminfo(m->proc_fd, &n);
        node_emit(m, &n, "memory pressure on the node");
        /* The node stalls: what MemAvailable is now counts at once (the sampler
         * may have been asleep for seconds), and the next read is due from it. */
        if (n.has_mem && m->node_marks.n_total > 0)
                node_take(m, &n, now_usec(CLOCK_MONOTONIC));
        node_feed(m, &n);
        return 0;
}

static void node_sample(Manager *m)
{
        NodeStats n = {};
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (node_read_meminfo(m->proc_fd, &n) < 0) {
                /* Unreadable (out of fds?): try again a second later, not in a loop. */
                node_alloc_disarm(m->node_alloc);
                m->node_sample_next = now + NODE_SAMPLE_BELOW_USEC;
                (void)sd_event_source_set_time(m->node_sample_timer, m->node_sample_next);
                return;
        }
        (void)node_read_psi(m->proc_fd, &n);
        node_take(m, &n, now);
        node_feed(m, &n);
}

static int on_node_sample(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        node_sample(userdata);
        return 0;
}

/* MemAvailable at once, or NODE_SAMPLE_MIN_USEC after the last read if that
 * is later (a timer due now fires at the loop's next turn): however often
 * cgroups hit their limits or CPUs spend their allocation shares, a read
 * per 10 ms at most. False if it was due by then anyway. */
static bool node_read_soon(Manager *m)
{
        uint64_t soon;

        if (!m->node_sample_timer)
                return false;
        soon = m->node_sample_last + NODE_SAMPLE_MIN_USEC;
        if (soon >= m->node_sample_next)
                return false;
        m->node_sample_next = soon;
        (void)sd_event_source_set_time(m->node_sample_timer, soon);
        return true;
}

/* A CPU spent its share of the allocation budget: half the headroom may be
 * gone. The CPUs that spent theirs stay quiet until the read sets them again. */
static void on_node_alloc(void *userdata)
{
        (void)node_read_soon(userdata);
}

/* A watched cgroup hit its memory.high or memory.max: memory is short
 * somewhere, so MemAvailable is read soon. */
void manager_node_wake(Manager *m)
{
        if (node_read_soon(m))
                m->n_node_wakes++;
}

/* After each policy load: sample MemAvailable only if some policy asks for it. */
void manager_node_policies_changed(Manager *m)
{
        node_watermarks_from_policies(&m->node_marks, &m->policies);
        if (m->node_marks.n_total == 0) {
                node_alloc_disarm(m->node_alloc);
                m->node_sample_timer = sd_event_source_disable_unref(m->node_sample_timer);
                return;
        }
        if (m->node_sample_timer) {
                /* New watermarks: the interval set for the old ones may be far too long. */
                m->node_sample_next = now_usec(CLOCK_MONOTONIC);
                (void)sd_event_source_set_time(m->node_sample_timer, m->node_sample_next);
                return;
        }
        if (m->proc_fd < 0)
                return;
        /* Accuracy 0: sd-event would otherwise let a 10 ms timer slip by up to
         * its default 250 ms. The first sample at once. */
        m->node_sample_next = now_usec(CLOCK_MONOTONIC);
        if (sd_event_add_time(m->event, &m->node_sample_timer, CLOCK_MONOTONIC, m->node_sample_next, 1,
                              on_node_sample, m) < 0) {
                log_warning("Cannot arm the MemAvailable sampling timer; nodeAvailable will not hold.");
                return;
        }
        (void)sd_event_source_set_description(m->node_sample_timer, "node-memavailable");
        (void)sd_event_source_set_enabled(m->node_sample_timer, SD_EVENT_ON);
}

int manager_node_start(Manager *m)
{
        const WatcherConfig *wc = &m->cfg.watch;
        int r;

        m->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m->proc_fd < 0)
                return log_warning_errno(-errno, "Cannot open /proc; node-wide triggers are off: %m");
        /* The counter now, while start-up still has CAP_BPF and CAP_PERFMON;
         * every share stays 0 until a nodeAvailable policy arms it. */
        m->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
        m->node_alloc = node_alloc_open(m->event, on_node_alloc, m, &m->node_alloc_why);
        if (m->node_alloc) {
                NodeAllocStats st;
                node_alloc_stats(m->node_alloc, &st);
                log_debug("Page allocation counter: a BPF program on mm_page_alloc, %u CPUs.", st.n_cpus);
        } else
                log_info("No page allocation counter: %s. nodeAvailable triggers are sampled on a timer "
                         "(--fill-rate).",
                         m->node_alloc_why);
        if (!wc->psi)
                return 0;
        m->node_psi_fd = psi_trigger_open(AT_FDCWD, "/proc/pressure/memory", wc->psi_type,
                                          wc->psi_stall_usec, wc->psi_window_usec);
        if (m->node_psi_fd < 0) {
                log_warning_errno(m->node_psi_fd,
                                  "No PSI trigger on /proc/pressure/memory (%m); nodePressure "
                                  "will not hold.");
                return 0;
        }
        r = sd_event_add_io(m->event, &m->node_psi_source, m->node_psi_fd, EPOLLPRI, on_node_psi, m);
        if (r < 0)
                return log_warning_errno(r, "Cannot watch the node's PSI trigger: %m");
        (void)sd_event_source_set_description(m->node_psi_source, "node-psi");
        return 0;
}

void manager_node_stop(Manager *m)
{
        m->node_psi_source = sd_event_source_disable_unref(m->node_psi_source);
        m->node_sample_timer = sd_event_source_disable_unref(m->node_sample_timer);
        m->node_alloc = node_alloc_close(m->node_alloc);
        m->node_psi_fd = safe_close(m->node_psi_fd);
        m->proc_fd = safe_close(m->proc_fd);
}
