/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the undo file's line parser. Whatever parses must be
 * an entry that formats to one line and parses back to the same entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "undo-log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char buf[UNDO_LINE_MAX];
        static UndoEntry e, back;
        size_t len;

        if (undo_entry_parse((const char *)data, size, &e) < 0)
                return 0;
        if (undo_entry_format(&e, buf, sizeof(buf), &len) < 0 || memchr(buf, '\n', len - 1) ||
            undo_entry_parse(buf, len - 1, &back) < 0)
                __builtin_trap();
        if (back.kind != e.kind || back.via_unit != e.via_unit || back.real_usec != e.real_usec ||
            (e.kind == UNDO_THROTTLE && back.original != e.original) || strcmp(back.path, e.path) != 0 ||
            strcmp(back.unit, e.unit) != 0 || strcmp(back.policy, e.policy) != 0 || e.path[0] != '/' ||
            strstr(e.path, "/../") || strstr(e.path, "//"))
                __builtin_trap();
        return 0;
}
