/* SPDX-License-Identifier: MIT */
#include "exec-proto.h"

#include <errno.h>
#include <string.h>

static int put(char *buf, size_t size, size_t *off, const void *p, size_t n)
{
        if (n > size - *off)
                return -E2BIG;
        if (n > 0)
                memcpy(buf + *off, p, n);
        *off += n;
        return 0;
}

static int cookie_valid(const char *cookie, size_t len)
{
        return len <= EXEC_COOKIE_MAX && (len == 0 || !memchr(cookie, '\0', len));
}

int exec_request_encode(char *buf, size_t size, char *const *argv, size_t argc, uint32_t timeout_ms,
                        const char *input, size_t input_len, const char *cookie, size_t cookie_len,
                        size_t *ret_len)
{
        ExecRequestHeader hdr = { .argc = (uint32_t)argc,
                                  .timeout_ms = timeout_ms,
                                  .input_len = (uint32_t)input_len,
                                  .cookie_len = (uint32_t)cookie_len };
        size_t off = 0;
        int r;

        if (argc == 0 || argc > EXEC_ARGS_MAX || !argv[0][0] || timeout_ms > EXEC_TIMEOUT_MS_MAX ||
            !cookie_valid(cookie, cookie_len) || input_len > EXEC_MSG_MAX)
                return -EINVAL;
        r = put(buf, size, &off, &hdr, sizeof(hdr));
        if (r == 0)
                r = put(buf, size, &off, cookie, cookie_len);
        for (size_t i = 0; r == 0 && i < argc; i++)
                r = put(buf, size, &off, argv[i], strlen(argv[i]) + 1);
        if (r == 0)
                r = put(buf, size, &off, input, input_len);
        if (r < 0)
                return r;
        *ret_len = off;
        return 0;
}

int exec_request_decode(const char *msg, size_t len, ExecRequest *ret)
{
        ExecRequestHeader hdr;
        const char *p, *end = msg + len;
        ExecRequest req = {};

        if (len < sizeof(hdr) || len > EXEC_MSG_MAX)
                return -EBADMSG;
        memcpy(&hdr, msg, sizeof(hdr));
        p = msg + sizeof(hdr);
        if (hdr.argc == 0 || hdr.argc > EXEC_ARGS_MAX || hdr.timeout_ms > EXEC_TIMEOUT_MS_MAX ||
            hdr.cookie_len > (size_t)(end - p) || !cookie_valid(p, hdr.cookie_len))
                return -EBADMSG;
        req.cookie = p;
        req.cookie_len = hdr.cookie_len;
        p += hdr.cookie_len;
        for (uint32_t i = 0; i < hdr.argc; i++) {
                const char *z = memchr(p, '\0', (size_t)(end - p));
                if (!z)
                        return -EBADMSG;
                req.argv[i] = (char *)p;
                p = z + 1;
        }
        if (!req.argv[0][0] || hdr.input_len != (size_t)(end - p))
                return -EBADMSG;
        req.argv[hdr.argc] = NULL;
        req.argc = hdr.argc;
        req.input = p;
        req.input_len = hdr.input_len;
        req.timeout_ms = hdr.timeout_ms;
        *ret = req;
        return 0;
}

int exec_reply_encode(char *buf, size_t size, int status, const char *cookie, size_t cookie_len,
                      const char *detail, size_t detail_len, size_t *ret_len)
{
        ExecReplyHeader hdr = { .status = status, .cookie_len = (uint32_t)cookie_len };
        size_t off = 0;
        int r;

        if (!cookie_valid(cookie, cookie_len))
                return -EINVAL;
        r = put(buf, size, &off, &hdr, sizeof(hdr));
        if (r == 0)
                r = put(buf, size, &off, cookie, cookie_len);
        if (r < 0)
                return r;
        if (detail_len > size - off)
                detail_len = size - off;
        (void)put(buf, size, &off, detail, detail_len);
        *ret_len = off;
        return 0;
}

int exec_reply_decode(const char *msg, size_t len, ExecReply *ret)
{
        ExecReplyHeader hdr;
        const char *p;

        if (len < sizeof(hdr) || len > EXEC_MSG_MAX)
                return -EBADMSG;
        memcpy(&hdr, msg, sizeof(hdr));
        p = msg + sizeof(hdr);
        if (hdr.cookie_len > len - sizeof(hdr) || !cookie_valid(p, hdr.cookie_len))
                return -EBADMSG;
        *ret = (ExecReply){ .status = hdr.status,
                            .cookie = p,
                            .cookie_len = hdr.cookie_len,
                            .detail = p + hdr.cookie_len,
                            .detail_len = len - sizeof(hdr) - hdr.cookie_len };
        return 0;
}
