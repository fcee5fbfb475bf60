/* SPDX-License-Identifier: MIT */
#include "fs-util.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

static int mkdir_upto(const char *path, size_t end, mode_t mode)
{
        char buf[PATH_MAX];

        if (end >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, end);
        buf[end] = '\0';
        for (size_t i = 1; i <= end; i++) {
                if (buf[i] != '/' && buf[i] != '\0')
                        continue;
                if (i > 0 && buf[i - 1] == '/')
                        continue;
                buf[i] = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                if (i < end)
                        buf[i] = '/';
        }
        return 0;
}

int mkdir_parents(const char *path, mode_t mode)
{
        const char *slash = strrchr(path, '/');

        if (!slash || slash == path)
                return 0;
        return mkdir_upto(path, (size_t)(slash - path), mode);
}

int mkdir_p(const char *path, mode_t mode)
{
        return mkdir_upto(path, strlen(path), mode);
}
