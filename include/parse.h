/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Strict number parsing: the whole of [s, s+len) must be a decimal number
 * (no sign, no blanks, no trailing garbage). Returns 0 or -EINVAL/-ERANGE. */
int parse_u64_n(const char *s, size_t len, uint64_t *ret);
int parse_u64(const char *s, uint64_t *ret);

/* A cgroup limit: a decimal byte count or "max" (UINT64_MAX). Trailing newline allowed. */
int parse_limit(const char *s, size_t len, uint64_t *ret);

/* Sizes with binary or decimal suffixes: "256Mi", "1G", "4096". */
int parse_size(const char *s, uint64_t *ret_bytes);

/* Durations: "10s", "250ms", "2m", "1500us". */
int parse_duration(const char *s, uint64_t *ret_usec);

/* Iterate the lines of a buffer: sets line and len to the next line (without '\n').
 * Returns false at the end. *pos is the cursor, start it at 0. */
bool next_line(const char *buf, size_t size, size_t *pos, const char **line, size_t *len);

/* Split "key value" at the first run of blanks. Returns false if there is no value. */
bool split_key_value(const char *line, size_t len, const char **key, size_t *key_len, const char **value,
                     size_t *value_len);
