/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reading the daemon's JSON lines in memwardenctl: no tree, no allocation,
 * every index bounded by len (the input may be cut anywhere). Values are
 * "raw": a pointer into the input and a length (strings with their quotes). */

/* The raw value of key at the top level of the object in s. NULL if absent
 * (or s is not an object). */
const char *json_scan_find(const char *s, size_t len, const char *key, size_t *ret_len);

/* The next element of the array in arr (raw, from '[' to ']'); *pos starts at
 * 0 and is advanced. NULL after the last one. */
const char *json_scan_next(const char *arr, size_t len, size_t *pos, size_t *ret_len);

/* A raw string value unescaped into out (NUL-terminated): \uDCxx (the
 * daemon's escape for a byte that is not UTF-8) gives that byte back.
 * Returns the length, or -EINVAL if v is not a string, -ENOBUFS if it does
 * not fit. */
ssize_t json_scan_string(const char *v, size_t len, char *out, size_t size);

/* A raw value made safe to print on a terminal: a string without its quotes
 * and with its escapes kept as they are (so no control character is ever
 * printed), C1 controls (U+0080..U+009F) written as \u00XX, anything else
 * below 0x20 as '?'. Cut to fit size (NUL-terminated). Returns the length. */
size_t json_scan_display(const char *v, size_t len, char *out, size_t size);

/* A raw number value as u64; false if it is not one. */
bool json_scan_u64(const char *v, size_t len, uint64_t *ret);
