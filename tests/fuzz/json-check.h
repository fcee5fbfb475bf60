/* SPDX-License-Identifier: MIT */
/* A strict checker of the JSON that the writer (src/json.c) makes, for the
 * hostile-input tests and the fuzz targets: RFC 8259 syntax, valid UTF-8, no
 * raw control byte, and string decoding with the \udcXX convention (a lone
 * U+DC80..U+DCFF is the byte 0x80..0xff), so a test can check that the bytes
 * it put in come back. No allocation; header-only so that each test links it
 * without the library knowing about it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

#define JSON_CHECK_DEPTH_MAX 32

typedef struct JsonCheck {
        const char *p, *end;
        const char *want_key; /* a top-level member whose string value to decode, or NULL */
        char *out;
        size_t out_size, out_len;
        bool found;
} JsonCheck;

static inline void jc_ws(JsonCheck *c)
{
        while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
                c->p++;
}

static inline int jc_hex4(const char *s, uint32_t *ret)
{
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
                char h = s[i];
                v <<= 4;
                if (h >= '0' && h <= '9')
                        v |= (uint32_t)(h - '0');
                else if (h >= 'a' && h <= 'f')
                        v |= (uint32_t)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F')
                        v |= (uint32_t)(h - 'A' + 10);
                else
                        return -1;
        }
        *ret = v;
        return 0;
}

static inline size_t jc_utf8_encode(uint32_t cp, char *b)
{
        if (cp < 0x80) {
                b[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                b[0] = (char)(0xc0 | (cp >> 6));
                b[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                b[0] = (char)(0xe0 | (cp >> 12));
                b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                b[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* One escape after the backslash: its bytes into b (at most 4). -1 if invalid. */
static inline int jc_escape(JsonCheck *c, char *b, size_t *n)
{
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        uint32_t cp, lo;
        const char *k;

        if (c->p >= c->end)
                return -1;
        if (*c->p != 'u') {
                if (!*c->p || !(k = strchr(from, *c->p)))
                        return -1;
                b[0] = to[k - from];
                *n = 1;
                c->p++;
                return 0;
        }
        if (c->end - c->p < 5 || jc_hex4(c->p + 1, &cp) < 0)
                return -1;
        c->p += 5;
        if (cp >= 0xdc80 && cp <= 0xdcff) { /* surrogateescape: one raw byte */
                b[0] = (char)(cp & 0xff);
                *n = 1;
                return 0;
        }
        if (cp >= 0xd800 && cp <= 0xdbff) { /* a pair */
                if (c->end - c->p < 6 || c->p[0] != '\\' || c->p[1] != 'u' || jc_hex4(c->p + 2, &lo) < 0 ||
                    lo < 0xdc00 || lo > 0xdfff)
                        return -1;
                c->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff)
                return -1;
        *n = jc_utf8_encode(cp, b);
        return 0;
}

/* A string at c->p (its opening quote); decoded into out if out is not NULL. */
static inline int jc_string(JsonCheck *c, char *out, size_t size, size_t *ret_len)
{
        size_t len = 0;

        if (c->p >= c->end || *c->p != '"')
                return -1;
        c->p++;
        while (c->p < c->end && *c->p != '"') {
                const unsigned char u = (unsigned char)*c->p;
                char b[4];
                size_t n;
                uint32_t cp;

                if (u < 0x20 || u == 0x7f)
                        return -1; /* a raw control byte */
                if (u == '\\') {
                        c->p++;
                        if (jc_escape(c, b, &n) < 0)
                                return -1;
                } else {
                        n = utf8_decode((const unsigned char *)c->p, (size_t)(c->end - c->p), &cp);
                        if (n == 0)
                                return -1; /* not UTF-8 */
                        memcpy(b, c->p, n);
                        c->p += n;
                }
                if (out) {
                        if (len + n > size)
                                return -1;
                        memcpy(out + len, b, n);
                }
                len += n;
        }
        if (c->p >= c->end)
                return -1;
        c->p++;
        if (ret_len)
                *ret_len = len;
        return 0;
}

static inline int jc_number(JsonCheck *c)
{
        const char *s = c->p;

        if (c->p < c->end && *c->p == '-')
                c->p++;
        if (c->p < c->end && *c->p == '0')
                c->p++;
        else if (c->p < c->end && *c->p >= '1' && *c->p <= '9')
                while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
                        c->p++;
        else
                return -1;
        if (c->p < c->end && *c->p == '.') {
                c->p++;
                if (c->p >= c->end || *c->p < '0' || *c->p > '9')
                        return -1;
                while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
                        c->p++;
        }
        if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
                c->p++;
                if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
                        c->p++;
                if (c->p >= c->end || *c->p < '0' || *c->p > '9')
                        return -1;
                while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
                        c->p++;
        }
        return c->p > s ? 0 : -1;
}

static inline int jc_value(JsonCheck *c, unsigned depth);

static inline int jc_container(JsonCheck *c, unsigned depth, char close)
{
        c->p++;
        jc_ws(c);
        if (c->p < c->end && *c->p == close) {
                c->p++;
                return 0;
        }
        for (;;) {
                if (close == '}') {
                        const char *key = c->p + 1;
                        size_t klen;
                        if (jc_string(c, NULL, 0, NULL) < 0)
                                return -1;
                        klen = (size_t)(c->p - 1 - key); /* as written: our keys need no escapes */
                        jc_ws(c);
                        if (c->p >= c->end || *c->p != ':')
                                return -1;
                        c->p++;
                        jc_ws(c);
                        if (depth == 1 && c->want_key && !c->found && strlen(c->want_key) == klen &&
                            memcmp(key, c->want_key, klen) == 0 && c->p < c->end && *c->p == '"') {
                                c->found = true;
                                if (jc_string(c, c->out, c->out_size, &c->out_len) < 0)
                                        return -1;
                        } else if (jc_value(c, depth) < 0)
                                return -1;
                } else if (jc_value(c, depth) < 0)
                        return -1;
                jc_ws(c);
                if (c->p < c->end && *c->p == ',') {
                        c->p++;
                        jc_ws(c);
                        continue;
                }
                if (c->p < c->end && *c->p == close) {
                        c->p++;
                        return 0;
                }
                return -1;
        }
}

static inline int jc_value(JsonCheck *c, unsigned depth)
{
        static const char *const lit[] = { "true", "false", "null" };

        if (c->p >= c->end || depth >= JSON_CHECK_DEPTH_MAX)
                return -1;
        if (*c->p == '{')
                return jc_container(c, depth + 1, '}');
        if (*c->p == '[')
                return jc_container(c, depth + 1, ']');
        if (*c->p == '"')
                return jc_string(c, NULL, 0, NULL);
        for (size_t i = 0; i < 3; i++) {
                size_t n = strlen(lit[i]);
                if ((size_t)(c->end - c->p) >= n && memcmp(c->p, lit[i], n) == 0) {
                        c->p += n;
                        return 0;
                }
        }
        return jc_number(c);
}

/* Whether s (len bytes) is exactly one JSON value (whitespace around it
 * allowed). With key, the string value of that top-level member is decoded
 * into out (*ret_len bytes); -1 as well if there is no such member. */
static inline int json_check(const char *s, size_t len, const char *key, char *out, size_t size,
                             size_t *ret_len)
{
        JsonCheck c = { .p = s, .end = s + len, .want_key = key, .out = out, .out_size = size };

        jc_ws(&c);
        if (jc_value(&c, 0) < 0)
                return -1;
        jc_ws(&c);
        if (c.p != c.end || (key && !c.found))
                return -1;
        if (ret_len)
                *ret_len = c.out_len;
        return 0;
}
