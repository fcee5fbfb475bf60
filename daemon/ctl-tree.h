/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* memwardenctl tree [PATH]: exit code 0, 1 (daemon unreachable, bad answer). */
int ctl_tree(const char *socket_path, const char *subtree, bool json);
