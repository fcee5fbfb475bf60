/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* journald's native protocol, sent without blocking: one datagram an entry,
 * MSG_DONTWAIT, so a journald that does not keep up costs the entry (the
 * caller counts it), never the loop. sd_journal_send() would block. */

#define JOURNAL_SOCKET_DEFAULT "/run/systemd/journal/socket"

typedef struct JournalField {
        const char *key; /* with its '=' ("MESSAGE=") */
        const char *value;
        size_t len;
} JournalField;

typedef struct JournalSocket {
        int fd;
        struct sockaddr_un addr;
        socklen_t addr_len;
} JournalSocket;

/* Open a datagram socket for path (NULL: JOURNAL_SOCKET_DEFAULT). 0 or -errno. */
int journal_socket_open(JournalSocket *j, const char *path);
void journal_socket_close(JournalSocket *j);

/* One entry of n fields; values may hold any bytes (a value with a newline
 * goes in the binary form). 0, or -errno (-EAGAIN: journald is full). */
int journal_send_fields(const JournalSocket *j, const JournalField *f, size_t n);
