/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* `memwardenctl tree`: the cgroup tree with each cgroup's memory, limits,
 * PSI, memory.events counters and the policy and phase that apply, built
 * from the daemon's status and explain answers (one JSON object a line) and
 * the cgroups' own memory.current, memory.low and memory.min. The answers
 * are taken as hostile as any input: every line and string is bounded,
 * strings are kept JSON-escaped as the daemon wrote them, and the table
 * prints nothing but printable ASCII. */

#define TREE_UNKNOWN   (UINT64_MAX - 1) /* a value not known; UINT64_MAX is "max" */
#define TREE_NODES_MAX (1u << 20)       /* the daemon tracks at most --max-cgroups (1000000) */
#define TREE_LINE_MAX  65536            /* an answer line longer than this is not one of ours */
#define TREE_PATH_MAX  4096
#define TREE_NAME_MAX  72

typedef struct TreeNode {
        char *path; /* JSON-escaped, as in the answer */
        char kind[16];
        char policy[TREE_NAME_MAX], phase[16], node_policy[TREE_NAME_MAX];
        bool watched;
        uint64_t current, high, max, low, min;
        uint64_t ev_high, ev_max, ev_oom_kill;
        int32_t psi_some10, psi_full10; /* avg10 in hundredths of a percent; -1: none */
        unsigned depth;                 /* below the first node shown */
        size_t parent;                  /* index, or SIZE_MAX */
        bool last;                      /* the last of its parent's children */
} TreeNode;

typedef struct Tree {
        TreeNode *v;
        size_t n, cap;
        char root[TREE_PATH_MAX]; /* the daemon's cgroup_root, from the status header */
} Tree;

void tree_done(Tree *t);

/* One line of the status answer: the header (sets root) or a cgroup.
 * 0, or -EINVAL (not an answer line), -E2BIG (past a bound), -ENOMEM. */
int tree_add_status(Tree *t, const char *line, size_t len);

/* One line of the explain answer: the policy, node policy and phase of a
 * cgroup added before. 0 (also for a cgroup not known), or -EINVAL. */
int tree_add_explain(Tree *t, const char *line, size_t len);

/* memory.current (memory.usage_in_bytes on v1), memory.low and memory.min of
 * each node whose path has no escapes and no "..", under root_fd. */
void tree_read_files(Tree *t, int root_fd);

/* Keep subtree (a path; NULL or "" for all) and what is below it, order
 * parents before children, and work out depth, parent and last. */
void tree_finish(Tree *t, const char *subtree);

/* A size for the table: "-", "max", "512B", "12K", "1.5G". */
void tree_format_size(uint64_t v, char *buf, size_t size);

/* A JSON string's content (no quotes) unescaped into buf. -EINVAL for a bad
 * escape, \u0000 or \u past ASCII (the daemon writes UTF-8 as it is),
 * -ENAMETOOLONG past size. */
int tree_unescape(const char *s, char *buf, size_t size);

/* Bytes outside printable ASCII as \xNN, bounded by size (NUL included). */
void tree_sanitize(const char *s, char *buf, size_t size);

void tree_print_table(const Tree *t, FILE *f);
void tree_print_json(const Tree *t, FILE *f);
