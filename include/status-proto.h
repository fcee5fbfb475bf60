/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The status socket's request: one line from a client, which may be anyone
 * allowed to connect (hostile input). "status", "explain" or "explain PATH",
 * "events" (the recent records) or "events follow" (then every new one),
 * ended by '\n' ("\r\n" too) or by the end of the stream. Bytes may come in
 * any pieces; anything after the first line is ignored. */

#define STATUS_REQUEST_MAX 4200 /* bytes of a request line, without its '\n' */
#define STATUS_FILTER_MAX  4096 /* explain's PATH, with its NUL */

typedef enum StatusRequestType {
        STATUS_REQUEST_STATUS,
        STATUS_REQUEST_EXPLAIN,
        STATUS_REQUEST_EVENTS,
        _STATUS_REQUEST_TYPE_MAX,
        _STATUS_REQUEST_TYPE_INVALID = -22,
} StatusRequestType;

typedef struct StatusRequest {
        StatusRequestType type;
        char filter[STATUS_FILTER_MAX]; /* explain: one cgroup's path, or "" for all */
        int follow;                     /* events: keep the connection and send new records */
} StatusRequest;

typedef struct StatusDecoder {
        char line[STATUS_REQUEST_MAX];
        size_t len;
        int done; /* 0: reading; 1: a request was given; < 0: the error given */
} StatusDecoder;

void status_decoder_init(StatusDecoder *d);

/* Feed bytes read. Returns 0 when more are needed, 1 with *ret filled when
 * a request is complete, or -EINVAL (not a request: unknown, a NUL or another
 * control character, a bad path), -EMSGSIZE (longer than STATUS_REQUEST_MAX).
 * After 1 or an error, further input is ignored and the same result given. */
int status_decoder_feed(StatusDecoder *d, const void *data, size_t n, StatusRequest *ret);

/* The end of the stream: the bytes so far are the line (-ENODATA if none). */
int status_decoder_eof(StatusDecoder *d, StatusRequest *ret);

/* One line, without its '\n'. 0 or -EINVAL. */
int status_request_parse(const char *line, size_t len, StatusRequest *ret);

/* The JSON line to answer an error from the decoder with. */
const char *status_request_error_json(int error);
