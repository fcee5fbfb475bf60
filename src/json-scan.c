/* SPDX-License-Identifier: MIT */
#include "json-scan.h"

#include <errno.h>
#include <string.h>

#include "json.h"

/* The index just past the string starting at s[i] == '"' (len if cut). */
static size_t skip_string(const char *s, size_t len, size_t i)
{
        for (i++; i < len; i++) {
                if (s[i] == '\\')
                        i++;
                else if (s[i] == '"')
                        return i + 1;
        }
        return len;
}

/* The index just past the value starting at s[i]. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
        unsigned depth = 0;

        while (i < len) {
                char ch = s[i];
                if (ch == '"') {
                        i = skip_string(s, len, i);
                        if (depth == 0)
                                return i;
                        continue;
                }
                if (ch == '{' || ch == '[')
                        depth++;
                else if (ch == '}' || ch == ']') {
                        if (depth == 0)
                                return i;
                        if (--depth == 0)
                                return i + 1;
                } else if (ch == ',' && depth == 0)
                        return i;
                i++;
        }
        return len;
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
                i++;
        return i;
}

const char *json_scan_find(const char *s, size_t len, const char *key, size_t *ret_len)
{
        size_t kl = strlen(key), i = skip_ws(s, len, 0);

        if (i >= len || s[i] != '{')
                return NULL;
        i++;
        for (;;) {
                size_t k0, k1, v0, v1;
                i = skip_ws(s, len, i);
                if (i >= len || s[i] != '"')
                        return NULL;
                k0 = i + 1;
                i = skip_string(s, len, i);
                k1 = i - 1;
                i = skip_ws(s, len, i);
                if (i >= len || s[i] != ':')
                        return NULL;
                v0 = skip_ws(s, len, i + 1);
                v1 = skip_value(s, len, v0);
                if (v1 <= v0)
                        return NULL;
                if (k1 >= k0 && k1 - k0 == kl && memcmp(s + k0, key, kl) == 0) {
                        while (v1 > v0 && (s[v1 - 1] == ' ' || s[v1 - 1] == '\n'))
                                v1--;
                        *ret_len = v1 - v0;
                        return s + v0;
                }
                i = skip_ws(s, len, v1);
                if (i >= len || s[i] != ',')
                        return NULL;
                i++;
        }
}

const char *json_scan_next(const char *arr, size_t len, size_t *pos, size_t *ret_len)
{
        size_t i = *pos, v0, v1;

        if (i == 0) {
                i = skip_ws(arr, len, 0);
                if (i >= len || arr[i] != '[')
                        return NULL;
                i++;
        } else {
                i = skip_ws(arr, len, i);
                if (i >= len || arr[i] != ',')
                        return NULL;
                i++;
        }
        v0 = skip_ws(arr, len, i);
        if (v0 >= len || arr[v0] == ']')
                return NULL;
        v1 = skip_value(arr, len, v0);
        if (v1 <= v0)
                return NULL;
        *pos = v1;
        *ret_len = v1 - v0;
        return arr + v0;
}

static int hex4(const char *s, uint32_t *ret)
{
        uint32_t v = 0;

        for (int i = 0; i < 4; i++) {
                char c = s[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t)(c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static size_t put_utf8(uint32_t cp, char *b)
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

/* One escape at v[i] == '\\': its bytes into b, its length in *adv. */
static int unescape_one(const char *v, size_t end, size_t i, char b[4], size_t *n, size_t *adv)
{
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        uint32_t cp, lo;
        const char *p;

        if (i + 1 >= end)
                return -EINVAL;
        if (v[i + 1] != 'u') {
                p = strchr(from, v[i + 1]);
                if (!p || !*p)
                        return -EINVAL;
                b[0] = to[p - from];
                *n = 1, *adv = 2;
                return 0;
        }
        if (i + 6 > end || hex4(v + i + 2, &cp) < 0)
                return -EINVAL;
        *adv = 6;
        if (cp >= 0xdc80 && cp <= 0xdcff) { /* surrogateescape: the raw byte */
                b[0] = (char)(cp - 0xdc00);
                *n = 1;
                return 0;
        }
        if (cp >= 0xd800 && cp <= 0xdbff && i + 12 <= end && v[i + 6] == '\\' && v[i + 7] == 'u' &&
            hex4(v + i + 8, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                *adv = 12;
        } else if (cp >= 0xd800 && cp <= 0xdfff)
                return -EINVAL;
        *n = put_utf8(cp, b);
        return 0;
}

ssize_t json_scan_string(const char *v, size_t len, char *out, size_t size)
{
        size_t o = 0, end;

        if (size == 0 || len < 2 || v[0] != '"' || v[len - 1] != '"')
                return -EINVAL;
        end = len - 1;
        for (size_t i = 1; i < end;) {
                char b[4];
                size_t n = 1, adv = 1;
                if (v[i] == '\\') {
                        if (unescape_one(v, end, i, b, &n, &adv) < 0)
                                return -EINVAL;
                } else
                        b[0] = v[i];
                if (o + n >= size)
                        return -ENOBUFS;
                memcpy(out + o, b, n);
                o += n;
                i += adv;
        }
        out[o] = '\0';
        return (ssize_t)o;
}

size_t json_scan_display(const char *v, size_t len, char *out, size_t size)
{
        size_t o = 0;

        if (size == 0)
                return 0;
        if (len >= 2 && v[0] == '"' && v[len - 1] == '"')
                v++, len -= 2;
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t k = utf8_decode((const unsigned char *)v + i, len - i, &cp);
                if (k == 0 || cp < 0x20 || cp == 0x7f) { /* not from our writer: never to the terminal */
                        if (o + 1 >= size)
                                break;
                        out[o++] = '?';
                        i += k ? k : 1;
                        continue;
                }
                if (cp >= 0x80 && cp <= 0x9f) {
                        if (o + 6 >= size)
                                break;
                        static const char hex[] = "0123456789abcdef";
                        memcpy(out + o, "\\u00", 4);
                        out[o + 4] = hex[cp >> 4];
                        out[o + 5] = hex[cp & 15];
                        o += 6;
                        i += k;
                        continue;
                }
                if (o + k >= size)
                        break;
                memcpy(out + o, v + i, k);
                o += k;
                i += k;
        }
        out[o] = '\0';
        return o;
}

bool json_scan_u64(const char *v, size_t len, uint64_t *ret)
{
        uint64_t x = 0;

        if (len == 0 || len > 20)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (v[i] < '0' || v[i] > '9')
                        return false;
                uint64_t d = (uint64_t)(v[i] - '0');
                if (x > (UINT64_MAX - d) / 10)
                        return false;
                x = x * 10 + d;
        }
        *ret = x;
        return true;
}
