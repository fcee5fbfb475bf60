/* SPDX-License-Identifier: MIT */
/* The status socket's request decoder (include/status-proto.h): bounded,
 * in whatever pieces the reads give, nothing trusted. */
#include "status-proto.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void status_decoder_init(StatusDecoder *d)
{
        d->len = 0;
        d->done = 0;
}

static bool has_control(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return true;
        return false;
}

int status_request_parse(const char *line, size_t len, StatusRequest *ret)
{
        if (len > 0 && line[len - 1] == '\r')
                len--;
        if (has_control(line, len))
                return -EINVAL;
        if (len == 6 && memcmp(line, "status", 6) == 0) {
                ret->type = STATUS_REQUEST_STATUS;
                ret->filter[0] = '\0';
                ret->follow = 0;
                return 0;
        }
        if ((len == 6 && memcmp(line, "events", 6) == 0) ||
            (len == 13 && memcmp(line, "events follow", 13) == 0)) {
                ret->type = STATUS_REQUEST_EVENTS;
                ret->filter[0] = '\0';
                ret->follow = len == 13;
                return 0;
        }
        if (len < 7 || memcmp(line, "explain", 7) != 0 || (len > 7 && line[7] != ' '))
                return -EINVAL;
        line += len > 7 ? 8 : 7;
        len -= len > 7 ? 8 : 7;
        /* A cgroup's path from the root, as explain prints it. */
        if (len >= STATUS_FILTER_MAX || (len > 0 && line[0] != '/'))
                return -EINVAL;
        ret->type = STATUS_REQUEST_EXPLAIN;
        ret->follow = 0;
        memcpy(ret->filter, line, len);
        ret->filter[len] = '\0';
        return 0;
}

static int finish(StatusDecoder *d, StatusRequest *ret)
{
        int r = status_request_parse(d->line, d->len, ret);

        d->done = r < 0 ? r : 1;
        return d->done;
}

int status_decoder_feed(StatusDecoder *d, const void *data, size_t n, StatusRequest *ret)
{
        const char *nl;
        size_t take;

        if (d->done)
                return d->done;
        nl = memchr(data, '\n', n);
        take = nl ? (size_t)(nl - (const char *)data) : n;
        if (take > STATUS_REQUEST_MAX - d->len)
                return d->done = -EMSGSIZE;
        memcpy(d->line + d->len, data, take);
        d->len += take;
        return nl ? finish(d, ret) : 0;
}

int status_decoder_eof(StatusDecoder *d, StatusRequest *ret)
{
        if (d->done)
                return d->done;
        if (d->len == 0)
                return d->done = -ENODATA;
        return finish(d, ret);
}

const char *status_request_error_json(int error)
{
        switch (error) {
        case -EMSGSIZE:
                return "{\"error\":\"request too long\"}\n";
        case -ENODATA:
                return "{\"error\":\"empty request\"}\n";
        case -EBUSY:
                return "{\"error\":\"too many followers\"}\n";
        default:
                return "{\"error\":\"unknown request\"}\n";
        }
}
