/* SPDX-License-Identifier: MIT */
/* memwardenctl events [--follow]: the daemon's records over the status
 * socket (the recent ones, then with --follow each new one), filtered here
 * by cgroup, pod, policy and event, printed one line each or as JSON. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "json-scan.h"
#include "macro.h"

/* A top-level string of the line equal to want (unescaped); ns_key: also
 * match "NAMESPACE/NAME" against that key's value. */
static bool string_is(const char *line, size_t len, const char *key, const char *ns_key, const char *want)
{
        char v[4096], ns[256];
        size_t n;
        const char *raw = json_scan_find(line, len, key, &n);

        if (!raw || json_scan_string(raw, n, v, sizeof(v)) < 0)
                return false;
        if (strcmp(v, want) == 0)
                return true;
        raw = ns_key ? json_scan_find(line, len, ns_key, &n) : NULL;
        if (!raw || json_scan_string(raw, n, ns, sizeof(ns)) < 0)
                return false;
        size_t nl = strlen(ns);
        return strncmp(want, ns, nl) == 0 && want[nl] == '/' && strcmp(want + nl + 1, v) == 0;
}

static bool cgroup_under(const char *line, size_t len, const char *want)
{
        char v[4096];
        size_t n, wl = strlen(want);
        const char *raw = json_scan_find(line, len, "cgroup", &n);

        if (!raw || json_scan_string(raw, n, v, sizeof(v)) < 0)
                return false;
        while (wl > 1 && want[wl - 1] == '/')
                wl--;
        return strncmp(v, want, wl) == 0 && (v[wl] == '\0' || v[wl] == '/' || wl == 1);
}

static bool wanted(const CtlFilter *f, const char *line, size_t len)
{
        if (f->event && !string_is(line, len, "event", NULL, f->event))
                return false;
        if (f->cgroup && !cgroup_under(line, len, f->cgroup))
                return false;
        if (f->pod && !string_is(line, len, "pod", "namespace", f->pod))
                return false;
        if (f->policy && !string_is(line, len, "policy", "policy_namespace", f->policy))
                return false;
        return true;
}

static void field(const char *line, size_t len, const char *key, const char *label)
{
        char d[512];
        size_t n;
        const char *raw = json_scan_find(line, len, key, &n);

        if (!raw || (n == 4 && memcmp(raw, "null", 4) == 0))
                return;
        json_scan_display(raw, n, d, sizeof(d));
        printf(" %s=%s", label ? label : key, d);
}

/* TIME EVENT CGROUP key=value..., the keys that say what happened. */
static void print_line(const char *line, size_t len)
{
        static const char *const keys[] = { "namespace",
                                            "pod",
                                            "container",
                                            "unit",
                                            "policy",
                                            "phase",
                                            "action",
                                            "result",
                                            "via",
                                            "detail",
                                            "delta",
                                            "level",
                                            "old_memory_high",
                                            "new_memory_high",
                                            "memory_high",
                                            "memory_max",
                                            "report",
                                            "message",
                                            "count" };
        char ts[64] = "-", ev[64] = "-", cg[1024] = "-";
        size_t n;
        const char *raw;

        if ((raw = json_scan_find(line, len, "ts", &n)))
                json_scan_display(raw, n, ts, sizeof(ts));
        if ((raw = json_scan_find(line, len, "event", &n)))
                json_scan_display(raw, n, ev, sizeof(ev));
        if ((raw = json_scan_find(line, len, "cgroup", &n)))
                json_scan_display(raw, n, cg, sizeof(cg));
        /* 2026-12-01T14:33:34.123456Z -> 14:33:34.123 */
        printf("%.12s %-15s %s", strlen(ts) >= 23 ? ts + 11 : ts, ev, cg);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                field(line, len, keys[i], NULL);
        putchar('\n');
}

int ctl_events(const CtlFilter *f)
{
        FILE *s = ctl_request(f->follow ? "events follow" : "events");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        bool first = true;

        if (!s)
                return 1;
        setvbuf(stdout, NULL, f->follow ? _IOLBF : _IOFBF, 0);
        while ((n = getline(&line, &cap, s)) > 0) {
                if (first && strncmp(line, "{\"error\":", 9) == 0) {
                        fprintf(stderr, "memwardenctl: memwardend refused the request: %s", line);
                        free(line);
                        fclose(s);
                        return 1;
                }
                first = false;
                if (!wanted(f, line, (size_t)n) &&
                    !(strncmp(line, "{\"event\":\"events_lost\"", 22) == 0)) /* always said */
                        continue;
                if (ctl_json)
                        fputs(line, stdout);
                else
                        print_line(line, (size_t)n);
        }
        free(line);
        fclose(s);
        return 0;
}
