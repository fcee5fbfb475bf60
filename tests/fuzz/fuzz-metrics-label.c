/* SPDX-License-Identifier: MIT */
/* libFuzzer target: Prometheus label values from arbitrary bytes (a
 * tenant's cgroup, pod or policy name). The value is valid UTF-8, holds no
 * control byte, no '"' or '\' unescaped, is at most METRICS_LABEL_VALUE_MAX
 * bytes unescaped; the input split in two at its first byte's place gives
 * two different values unless the halves are equal. A whole sample line
 * with it is one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t checked(const char *in, size_t len, char *out)
{
        size_t n = metrics_label_value(in, len, out, METRICS_LABEL_ESCAPED_MAX), raw = 0;

        if (n != strlen(out) || n >= METRICS_LABEL_ESCAPED_MAX)
                abort();
        for (size_t i = 0; i < n; i++, raw++) {
                unsigned char c = (unsigned char)out[i];
                if (c < 0x20 || c == 0x7f || c == '"')
                        abort();
                if (c == '\\' && (i + 1 >= n || (out[i + 1] != '\\' && out[i + 1] != '"')))
                        abort();
                if (c == '\\')
                        i++;
        }
        if (raw > METRICS_LABEL_VALUE_MAX)
                abort();
        for (size_t i = 0; i < n;) {
                uint32_t cp;
                size_t k = utf8_decode((const unsigned char *)out + i, n - i, &cp);
                if (k == 0)
                        abort();
                i += k;
        }
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char a[METRICS_LABEL_ESCAPED_MAX], b[METRICS_LABEL_ESCAPED_MAX], line[METRICS_LINE_MAX];
        const char *s = (const char *)data;
        size_t cut = size ? data[0] % (size + 1) : 0;
        MetricsWriter w;

        checked(s, size, a);
        checked(s, cut, a);
        checked(s + cut, size - cut, b);
        if ((cut != size - cut || memcmp(s, s + cut, cut) != 0) && strcmp(a, b) == 0)
                abort();
        metrics_init(&w, line, sizeof(line));
        metrics_begin(&w, "memwarden_x_total");
        metrics_label(&w, "cgroup", s, size);
        metrics_end_u64(&w, 1);
        if (!w.overflow && (w.len == 0 || memchr(line, '\n', w.len) != line + w.len - 1))
                abort();
        return 0;
}
