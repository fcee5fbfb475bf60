/* SPDX-License-Identifier: MIT */
/* The hostile-name table every sink's test runs through: cgroup names, pod
 * directories and process names are written by tenants, so each output
 * (JSON records, status, journal fields, webhook bodies, exec stdin, report
 * file names, D-Bus strings) must take every row. Header-only: each test
 * binary gets its own copy. Rows hold raw bytes with their length (a NUL in
 * the middle is a row). */
#pragma once

#include <check.h>
#include <stddef.h>
#include <string.h>

#define HOSTILE_MAX 4096

typedef struct HostileName {
        const char *what;
        char bytes[HOSTILE_MAX];
        size_t len;
} HostileName;

static HostileName hostile_names[128];
static size_t n_hostile_names;

static void hostile_add(const char *what, const char *s, size_t len)
{
        ck_assert_uint_lt(n_hostile_names, sizeof(hostile_names) / sizeof(hostile_names[0]));
        ck_assert_uint_le(len, HOSTILE_MAX);
        hostile_names[n_hostile_names].what = what;
        memcpy(hostile_names[n_hostile_names].bytes, s, len);
        hostile_names[n_hostile_names].len = len;
        n_hostile_names++;
}

#define HOSTILE_ADD(what, lit) hostile_add(what, lit, sizeof(lit) - 1)

static void hostile_add_big(const char *what, const char *unit, size_t unit_len)
{
        char b[HOSTILE_MAX];
        size_t n = 0;

        while (n + unit_len <= HOSTILE_MAX) {
                memcpy(b + n, unit, unit_len);
                n += unit_len;
        }
        hostile_add(what, b, n);
}

static void hostile_make_names(void)
{
        if (n_hostile_names)
                return;
        HOSTILE_ADD("plain", "web.service");
        HOSTILE_ADD("quote", "a\"b\"");
        HOSTILE_ADD("backslash", "a\\b\\");
        HOSTILE_ADD("systemd escape", "system-systemd\\x2dfsck.slice");
        HOSTILE_ADD("newline", "a\nb\r\n");
        HOSTILE_ADD("journal field injection", "x\nPRIORITY=0\n_PID=1\nMESSAGE=y");
        HOSTILE_ADD("journal binary-form lookalike", "MESSAGE\n\x05\0\0\0\0\0\0\0hello\n");
        for (int c = 0x01; c <= 0x1f; c++) {
                char b[3] = { 'x', (char)c, 'y' };
                hostile_add("control", b, 3);
        }
        HOSTILE_ADD("DEL", "a\x7f");
        HOSTILE_ADD("C1 control U+0085", "a\xc2\x85");
        HOSTILE_ADD("lone continuation", "\x80");
        HOSTILE_ADD("lone continuations", "a\xbf\x80z");
        HOSTILE_ADD("overlong /", "\xc0\xaf");
        HOSTILE_ADD("overlong 3", "\xe0\x80\xaf");
        HOSTILE_ADD("overlong 4", "\xf0\x80\x80\xaf");
        HOSTILE_ADD("overlong NUL", "\xc0\x80");
        HOSTILE_ADD("high surrogate", "\xed\xa0\x80");
        HOSTILE_ADD("low surrogate", "\xed\xbf\xbf");
        HOSTILE_ADD("surrogate pair in CESU-8", "\xed\xa0\xbd\xed\xb8\x80");
        HOSTILE_ADD("> U+10FFFF", "\xf4\x90\x80\x80");
        HOSTILE_ADD("F7", "\xf7\xbf\xbf\xbf");
        HOSTILE_ADD("5-byte form", "\xf8\x88\x80\x80\x80");
        HOSTILE_ADD("FE FF", "\xfe\xff");
        HOSTILE_ADD("truncated 2", "a\xc3");
        HOSTILE_ADD("truncated 3", "\xe2\x82z");
        HOSTILE_ADD("truncated 4", "\xf0\x9f\x90");
        HOSTILE_ADD("valid 2-4 byte", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3");
        HOSTILE_ADD("U+2028", "a\xe2\x80\xa8");
        HOSTILE_ADD("BOM", "\xef\xbb\xbfx");
        HOSTILE_ADD("dot-dot", "../");
        HOSTILE_ADD("dot-dot path", "../../etc/passwd");
        HOSTILE_ADD("NUL in the middle", "a\0b");
        HOSTILE_ADD("only NUL", "\0");
        hostile_add_big("4 KiB plain", "a", 1);
        hostile_add_big("4 KiB quotes", "\"", 1);
        hostile_add_big("4 KiB invalid", "\xff", 1);
        hostile_add_big("4 KiB controls", "\x01", 1);
        hostile_add_big("4 KiB emoji", "\xf0\x9f\x90\xb3", 4);
        hostile_add_big("4 KiB mixed", "\\\"\n\x80\xc3\xa9/", 8);
}
