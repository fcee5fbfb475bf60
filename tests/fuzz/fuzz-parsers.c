/* SPDX-License-Identifier: MIT */
/* libFuzzer target: every kernel-file parser and the JSON string escaper on
 * arbitrary bytes. The first byte picks the parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cgroup-read.h"
#include "json.h"
#include "memevents.h"
#include "psi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *text = (const char *)data + 1;
        size_t len = size - 1;

        if (size < 1)
                return 0;
        switch (data[0] % 5) {
        case 0: {
                MemEvents a = {}, b;
                MemEventsDelta d;
                if (memevents_parse(text, len, &b) == 0)
                        memevents_diff(&a, &b, &d);
                break;
        }
        case 1: {
                PsiStats st;
                (void)psi_parse(text, len, &st);
                break;
        }
        case 2: {
                CgroupEvents ev;
                (void)cgroup_events_parse(text, len, &ev);
                break;
        }
        case 3: {
                MemoryStat st;
                (void)memory_stat_parse(text, len, &st);
                break;
        }
        case 4: {
                char buf[256];
                JsonWriter w;
                json_init(&w, buf, sizeof(buf));
                json_string_n(&w, text, len);
                if (!w.overflow && strlen(buf) != w.len)
                        __builtin_trap();
                break;
        }
        }
        return 0;
}
