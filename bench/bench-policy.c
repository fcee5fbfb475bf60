/* SPDX-License-Identifier: MIT */
/* bench-policy: cost of policies at scale.
 *   bench-policy N_POLICIES N_CGROUPS
 * Generates N_POLICIES node-admin and namespace policies (unit globs,
 * namespaces with pod globs, QoS), loads and validates them (parse, compile,
 * ambiguity check), then finds the applying policy for N_CGROUPS identities
 * (services and pods). Prints one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

static uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
        static PolicyErrors errors;
        unsigned n_pol, n_cg, matched = 0;
        PolicySet set = {};
        char text[1024], file[64];
        uint64_t t0, t_load, t_check, t_match;

        if (argc != 3) {
                fprintf(stderr, "usage: bench-policy N_POLICIES N_CGROUPS\n");
                return 2;
        }
        n_pol = (unsigned)strtoul(argv[1], NULL, 10);
        n_cg = (unsigned)strtoul(argv[2], NULL, 10);

        t0 = now_us();
        for (unsigned i = 0; i < n_pol; i++) {
                bool ns = i % 2;
                char match[64];
                if (ns)
                        snprintf(match, sizeof(match), "{pod: \"app-*\"}");
                else
                        snprintf(match, sizeof(match), "{unit: \"svc-%u-*.service\"}", i);
                snprintf(file, sizeof(file), "p%u.yaml", i);
                snprintf(text, sizeof(text),
                         "apiVersion: memwarden/v1\nkind: Policy\nmetadata: {name: p%u}\nspec:\n"
                         "  match: %s\n"
                         "  triggers:\n    any:\n      - memoryEvents: {counter: high, increase: 50, "
                         "window: 30s}\n"
                         "      - pressure: {type: some, above: 20%%, window: 10s}\n    for: 10s\n"
                         "  actions:\n    - type: notify\n    - {type: throttle, after: 30s, floor: 256Mi}\n"
                         "    - {type: kill, after: 5m, dryRun: true}\n",
                         i, match);
                char nsname[32];
                snprintf(nsname, sizeof(nsname), "ns%u", i);
                if (policy_load_buffer(&set, file, text, strlen(text), ns ? nsname : NULL, &errors) < 0) {
                        fprintf(stderr, "%s\n", errors.msg[0]);
                        return 1;
                }
        }
        t_load = now_us() - t0;
        t0 = now_us();
        if (policy_set_check_ambiguity(&set, &errors) < 0) {
                fprintf(stderr, "%s\n", errors.msg[0]);
                return 1;
        }
        t_check = now_us() - t0;

        t0 = now_us();
        for (unsigned i = 0; i < n_cg; i++) {
                char path[128], unit[64], ns[32], pod[32];
                CgroupIdentity id = { .qos = _QOS_INVALID };
                if (i % 2) {
                        snprintf(ns, sizeof(ns), "ns%u", (i * 7) % n_pol | 1);
                        snprintf(pod, sizeof(pod), "app-%u", i);
                        snprintf(path, sizeof(path), "/kubepods/burstable/pod%u", i);
                        id.namespace = ns;
                        id.pod = pod;
                        id.qos = QOS_BURSTABLE;
                } else {
                        snprintf(unit, sizeof(unit), "svc-%u-x.service", (i * 13) % n_pol & ~1u);
                        snprintf(path, sizeof(path), "/system.slice/%s", unit);
                        id.unit = unit;
                }
                id.path = path;
                matched += policy_set_lookup(&set, &id) >= 0;
        }
        t_match = now_us() - t0;
        printf("{\"policies\":%zu,\"load_us\":%llu,\"ambiguity_check_us\":%llu,\"cgroups\":%u,\"matched\":%"
               "u,"
               "\"match_all_us\":%llu,\"match_per_cgroup_us\":%.2f}\n",
               set.n, (unsigned long long)t_load, (unsigned long long)t_check, n_cg, matched,
               (unsigned long long)t_match, n_cg ? (double)t_match / n_cg : 0.0);
        policy_set_done(&set);
        return 0;
}
