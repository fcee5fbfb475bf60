/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line of a pressure file. avg values are in hundredths of a percent
 * ("12.34" -> 1234), exact, without floating point. */
typedef struct PsiLine {
        uint32_t avg10, avg60, avg300;
        uint64_t total_usec;
} PsiLine;

typedef struct PsiStats {
        PsiLine some;
        PsiLine full;
        bool has_full;
} PsiStats;

typedef enum PsiType {
        PSI_SOME,
        PSI_FULL,
        _PSI_TYPE_MAX,
        _PSI_TYPE_INVALID = -22,
} PsiType;

const char *psi_type_to_string(PsiType t);
PsiType psi_type_from_string(const char *s);

int psi_parse(const char *buf, size_t len, PsiStats *ret);

/* One line as a JSON object {avg10, avg60, avg300 (percent), total_us} under key. */
struct JsonWriter;
void psi_line_format_json(struct JsonWriter *j, const char *key, const PsiLine *l);

/* The kernel's rules for a trigger: 0 < window <= 10 s, stall <= window, and a
 * window that is a multiple of 2 s when the caller lacks CAP_SYS_RESOURCE
 * (Linux 6.4+; older kernels accept 500 ms and up). -EINVAL with a reason. */
int psi_trigger_validate(uint64_t stall_usec, uint64_t window_usec, bool privileged, const char **reason);

/* Open `file` under dirfd (memory.pressure, or /proc/pressure/memory with
 * dirfd AT_FDCWD), O_RDWR|O_NONBLOCK|O_CLOEXEC, and arm one trigger on it.
 * The fd is to be polled for EPOLLPRI; EPOLLERR means the cgroup is gone. */
int psi_trigger_open(int dirfd, const char *file, PsiType type, uint64_t stall_usec, uint64_t window_usec);
