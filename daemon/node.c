/* SPDX-License-Identifier: MIT */
/* Node-wide sources: a PSI trigger on /proc/pressure/memory (event-driven,
 * armed whenever PSI is on), and MemAvailable from /proc/meminfo. The kernel
 * has no notification for MemAvailable, so it is read every second, and only
 * while some policy has a nodeAvailable trigger; a `node` record goes out
 * when it crosses one of those policies' watermarks (either way), not at
 * every sample. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "manager.h"

#define NODE_SAMPLE_USEC (1 * USEC_PER_SEC)

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
        node_feed(m, &n);
        return 0;
}

static int on_node_sample(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        NodeStats n = {};
        int crossed;

        (void)sd_event_source_set_time(s, usec + NODE_SAMPLE_USEC);
        if (node_read_meminfo(m->proc_fd, &n) < 0)
                return 0;
        (void)node_read_psi(m->proc_fd, &n);
        crossed = node_watermarks_update(&m->node_marks, n.mem_available);
        if (crossed != 0)
                node_emit(m, &n,
                          crossed < 0 ? "MemAvailable fell below a watermark"
                                      : "MemAvailable rose above a watermark");
        node_feed(m, &n);
        return 0;
}

/* After each policy load: sample MemAvailable only if some policy asks for it. */
void manager_node_policies_changed(Manager *m)
{
        node_watermarks_from_policies(&m->node_marks, &m->policies);
        if (m->node_marks.n_total == 0) {
                m->node_sample_timer = sd_event_source_disable_unref(m->node_sample_timer);
                return;
        }
        if (m->node_sample_timer || m->proc_fd < 0)
                return;
        if (sd_event_add_time_relative(m->event, &m->node_sample_timer, CLOCK_MONOTONIC, 0, 0,
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
        m->node_psi_fd = safe_close(m->node_psi_fd);
        m->proc_fd = safe_close(m->proc_fd);
}
