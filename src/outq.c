/* SPDX-License-Identifier: MIT */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int outq_init(OutQueue *q, size_t size)
{
        *q = (OutQueue){};
        if (size == 0)
                return -EINVAL;
        q->buf = malloc(size);
        if (!q->buf)
                return -ENOMEM;
        /* Fault every page in now (mlockall keeps them): a full pipe under
         * memory pressure must not need a page. */
        for (size_t i = 0; i < size; i += 4096)
                ((volatile char *)q->buf)[i] = 0;
        q->size = size;
        return 0;
}

void outq_done(OutQueue *q)
{
        free(q->buf);
        *q = (OutQueue){};
}

size_t outq_room(const OutQueue *q, size_t reserve)
{
        size_t room = q->size - q->len;

        return room > reserve ? room - reserve : 0;
}

int outq_push(OutQueue *q, const void *p, size_t n)
{
        size_t tail, first;

        if (n > q->size - q->len)
                return -ENOBUFS;
        tail = (q->head + q->len) % q->size;
        first = q->size - tail < n ? q->size - tail : n;
        memcpy(q->buf + tail, p, first);
        memcpy(q->buf, (const char *)p + first, n - first);
        q->len += n;
        if (q->len > q->high_water)
                q->high_water = q->len;
        return 0;
}

ssize_t outq_write(OutQueue *q, int fd)
{
        size_t first = q->size - q->head < q->len ? q->size - q->head : q->len;
        struct iovec iov[2] = {
                { .iov_base = q->buf + q->head, .iov_len = first },
                { .iov_base = q->buf, .iov_len = q->len - first },
        };
        ssize_t n;

        if (q->len == 0)
                return 0;
        do
                n = writev(fd, iov, iov[1].iov_len > 0 ? 2 : 1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        q->head = (q->head + (size_t)n) % q->size;
        q->len -= (size_t)n;
        if (q->len == 0)
                q->head = 0;
        return n;
}

uint64_t outq_discard(OutQueue *q)
{
        uint64_t lines = 0;

        for (size_t i = 0; i < q->len; i++)
                if (q->buf[(q->head + i) % q->size] == '\n')
                        lines++;
        q->head = q->len = 0;
        return lines;
}
