/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the number, limit, size and duration parsers under every
 * reader and the policy loader, against a reference for the plain number. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: decimal digits only, at most 20, no overflow. */
static int reference_u64(const char *s, size_t len, uint64_t *ret)
{
        unsigned __int128 v = 0;

        if (len == 0 || len > 20)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        if (v > UINT64_MAX)
                return -ERANGE;
        *ret = (uint64_t)v;
        return 0;
}

static void units(int (*parse)(const char *, uint64_t *), const char *z)
{
        uint64_t v, d;
        size_t digits = strspn(z, "0123456789");

        /* A value is the leading number times a unit's factor. */
        if (parse(z, &v) == 0 && (reference_u64(z, digits, &d) < 0 || v < d || (d && v % d)))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        uint64_t a = 1, b = 2;
        int r, q;
        char *z;

        r = parse_u64_n(s, size, &a);
        q = reference_u64(s, size, &b);
        if (r != q || (r == 0 && a != b))
                __builtin_trap();
        /* A limit: a number or "max", trailing newlines and spaces ignored. */
        size_t n = size;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                n--;
        if (n == 3 && memcmp(s, "max", 3) == 0)
                q = 0, b = UINT64_MAX;
        else
                q = reference_u64(s, n, &b);
        r = parse_limit(s, size, &a);
        if (r != q || (r == 0 && a != b))
                __builtin_trap();

        z = malloc(size + 1);
        if (!z)
                return 0;
        memcpy(z, data, size);
        z[size] = '\0';
        units(parse_size, z);
        units(parse_duration, z);
        if (parse_u64(z, &a) == 0 && (reference_u64(z, strlen(z), &b) < 0 || a != b))
                __builtin_trap();
        free(z);
        return 0;
}
