/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int max_level = LOG_INFO;

void log_set_max_level(int level)
{
        max_level = level;
}

static bool stderr_is_journal(void)
{
        static int cached = -1;
        const char *e;
        struct stat st;
        unsigned long dev, ino;

        if (cached >= 0)
                return cached;
        e = getenv("JOURNAL_STREAM");
        cached = e && sscanf(e, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                 st.st_dev == dev && st.st_ino == ino;
        return cached;
}

int log_internal(int level, int error, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        if (level > max_level)
                return error < 0 ? error : -abs(error);
        /* %m in fmt means strerror(error), as in systemd. */
        errno = error < 0 ? -error : error;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (stderr_is_journal())
                fprintf(stderr, "<%d>%s\n", level, msg);
        else
                fprintf(stderr, "%s: %s\n", program_invocation_short_name, msg);
        return error < 0 ? error : -abs(error);
}
