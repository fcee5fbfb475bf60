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
        uint64_t avail = 0, total = 0, x;
        const char *p = buf, *k;
        size_t kl;
        int r;

        /* Lenient: lines of other shapes, which this does not need, are skipped.
         * The two fields are in kB: a bare number there is not taken as bytes. */
        while ((r = kv_next(&p, buf + len, KV_COLON | KV_KB | KV_KB_ONLY, &k, &kl, &x)) != 0) {
                if (r < 0)
                        continue;
                if (kv_key_is(k, kl, "MemAvailable")) {
                        avail = x;
                        have_avail = true;
                } else if (kv_key_is(k, kl, "MemTotal")) {
                        total = x;
                        have_total = true;
                }
        }
        if (!have_avail || !have_total)
                return -EINVAL;
        *ret_available = avail;
        *ret_total = total;
        return 0;
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

uint64_t node_headroom_usec(uint64_t headroom, uint64_t fill_rate, uint64_t min_usec, uint64_t max_usec)
{
        if (fill_rate == 0)
                fill_rate = NODE_FILL_RATE_DEFAULT;
        /* headroom / rate in usec without overflow: 2^64 bytes at 1 B/s is far past any max. */
        __uint128_t t = (__uint128_t)headroom * 1000000U / fill_rate;
        if (t > max_usec)
                return max_usec;
        return t < min_usec ? min_usec : (uint64_t)t;
}

/* The nearest watermark at or below avail: false if there is none. */
static bool nearest_below(const NodeWatermarks *w, uint64_t avail, uint64_t *ret)
{
        uint64_t nearest = 0;
        bool any = false;

        for (unsigned i = 0; i < w->n && i < NODE_WATERMARKS_MAX; i++)
                if (w->below_bytes[i] <= avail && (!any || w->below_bytes[i] > nearest)) {
                        nearest = w->below_bytes[i];
                        any = true;
                }
        *ret = nearest;
        return any;
}

uint64_t node_headroom(const NodeWatermarks *w, uint64_t avail)
{
        uint64_t nearest;

        return nearest_below(w, avail, &nearest) ? avail - nearest : 0;
}

uint64_t node_sample_interval(const NodeWatermarks *w, uint64_t avail, uint64_t fill_rate)
{
        uint64_t nearest;

        if (!nearest_below(w, avail, &nearest))
                return w->n > 0 ? NODE_SAMPLE_BELOW_USEC : NODE_SAMPLE_MAX_USEC;
        return node_headroom_usec(avail - nearest, fill_rate, NODE_SAMPLE_MIN_USEC, NODE_SAMPLE_MAX_USEC);
}

static int cpu_number(const char **p, const char *end, unsigned *ret)
{
        unsigned v = 0;
        const char *s = *p;

        if (s >= end || *s < '0' || *s > '9')
                return -EINVAL;
        for (; s < end && *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (unsigned)(*s - '0');
                if (v > 1U << 20)
                        return -EINVAL;
        }
        *p = s;
        *ret = v;
        return 0;
}

int node_cpulist_span(const char *buf, size_t len, unsigned *ret)
{
        const char *p = buf, *end = buf + len;
        unsigned top = 0;

        while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\0'))
                end--;
        if (p == end)
                return -EINVAL;
        for (;;) {
                unsigned lo, hi;
                if (cpu_number(&p, end, &lo) < 0)
                        return -EINVAL;
                hi = lo;
                if (p < end && *p == '-') {
                        p++;
                        if (cpu_number(&p, end, &hi) < 0 || hi < lo)
                                return -EINVAL;
                }
                if (hi > top)
                        top = hi;
                if (p == end)
                        break;
                if (*p != ',')
                        return -EINVAL;
                p++;
        }
        *ret = top + 1;
        return 0;
}

uint64_t node_guard_interval(const NodeWatermarks *w, uint64_t avail)
{
        return node_watermarks_mask(w, avail) != 0 ? NODE_SAMPLE_BELOW_USEC : NODE_SAMPLE_GUARD_USEC;
}

uint64_t node_alloc_budget(const NodeWatermarks *w, uint64_t avail, uint64_t page_size)
{
        uint64_t headroom = node_headroom(w, avail);

        if (page_size == 0 || headroom < NODE_ALLOC_MIN_HEADROOM)
                return 0;
        return headroom / 2 / page_size;
}

int node_alloc_split(uint64_t budget, const uint64_t *seen, size_t n, uint64_t *shares)
{
        __uint128_t total = 0;
        uint64_t floor_share;

        if (n == 0 || budget == 0)
                return -ERANGE;
        /* More than the budget counts as the budget: no overflow below. */
        for (size_t i = 0; i < n; i++)
                total += seen[i] > budget ? budget : seen[i];
        /* A quarter of the budget is spread evenly (so a CPU that was quiet is
         * not left with nothing), the rest by what each allocated. */
        floor_share = budget / 4 / n;
        for (size_t i = 0; i < n; i++) {
                uint64_t ate = seen[i] > budget ? budget : seen[i], share = budget / n;
                if (total > 0)
                        share = floor_share +
                                (uint64_t)((__uint128_t)(budget - floor_share * n) * ate / total);
                /* The CPU wakes the agent once its share is spent: the share - 1
                 * pages before that are what goes unseen. */
                shares[i] = 1 + share;
        }
        return 0;
}
