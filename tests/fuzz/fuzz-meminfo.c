/* SPDX-License-Identifier: MIT */
/* libFuzzer target: /proc/meminfo (MemAvailable and MemTotal). */
#include <stddef.h>
#include <stdint.h>

#include "node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint64_t avail, total;

        /* Bytes from whole kB (a value without " kB" is not taken). */
        if (meminfo_parse((const char *)data, size, &avail, &total) == 0 && (avail % 1024 || total % 1024))
                __builtin_trap();
        return 0;
}
