/* SPDX-License-Identifier: MIT */
#include "node.h"

#include <errno.h>
#include <string.h>

#include "cgroup-read.h"
#include "parse.h"
#include "policy.h"

int meminfo_parse(const char *buf, size_t len, uint64_t *ret_available, uint64_t *ret_total)
{
        bool have_avail = false, have_total = false;
        size_t pos = 0, n;
        const char *line;

        while (next_line(buf, len, &pos, &line, &n)) {
                const char *colon = memchr(line, ':', n);
                uint64_t kb;
                size_t k;

                if (!colon)
                        continue;
                k = (size_t)(colon - line);
                const char *v = colon + 1, *end = line + n;
                while (v < end && *v == ' ')
                        v++;
                const char *num = v;
                while (v < end && *v >= '0' && *v <= '9')
                        v++;
                if (v == num || parse_u64_n(num, (size_t)(v - num), &kb) < 0 || kb > UINT64_MAX / 1024)
                        continue;
                if (k == 12 && memcmp(line, "MemAvailable", 12) == 0) {
                        *ret_available = kb * 1024;
                        have_avail = true;
                } else if (k == 8 && memcmp(line, "MemTotal", 8) == 0) {
                        *ret_total = kb * 1024;
                        have_total = true;
                }
        }
        return have_avail && have_total ? 0 : -EINVAL;
}

int node_read_meminfo(int proc_fd, NodeStats *n)
{
        char buf[8192];
        size_t len;
        int r;

        r = cg_read_file(proc_fd, "meminfo", buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        r = meminfo_parse(buf, len, &n->mem_available, &n->mem_total);
        n->has_mem = r >= 0;
        return r;
}

int node_read_psi(int proc_fd, NodeStats *n)
{
        char buf[512];
        size_t len;
        int r;

        r = cg_read_file(proc_fd, "pressure/memory", buf, sizeof(buf), &len);
        if (r < 0)
                return r;
        r = psi_parse(buf, len, &n->psi);
        n->has_psi = r >= 0;
        return r;
}

uint32_t node_watermarks_mask(const NodeWatermarks *w, uint64_t avail)
{
        uint32_t mask = 0;

        for (unsigned i = 0; i < w->n && i < NODE_WATERMARKS_MAX; i++)
                if (avail < w->below_bytes[i])
                        mask |= 1U << i;
        return mask;
}

void node_watermarks_from_policies(NodeWatermarks *w, const PolicySet *set)
{
        w->n = w->n_total = 0;
        for (size_t i = 0; i < set->n; i++)
                for (size_t k = 0; k < set->policies[i].n_triggers; k++) {
                        const Trigger *t = &set->policies[i].triggers[k];
                        if (t->type != TRIGGER_NODE_AVAILABLE)
                                continue;
                        if (w->n < NODE_WATERMARKS_MAX)
                                w->below_bytes[w->n++] = t->below_bytes;
                        w->n_total++;
                }
}

int node_watermarks_update(NodeWatermarks *w, uint64_t avail)
{
        uint32_t mask = node_watermarks_mask(w, avail), old = w->mask;

        if (mask == old)
                return 0;
        w->mask = mask;
        /* One value against thresholds: a fall only sets bits, a rise only
         * clears them (a reload may do both; more bits is a fall). */
        return __builtin_popcount(mask) >= __builtin_popcount(old) ? -1 : 1;
}
