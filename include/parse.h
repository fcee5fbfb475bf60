/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict number parsing: the whole of [s, s+len) must be a decimal number
 * (no sign, no blanks, no trailing garbage). Returns 0 or -EINVAL/-ERANGE. */
int parse_u64_n(const char *s, size_t len, uint64_t *ret);
int parse_u64(const char *s, uint64_t *ret);

/* A cgroup limit: a decimal byte count or "max" (UINT64_MAX). Trailing
 * newline allowed. Returns 0, -EINVAL or -ERANGE. */
int parse_limit(const char *s, size_t len, uint64_t *ret);

/* Sizes with binary or decimal suffixes: "256Mi", "1G", "4096". Returns 0,
 * -EINVAL (no number, unknown suffix) or -ERANGE (past UINT64_MAX). */
int parse_size(const char *s, uint64_t *ret_bytes);

/* Durations: "10s", "250ms", "2m", "1500us". Returns 0, -EINVAL or -ERANGE. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* Iterate the lines of a buffer: sets line and len to the next line (without '\n').
 * Returns false at the end. *pos is the cursor, start it at 0. */
bool next_line(const char *buf, size_t size, size_t *pos, const char **line, size_t *len);

/* Split "key value" at the first run of blanks. Returns false if there is no value. */
bool split_key_value(const char *line, size_t len, const char **key, size_t *key_len, const char **value,
                     size_t *value_len);

/* The one reader of flat-keyed files: "key value" lines (memory.events,
 * memory.stat, cgroup.events, memory.oom_control; with KV_COLON | KV_KB
 * /proc/meminfo's "Key:   123 kB"). *p is the cursor, start it at the
 * buffer; end is one past its last byte. Blank lines are skipped. Returns 1
 * with the key (not NUL-terminated, without the colon) and the value (bytes
 * with KV_KB and a " kB" suffix), 0 at the end, or -EINVAL (no value, a value
 * that is not a decimal number, KV_COLON and no colon) / -ERANGE for a
 * malformed line: *p is past that line then, so a lenient caller may go on.
 * Sets its results only when it returns 1. */
enum {
        KV_COLON = 1 << 0,   /* the key ends in ':' */
        KV_KB = 1 << 1,      /* the value may end in " kB" */
        KV_KB_ONLY = 1 << 2, /* with KV_KB: it must (a bare number is malformed) */
};
int kv_next(const char **p, const char *end, unsigned flags, const char **ret_key, size_t *ret_key_len,
            uint64_t *ret_value);
/* Whether a key from kv_next() is name. */
bool kv_key_is(const char *key, size_t key_len, const char *name);
