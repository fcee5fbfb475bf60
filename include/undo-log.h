/* SPDX-License-Identifier: MIT */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The undo file: every throttle and freeze memwarden applies, written down
 * before it is applied and taken out once given back, so that a daemon that
 * was SIGKILLed, killed by the watchdog or crashed gives it back at its next
 * start (and never takes a lowered memory.high for the original).
 *
 * The file is rewritten whole (a new file, fsync, rename, fsync of the
 * directory): it never holds half an update. It is read as hostile input
 * all the same (a full disk, a hand edit): a version line, then one entry
 * per line, every field checked; a bad line is skipped and counted, the
 * others still count. At most UNDO_THROTTLES_MAX throttles and
 * UNDO_FROZEN_MAX freezes (the executor's tables).
 *
 *   memwarden-undo 1
 *   T<TAB>u|c<TAB>original|max<TAB>real_usec<TAB>policy<TAB>unit|-<TAB>path
 *   F<TAB>u|c<TAB>-<TAB>real_usec<TAB>policy<TAB>unit|-<TAB>path
 *
 * u: done through the systemd unit, c: through the cgroup's files. Strings
 * are %XX-escaped outside 0x21..0x7e (and '%' itself); an empty one is "-". */

#define UNDO_THROTTLES_MAX 256
#define UNDO_FROZEN_MAX    64
#define UNDO_ENTRIES_MAX   (UNDO_THROTTLES_MAX + UNDO_FROZEN_MAX)
#define UNDO_LINE_MAX      16384 /* a line with every field at its longest, escaped */
#define UNDO_FILE_NAME     "state"
#define UNDO_HEADER        "memwarden-undo 1\n"

typedef enum UndoKind {
        UNDO_THROTTLE, /* memory.high lowered from original */
        UNDO_FREEZE,   /* frozen by us */
        _UNDO_KIND_MAX,
        _UNDO_KIND_INVALID = -22,
} UndoKind;

typedef struct UndoEntry {
        UndoKind kind;
        bool via_unit;
        uint64_t original;  /* throttle: memory.high before the first step, UINT64_MAX "max" */
        uint64_t real_usec; /* when it was applied, CLOCK_REALTIME */
        char policy[64];
        char unit[256]; /* via_unit only, "" otherwise */
        char path[PATH_MAX];
} UndoEntry;

const char *undo_kind_to_string(UndoKind k);

/* One line, with its '\n'. -EINVAL if the entry would not parse back (no
 * policy, a path that is not absolute and clean, a unit route without a
 * unit), -ENOBUFS if it does not fit. */
int undo_entry_format(const UndoEntry *e, char *buf, size_t size, size_t *ret_len);
/* One line without its '\n'. -EINVAL for anything but a well-formed entry. */
int undo_entry_parse(const char *line, size_t len, UndoEntry *ret);

/* Reading the file in dirfd: entry for each good line, bad for each line
 * skipped (its number from 1, and why: -EINVAL malformed, -E2BIG too long,
 * -ENODATA cut short (no '\n': a crash mid-write), -ENOSPC past the
 * maximum of its kind). scratch holds one line (UNDO_LINE_MAX + 1 bytes).
 * Returns the number of entries, 0 when there is no file, -EPROTO for an
 * unknown version (nothing read), -EFBIG for a file past any valid size,
 * or another -errno. */
typedef void (*UndoEntryFn)(const UndoEntry *e, void *userdata);
typedef void (*UndoBadFn)(unsigned line, int error, void *userdata);
int undo_log_read(int dirfd, const char *name, char *scratch, size_t scratch_size, UndoEntryFn entry,
                  UndoBadFn bad, void *userdata);

/* Write the file in dirfd anew from next (true with an entry in *ret, false
 * at the end): name.tmp, fsync, rename over name, fsync dirfd (not O_PATH).
 * scratch holds one line. Returns 0 or -errno (the old file is untouched then). */
typedef bool (*UndoNextFn)(void *userdata, UndoEntry *ret);
int undo_log_write(int dirfd, const char *name, UndoNextFn next, void *userdata, char *scratch,
                   size_t scratch_size);

/* ---- giving an entry back ---- */

typedef struct UndoStep {
        const char *file; /* the cgroup's file to write at once, NULL: none (cgroup v1) */
        char value[24];   /* what to write: the original limit, or "0" */
        bool unit_call;   /* also ask systemd: SetUnitProperties(MemoryHigh=original) or ThawUnit */
} UndoStep;

/* Raising memory.high never reclaims and cgroup.freeze 0 never waits, so
 * the file is written at once in every case (the limit is right before
 * systemd answers, and a first walk right after reads the original); the
 * unit call follows for entries done through systemd, whose runtime
 * property would otherwise outlive the cgroup. */
void undo_step_for(const UndoEntry *e, bool v1, UndoStep *ret);

/* Is the entry given back for good (out of the file) after its step:
 * file_error of the write (0, -errno, or 0 if there was none), unit_error
 * of the unit call (0 or -errno; ignored unless via_unit). It stays when
 * systemd could not be reached or did not answer (it is asked again at the
 * next start), or when the file could not be written for a reason other
 * than the cgroup being gone. */
bool undo_settled(const UndoEntry *e, int file_error, int unit_error);
