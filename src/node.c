/* SPDX-License-Identifier: MIT */
#include "node.h"

#include <errno.h>
#include <string.h>

#include "cgroup-read.h"
#include "parse.h"

int meminfo_parse(const char *buf, size_t len, uint64_t *ret_available, uint64_t *ret_total)
{
        bool have_avail = false, have_total = false;
        uint64_t avail = 0, total = 0, x;
        const char *p = buf, *k;
        size_t kl;
        int r;

        /* Lenient: lines of other shapes, which this does not need, are skipped. */
        while ((r = kv_next(&p, buf + len, KV_COLON | KV_KB, &k, &kl, &x)) != 0) {
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
