/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A JSON writer into a caller-owned fixed buffer: no allocation, so it can run
 * on the event path. On overflow the writer stops and `overflow` is set; the
 * caller drops or truncates the record. The buffer is always NUL-terminated.
 *
 * Strings may hold any bytes (cgroup names can): valid UTF-8 is copied,
 * control characters are escaped, and each byte that is not valid UTF-8 is
 * written as \udcXX (the "surrogateescape" convention: Python's
 * json.loads(...).encode('utf-8', 'surrogateescape') gives the bytes back). */

#define JSON_DEPTH_MAX 8

typedef struct JsonWriter {
        char *buf;
        size_t size, len;
        bool overflow;
        unsigned depth;
        bool first[JSON_DEPTH_MAX + 1];
        bool after_key;
} JsonWriter;

void json_init(JsonWriter *w, char *buf, size_t size);
void json_object_open(JsonWriter *w);
void json_object_close(JsonWriter *w);
void json_array_open(JsonWriter *w);
void json_array_close(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);
void json_string_n(JsonWriter *w, const char *s, size_t len);
void json_u64(JsonWriter *w, uint64_t v);
void json_i64(JsonWriter *w, int64_t v);
void json_bool(JsonWriter *w, bool v);
void json_null(JsonWriter *w);
/* A fixed-point number: v / 10^decimals, e.g. (1234, 2) -> 12.34 */
void json_fixed(JsonWriter *w, uint64_t v, unsigned decimals);
/* A limit: "max" for UINT64_MAX, a number otherwise. */
void json_limit(JsonWriter *w, uint64_t v);
/* Raw text (already valid JSON), e.g. a newline between records. */
void json_raw(JsonWriter *w, const char *s, size_t len);

/* Append the escaped body of a string (no quotes). Exposed for tests. */
void json_escape(JsonWriter *w, const char *s, size_t len);

/* Decode one UTF-8 sequence at s (up to len bytes). Returns its length, or 0
 * if the bytes there are not valid UTF-8 (overlong, surrogate, > U+10FFFF). */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *ret_cp);

/* A valid-UTF-8, control-free copy of len bytes of in, for sinks that need
 * valid UTF-8 strings (D-Bus, journal fields): valid UTF-8 is copied, each
 * byte that is not (and each control: 0x00-0x1f, 0x7f, and the C1 controls
 * U+0080-U+009F, byte by byte) is written as \xNN. Backslashes are kept as
 * they are (systemd's unit names hold \x2d), so this is for display, not
 * reversible: the JSON records keep the exact bytes. out is always
 * NUL-terminated (if size > 0) and cut only between two characters or
 * escapes. Returns the length written, without the NUL. */
size_t utf8_sanitize(const char *in, size_t len, char *out, size_t size);
