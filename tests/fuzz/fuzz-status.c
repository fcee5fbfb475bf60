/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the status socket's request decoder on arbitrary bytes,
 * whole and in pieces (the first byte chooses the piece size), and the
 * invariants of what it gives. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "status-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int r, const StatusRequest *req)
{
        size_t n;

        if (r != 1) {
                if (r != 0 && r != -EINVAL && r != -EMSGSIZE && r != -ENODATA)
                        abort();
                return;
        }
        if (req->type != STATUS_REQUEST_STATUS && req->type != STATUS_REQUEST_EXPLAIN &&
            req->type != STATUS_REQUEST_EVENTS)
                abort();
        if ((req->type == STATUS_REQUEST_EVENTS && req->filter[0]) ||
            (req->type != STATUS_REQUEST_EVENTS && req->follow) || (req->follow != 0 && req->follow != 1))
                abort();
        n = strnlen(req->filter, sizeof(req->filter));
        if (n >= sizeof(req->filter) || (n > 0 && req->filter[0] != '/'))
                abort();
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)req->filter[i] < 0x20 || req->filter[i] == 0x7f)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static StatusDecoder d;
        static StatusRequest req;
        size_t piece = size ? (size_t)data[0] % 17 + 1 : 1;
        int r = 0;

        status_decoder_init(&d);
        for (size_t off = 0; off < size && r == 0; off += piece)
                r = status_decoder_feed(&d, data + off, size - off < piece ? size - off : piece, &req);
        if (r == 0)
                r = status_decoder_eof(&d, &req);
        check(r, &req);
        r = status_request_parse((const char *)data, size, &req);
        check(r == 0 ? 1 : r, &req);
        return 0;
}
