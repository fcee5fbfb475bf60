/* SPDX-License-Identifier: MIT */
/* libFuzzer target: /proc/self/mountinfo lines, read through a small line
 * buffer (so long lines arrive in pieces, as they can from the real file),
 * and the option lists found in them. The first byte sets the buffer size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t line_size;
        char *line;
        MountEntry m;
        FILE *f;

        if (size < 2)
                return 0;
        line_size = 2 + (size_t)data[0] * 4; /* 2 .. 1022 */
        line = malloc(line_size);
        f = fmemopen((void *)(data + 1), size - 1, "r");
        if (f && line)
                while (cg_mountinfo_next(f, line, line_size, &m) == 1) {
                        if (!m.mountpoint || !m.fstype || !m.superopts)
                                __builtin_trap();
                        if (strlen(m.mountpoint) >= line_size)
                                __builtin_trap();
                        (void)mount_has_option(m.superopts, "memory_localevents");
                        (void)mount_has_option(m.superopts, "");
                }
        if (f)
                fclose(f);
        free(line);
        return 0;
}
