/* SPDX-License-Identifier: MIT */
#include "journal-native.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"

#define FIELDS_MAX 16

int journal_socket_open(JournalSocket *j, const char *path)
{
        int size = 8 << 20; /* as sd-journal: bursts wait in the kernel, not here */

        if (!path)
                path = JOURNAL_SOCKET_DEFAULT;
        *j = (JournalSocket){ .fd = -1 };
        if (strlen(path) >= sizeof(j->addr.sun_path))
                return -ENAMETOOLONG;
        j->addr.sun_family = AF_UNIX;
        memcpy(j->addr.sun_path, path, strlen(path) + 1);
        j->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
        j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (j->fd < 0)
                return -errno;
        (void)setsockopt(j->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        return 0;
}

void journal_socket_close(JournalSocket *j)
{
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
}

/* KEY=value\n, or for a value with a newline KEY\n<le64 length><value>\n. */
static unsigned field_iov(const JournalField *f, uint64_t *le, struct iovec *iov)
{
        size_t klen = strlen(f->key);
        unsigned n = 0;

        if (!memchr(f->value, '\n', f->len)) {
                iov[n++] = (struct iovec){ (void *)f->key, klen };
        } else {
                *le = htole64((uint64_t)f->len);
                iov[n++] = (struct iovec){ (void *)f->key, klen - 1 };
                iov[n++] = (struct iovec){ "\n", 1 };
                iov[n++] = (struct iovec){ le, sizeof(*le) };
        }
        iov[n++] = (struct iovec){ (void *)f->value, f->len };
        iov[n++] = (struct iovec){ "\n", 1 };
        return n;
}

int journal_send_fields(const JournalSocket *j, const JournalField *f, size_t n)
{
        struct iovec iov[FIELDS_MAX * 5];
        uint64_t le[FIELDS_MAX];
        struct msghdr mh = { .msg_name = (void *)&j->addr, .msg_namelen = j->addr_len, .msg_iov = iov };
        ssize_t r;

        if (j->fd < 0)
                return -ENOTCONN;
        if (n > FIELDS_MAX)
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                mh.msg_iovlen += field_iov(&f[i], &le[i], iov + mh.msg_iovlen);
        do
                r = sendmsg(j->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : 0;
}
