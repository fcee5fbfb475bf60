/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* memwardenctl's commands in files of their own (daemon/ctl-*.c), and what
 * they share with daemon/memwardenctl.c. */

typedef struct CtlFilter {
        bool follow;
        const char *cgroup; /* the cgroup or below */
        const char *pod;    /* pod name, or NAMESPACE/NAME */
        const char *policy; /* policy name, or NAMESPACE/NAME */
        const char *event;  /* record type */
} CtlFilter;

/* memwardenctl.c: send one request line, the answer as a stream (NULL: said why). */
FILE *ctl_request(const char *req);
extern bool ctl_json;

/* ctl-events.c */
int ctl_events(const CtlFilter *f);
/* ctl-reports.c: list, or show one (a file name in dir, or a path) */
int ctl_reports(const char *dir, const char *name);
