/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the JSON writer's strings and utf8_sanitize() on any
 * bytes. The string must be valid JSON and valid UTF-8 and decode (with the
 * \udcXX convention) to the very bytes put in; the sanitized copy must be
 * valid UTF-8 without a control byte, within its buffer, cut only at a
 * character boundary. The first byte sets the sanitize buffer's size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json-check.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sanitized(const char *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
                if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
                        __builtin_trap();
                i += k;
        }
        if (s[n] != '\0')
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *in = (const char *)data + 1;
        size_t len = size - 1, n, m;
        char *buf, *back, *san, *full;
        JsonWriter w;

        if (size < 1 || size > 8192)
                return 0;
        /* Escaped, a byte takes at most 6: no overflow with this buffer. */
        buf = malloc(6 * len + 3);
        back = malloc(len + 1);
        san = malloc((size_t)data[0] + 1);
        full = malloc(4 * len + 1);
        if (!buf || !back || !san || !full)
                goto out;
        json_init(&w, buf, 6 * len + 3);
        json_string_n(&w, in, len);
        if (w.overflow || strlen(buf) != w.len)
                __builtin_trap();
        JsonCheck c = { .p = buf, .end = buf + w.len };
        if (jc_string(&c, back, len, &n) < 0 || c.p != c.end || n != len || memcmp(back, in, len) != 0)
                __builtin_trap();

        /* The whole copy fits 4 bytes a byte; a short buffer gets a prefix of it. */
        n = utf8_sanitize(in, len, full, 4 * len + 1);
        check_sanitized(full, n);
        m = utf8_sanitize(in, len, san, (size_t)data[0] + 1);
        if (m > data[0] || m > n || memcmp(san, full, m) != 0)
                __builtin_trap();
        check_sanitized(san, m);
out:
        free(buf);
        free(back);
        free(san);
        free(full);
        return 0;
}
