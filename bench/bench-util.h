/* SPDX-License-Identifier: MIT */
/* Helpers shared by the benchmarks that drive the real daemon on a tmpfs tree. */
#pragma once

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Write text to dir/file (created, truncated); exit on failure. */
static inline void put(const char *dir, const char *file, const char *text)
{
        char p[1024];
        int fd;

        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p)) {
                fprintf(stderr, "path too long: %s/%s\n", dir, file);
                exit(1);
        }
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, strlen(text)) < 0) {
                perror(p);
                exit(1);
        }
        close(fd);
}

static inline int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}
