/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

/* mkdir -p of path's parent directories (not path itself), each made with
 * mode. Returns 0, or -errno of the first mkdir that failed for a reason
 * other than EEXIST. */
int mkdir_parents(const char *path, mode_t mode);

/* mkdir -p of path itself and its parents. Returns 0 or -errno. */
int mkdir_p(const char *path, mode_t mode);
