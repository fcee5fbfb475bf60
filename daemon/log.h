/* SPDX-License-Identifier: MIT */
#pragma once

#include <errno.h>
#include <syslog.h>

#include "macro.h"

/* Logging for the programs (the library does not log): to stderr, with the
 * <N> priority prefix that journald understands when stderr goes there. */
void log_set_max_level(int level);
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal(level, error, __VA_ARGS__)
#define log_error_errno(error, ...)       log_internal(LOG_ERR, error, __VA_ARGS__)
#define log_warning_errno(error, ...)     log_internal(LOG_WARNING, error, __VA_ARGS__)
#define log_error(...)                    log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...)                  log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...)                   log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...)                     log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)                    log_internal(LOG_DEBUG, 0, __VA_ARGS__)
