/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the exec helper's request and reply decoders on arbitrary
 * messages. What decodes must encode back to the same bytes: the format has
 * one spelling of each request. */
#include <stdint.h>
#include <string.h>

#include "exec-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char out[EXEC_MSG_MAX];
        const char *msg = (const char *)data;
        ExecRequest req;
        ExecReply rep;
        size_t n;

        if (exec_request_decode(msg, size, &req) == 0) {
                size_t total = req.cookie_len + req.input_len;
                for (size_t i = 0; i < req.argc; i++)
                        total += strlen(req.argv[i]) + 1;
                if (req.argv[req.argc] || total + sizeof(ExecRequestHeader) != size)
                        __builtin_trap();
                if (exec_request_encode(out, sizeof(out), req.argv, req.argc, req.timeout_ms, req.input,
                                        req.input_len, req.cookie, req.cookie_len, &n) != 0 ||
                    n != size || memcmp(out, msg, n) != 0)
                        __builtin_trap();
        }
        if (exec_reply_decode(msg, size, &rep) == 0) {
                if (exec_reply_encode(out, sizeof(out), rep.status, rep.cookie, rep.cookie_len, rep.detail,
                                      rep.detail_len, &n) != 0 ||
                    n != size || memcmp(out, msg, n) != 0)
                        __builtin_trap();
        }
        return 0;
}
