/* SPDX-License-Identifier: MIT */
#include "parse.h"

#include <errno.h>
#include <string.h>

int parse_u64_n(const char *s, size_t len, uint64_t *ret)
{
        uint64_t v = 0;

        if (!s || len == 0 || len > 20)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                uint64_t d = (uint64_t)(s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
        if (!s)
                return -EINVAL;
        return parse_u64_n(s, strlen(s), ret);
}

int parse_limit(const char *s, size_t len, uint64_t *ret)
{
        while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
                len--;
        if (len == 3 && memcmp(s, "max", 3) == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_u64_n(s, len, ret);
}

struct unit {
        const char *suffix;
        uint64_t factor;
};

static int parse_with_units(const char *s, const struct unit *units, size_t n_units, uint64_t *ret)
{
        size_t len, digits = 0;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        len = strlen(s);
        while (digits < len && s[digits] >= '0' && s[digits] <= '9')
                digits++;
        r = parse_u64_n(s, digits, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_units; i++) {
                if (strcmp(s + digits, units[i].suffix) != 0)
                        continue;
                if (units[i].factor != 0 && v > UINT64_MAX / units[i].factor)
                        return -ERANGE;
                *ret = v * units[i].factor;
                return 0;
        }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret_bytes)
{
        static const struct unit units[] = {
                { "", 1 },
                { "B", 1 },
                { "K", 1000ULL },
                { "Ki", 1ULL << 10 },
                { "M", 1000ULL * 1000 },
                { "Mi", 1ULL << 20 },
                { "G", 1000ULL * 1000 * 1000 },
                { "Gi", 1ULL << 30 },
                { "T", 1000ULL * 1000 * 1000 * 1000 },
                { "Ti", 1ULL << 40 },
        };
        return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), ret_bytes);
}

int parse_duration(const char *s, uint64_t *ret_usec)
{
        static const struct unit units[] = {
                { "us", 1 },
                { "ms", 1000ULL },
                { "s", 1000ULL * 1000 },
                { "m", 60ULL * 1000 * 1000 },
                { "h", 3600ULL * 1000 * 1000 },
        };
        return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), ret_usec);
}

bool next_line(const char *buf, size_t size, size_t *pos, const char **line, size_t *len)
{
        const char *nl;

        if (*pos >= size)
                return false;
        *line = buf + *pos;
        nl = memchr(*line, '\n', size - *pos);
        *len = nl ? (size_t)(nl - *line) : size - *pos;
        *pos += *len + (nl ? 1 : 0);
        return true;
}

bool split_key_value(const char *line, size_t len, const char **key, size_t *key_len, const char **value,
                     size_t *value_len)
{
        size_t i = 0, j;

        while (i < len && line[i] != ' ' && line[i] != '\t')
                i++;
        if (i == 0 || i == len)
                return false;
        j = i;
        while (j < len && (line[j] == ' ' || line[j] == '\t'))
                j++;
        if (j == len)
                return false;
        *key = line;
        *key_len = i;
        *value = line + j;
        *value_len = len - j;
        return true;
}

int kv_next(const char **p, const char *end, unsigned flags, const char **ret_key, size_t *ret_key_len,
            uint64_t *ret_value)
{
        const char *line, *k, *v;
        size_t n, kl, vl;
        uint64_t x;
        bool kb = false;
        int r;

        do {
                const char *nl;

                if (!*p || *p >= end)
                        return 0;
                line = *p;
                nl = memchr(line, '\n', (size_t)(end - line));
                n = nl ? (size_t)(nl - line) : (size_t)(end - line);
                *p = nl ? nl + 1 : end;
        } while (n == 0);
        if (!split_key_value(line, n, &k, &kl, &v, &vl))
                return -EINVAL;
        if (flags & KV_COLON) {
                if (kl < 2 || k[kl - 1] != ':')
                        return -EINVAL;
                kl--;
        }
        if ((flags & KV_KB) && vl > 3 && memcmp(v + vl - 3, " kB", 3) == 0) {
                vl -= 3;
                kb = true;
        } else if (flags & KV_KB_ONLY)
                return -EINVAL;
        r = parse_u64_n(v, vl, &x);
        if (r < 0)
                return r;
        if (kb) {
                if (x > UINT64_MAX / 1024)
                        return -ERANGE;
                x *= 1024;
        }
        *ret_key = k;
        *ret_key_len = kl;
        *ret_value = x;
        return 1;
}

bool kv_key_is(const char *key, size_t key_len, const char *name)
{
        return strlen(name) == key_len && memcmp(key, name, key_len) == 0;
}
