/* SPDX-License-Identifier: MIT */
#include "json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void json_init(JsonWriter *w, char *buf, size_t size)
{
        *w = (JsonWriter){ .buf = buf, .size = size };
        w->first[0] = true;
        if (size > 0)
                buf[0] = '\0';
        else
                w->overflow = true;
}

void json_raw(JsonWriter *w, const char *s, size_t len)
{
        if (w->overflow)
                return;
        if (w->len + len + 1 > w->size) {
                w->overflow = true;
                return;
        }
        memcpy(w->buf + w->len, s, len);
        w->len += len;
        w->buf[w->len] = '\0';
}

static void put(JsonWriter *w, char c)
{
        json_raw(w, &c, 1);
}

/* Before any value: a comma if this is not the first element of its container. */
static void value_prefix(JsonWriter *w)
{
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (!w->first[w->depth])
                put(w, ',');
        w->first[w->depth] = false;
}

static void open_container(JsonWriter *w, char c)
{
        value_prefix(w);
        put(w, c);
        if (w->depth >= JSON_DEPTH_MAX) {
                w->overflow = true;
                return;
        }
        w->depth++;
        w->first[w->depth] = true;
}

static void close_container(JsonWriter *w, char c)
{
        if (w->depth == 0) {
                w->overflow = true;
                return;
        }
        w->depth--;
        put(w, c);
}

void json_object_open(JsonWriter *w)
{
        open_container(w, '{');
}

void json_object_close(JsonWriter *w)
{
        close_container(w, '}');
}

void json_array_open(JsonWriter *w)
{
        open_container(w, '[');
}

void json_array_close(JsonWriter *w)
{
        close_container(w, ']');
}

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret_cp)
{
        uint32_t cp, min;
        size_t n;

        if (len == 0)
                return 0;
        if (s[0] < 0x80) {
                *ret_cp = s[0];
                return 1;
        } else if ((s[0] & 0xe0) == 0xc0) {
                n = 2, cp = s[0] & 0x1f, min = 0x80;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3, cp = s[0] & 0x0f, min = 0x800;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4, cp = s[0] & 0x07, min = 0x10000;
        } else
                return 0;
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret_cp = cp;
        return n;
}

void json_escape(JsonWriter *w, const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *)s;
        char esc[8];

        for (size_t i = 0; i < len && !w->overflow;) {
                uint32_t cp;
                size_t n = utf8_decode(p + i, len - i, &cp);

                if (n == 0) {
                        snprintf(esc, sizeof(esc), "\\udc%02x", p[i]);
                        json_raw(w, esc, 6);
                        i++;
                        continue;
                }
                if (n > 1 && !(cp >= 0x80 && cp <= 0x9f)) {
                        json_raw(w, s + i, n);
                } else if (cp == '"' || cp == '\\') {
                        esc[0] = '\\', esc[1] = (char)cp;
                        json_raw(w, esc, 2);
                } else if (cp == '\n') {
                        json_raw(w, "\\n", 2);
                } else if (cp == '\t') {
                        json_raw(w, "\\t", 2);
                } else if (cp == '\r') {
                        json_raw(w, "\\r", 2);
                } else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
                        /* C1 controls too: readers that sanitize text (the D-Bus
                         * signal, utf8_sanitize) would otherwise rewrite them
                         * into escapes that are not JSON. */
                        snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
                        json_raw(w, esc, 6);
                } else
                        put(w, (char)cp);
                i += n;
        }
}

void json_key(JsonWriter *w, const char *key)
{
        value_prefix(w);
        put(w, '"');
        json_escape(w, key, strlen(key));
        json_raw(w, "\":", 2);
        w->after_key = true;
}

void json_string_n(JsonWriter *w, const char *s, size_t len)
{
        value_prefix(w);
        put(w, '"');
        json_escape(w, s, len);
        put(w, '"');
}

void json_string(JsonWriter *w, const char *s)
{
        if (!s) {
                json_null(w);
                return;
        }
        json_string_n(w, s, strlen(s));
}

void json_u64(JsonWriter *w, uint64_t v)
{
        char b[24];
        int n = snprintf(b, sizeof(b), "%" PRIu64, v);

        value_prefix(w);
        json_raw(w, b, (size_t)n);
}

void json_i64(JsonWriter *w, int64_t v)
{
        char b[24];
        int n = snprintf(b, sizeof(b), "%" PRId64, v);

        value_prefix(w);
        json_raw(w, b, (size_t)n);
}

void json_bool(JsonWriter *w, bool v)
{
        value_prefix(w);
        json_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null(JsonWriter *w)
{
        value_prefix(w);
        json_raw(w, "null", 4);
}

void json_fixed(JsonWriter *w, uint64_t v, unsigned decimals)
{
        uint64_t div = 1;
        char b[48];
        int n;

        for (unsigned i = 0; i < decimals && i < 9; i++)
                div *= 10;
        if (div == 1)
                n = snprintf(b, sizeof(b), "%" PRIu64, v);
        else
                n = snprintf(b, sizeof(b), "%" PRIu64 ".%0*" PRIu64, v / div, (int)decimals, v % div);
        value_prefix(w);
        json_raw(w, b, (size_t)n);
}

void json_limit(JsonWriter *w, uint64_t v)
{
        if (v == UINT64_MAX)
                json_string(w, "max");
        else
                json_u64(w, v);
}

size_t utf8_sanitize(const char *in, size_t len, char *out, size_t size)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)in;
        size_t o = 0;

        if (size == 0)
                return 0;
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = utf8_decode(p + i, len - i, &cp);
                bool escape = n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
                /* Invalid: one byte; a C1 control: its two bytes. */
                size_t take = n == 0 ? 1 : n, need = escape ? 4 * take : n;

                if (o + need >= size)
                        break;
                if (!escape)
                        memcpy(out + o, p + i, n);
                else
                        for (size_t k = 0; k < take; k++) {
                                out[o + 4 * k] = '\\';
                                out[o + 4 * k + 1] = 'x';
                                out[o + 4 * k + 2] = hex[p[i + k] >> 4];
                                out[o + 4 * k + 3] = hex[p[i + k] & 15];
                        }
                o += need;
                i += take;
        }
        out[o] = '\0';
        return o;
}
