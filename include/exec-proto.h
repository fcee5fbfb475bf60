/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The messages between the daemon and its exec helper (daemon/exec-helper.c),
 * one SOCK_SEQPACKET message each. Both ends are the same binary, so the
 * headers are in host byte order. The helper decodes whatever arrives as
 * hostile: every count and length is checked against the message and the
 * bounds below, and nothing is allocated.
 *
 * Request: ExecRequestHeader, the cookie (cookie_len bytes, no NUL), argc
 * NUL-terminated arguments, then the input (input_len bytes, to the end).
 * Reply: ExecReplyHeader, the cookie, then the detail text (to the end). */

#define EXEC_MSG_MAX        32768
#define EXEC_ARGS_MAX       64
#define EXEC_COOKIE_MAX     2048
#define EXEC_TIMEOUT_MS_MAX (3600U * 1000U) /* fits poll()'s int */

typedef struct ExecRequestHeader {
        uint32_t argc, timeout_ms, input_len, cookie_len;
} ExecRequestHeader;

typedef struct ExecReplyHeader {
        int32_t status; /* 0: exited 0 */
        uint32_t cookie_len;
} ExecReplyHeader;

/* A decoded request: pointers into the message. */
typedef struct ExecRequest {
        const char *cookie;
        size_t cookie_len;
        char *argv[EXEC_ARGS_MAX + 1]; /* NULL-terminated, for execve() */
        size_t argc;
        const char *input;
        size_t input_len;
        uint32_t timeout_ms; /* 0: none */
} ExecRequest;

typedef struct ExecReply {
        int status;
        const char *cookie;
        size_t cookie_len;
        const char *detail; /* not NUL-terminated */
        size_t detail_len;
} ExecReply;

/* Write a request into buf; *ret_len is its length. -EINVAL for a request the
 * helper would refuse (no argument, too many, an empty program, a cookie with
 * a NUL or too long, a timeout too long), -E2BIG if it does not fit size. */
int exec_request_encode(char *buf, size_t size, char *const *argv, size_t argc, uint32_t timeout_ms,
                        const char *input, size_t input_len, const char *cookie, size_t cookie_len,
                        size_t *ret_len);
/* Decode msg (len bytes); the pointers in *ret point into msg. 0, or -EBADMSG
 * for anything malformed: short, a count or length out of bounds, a cookie
 * with a NUL, an empty program, a missing NUL, bytes missing or left over.
 * *ret is written only on success. */
int exec_request_decode(const char *msg, size_t len, ExecRequest *ret);

/* Write a reply; the detail is cut to fit (a reply is never refused for its
 * detail). -EINVAL for a cookie over EXEC_COOKIE_MAX, -E2BIG if even the
 * header and cookie do not fit. */
int exec_reply_encode(char *buf, size_t size, int status, const char *cookie, size_t cookie_len,
                      const char *detail, size_t detail_len, size_t *ret_len);
int exec_reply_decode(const char *msg, size_t len, ExecReply *ret);
