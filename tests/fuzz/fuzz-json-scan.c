/* SPDX-License-Identifier: MIT */
/* libFuzzer target: memwardenctl's JSON reader (src/json-scan.c) on
 * arbitrary bytes, as a daemon line cut anywhere or a hostile report file
 * would give it: lookups of the keys the CLI asks for, arrays walked to
 * their end, strings unescaped and made displayable; what comes back lies
 * within the input and the display holds no control character. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *s, size_t len, const char *v, size_t n)
{
        if (v && (v < s || v + n > s + len || n == 0))
                abort();
}

static void value(const char *s, size_t len, const char *v, size_t n)
{
        static char out[8192];
        uint64_t u;
        ssize_t k;
        size_t d;

        inside(s, len, v, n);
        if (!v)
                return;
        k = json_scan_string(v, n, out, sizeof(out));
        if (k >= (ssize_t)sizeof(out))
                abort();
        d = json_scan_display(v, n, out, sizeof(out));
        if (d >= sizeof(out) || out[d] != '\0')
                abort();
        for (size_t i = 0; i < d; i++)
                if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
                        abort();
        (void)json_scan_u64(v, n, &u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const keys[] = { "event",    "cgroup",    "pod",  "policy",
                                            "children", "processes", "stat", "a" };
        const char *s = (const char *)data;

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                size_t n = 0, pos = 0, en;
                const char *v = json_scan_find(s, size, keys[i], &n), *e;
                value(s, size, v, n);
                if (!v)
                        continue;
                while ((e = json_scan_next(v, n, &pos, &en))) {
                        inside(v, n, e, en);
                        size_t nl = 0;
                        const char *name = json_scan_find(e, en, "name", &nl);
                        value(e, en, name, nl);
                }
        }
        size_t pos = 0, en;
        const char *e;
        while ((e = json_scan_next(s, size, &pos, &en)))
                inside(s, size, e, en);
        return 0;
}
