/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* s as valid UTF-8 into buf (always NUL-terminated, size >= 1): valid
 * sequences are copied, every byte of an invalid one (overlong, surrogate,
 * beyond U+10FFFF, truncated, stray continuation) becomes "\xNN", and a
 * sequence that does not fit whole is left out. D-Bus refuses a message with
 * an invalid string, and cgroup names are anybody's bytes. Returns the
 * length written. */
size_t utf8_escape(const char *s, char *buf, size_t size);
