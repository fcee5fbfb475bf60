/* SPDX-License-Identifier: MIT */
#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the valid sequence at s, 0 if invalid. */
static size_t utf8_valid(const unsigned char *s)
{
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

size_t utf8_escape(const char *s, char *buf, size_t size)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t len = 0;

        if (size == 0)
                return 0;
        while (p && *p) {
                size_t n = utf8_valid(p);

                if (n == 0) {
                        if (len + 4 >= size)
                                break;
                        snprintf(buf + len, size - len, "\\x%02x", *p);
                        len += 4, p++;
                        continue;
                }
                if (len + n >= size)
                        break;
                memcpy(buf + len, p, n);
                len += n, p += n;
        }
        buf[len] = '\0';
        return len;
}
