/* SPDX-License-Identifier: MIT */
/* libFuzzer target: cgroup v1 memory.oom_control. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memcg-v1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        bool under_oom;
        uint64_t oom_kill;

        (void)memcg_v1_oom_control_parse((const char *)data, size, &under_oom, &oom_kill);
        return 0;
}
