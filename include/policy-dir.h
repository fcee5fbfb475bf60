/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* A policy directory, loaded source by source. A source is the node admin's
 * top-level files (one source) or one namespace's directory (one source
 * each). Each source is parsed on its own: a source with any error keeps the
 * set it had in force (its last good one) and reports its errors; the others
 * load. At a precedence tie between an admin policy and a namespace policy the
 * admin's wins and the error is the namespace file's. The walk is bounded and
 * follows no symlink except kubelet's "NAME.yaml -> ..data/NAME.yaml" and
 * "..data -> ..TIMESTAMP" inside the directory itself. */

#define POLICY_DIR_NAMESPACES_MAX 512 /* namespace directories; later ones (in name order) ignored */
#define POLICY_DIR_FILES_MAX      32  /* policy files per source */
#define POLICY_DIR_POLICIES_MAX   32  /* policies per namespace (the admin's are not bounded) */
#define POLICY_DIR_FILE_MAX       (256 * 1024) /* bytes per file */
#define POLICY_DIR_ENTRIES_MAX    4096         /* directory entries looked at per directory */

typedef struct PolicySource {
        char *namespace; /* NULL: the node admin's top-level files */
        PolicySet set;   /* in force: this load's, or (failed) the last good one */
        bool failed;     /* the last load had errors: set is the previous one */
        size_t n_errors; /* of the last load */
        char first_error[320];
} PolicySource;

typedef struct PolicyDirStats {
        size_t n_sources;
        size_t n_failed;     /* sources that kept their last good set */
        size_t n_errors;     /* all errors of this load (also those errors could not hold) */
        size_t n_ns_ignored; /* namespaces past POLICY_DIR_NAMESPACES_MAX */
        bool missing;        /* no directory: no policies */
} PolicyDirStats;

typedef struct PolicyDir PolicyDir;

int policy_dir_new(const char *path, PolicyDir **ret);
PolicyDir *policy_dir_free(PolicyDir *d);
void policy_dir_freep(PolicyDir **d);

/* Load the directory again. On 0 (every source loaded) or -EINVAL (some
 * source kept its last good set; every error is in errors), *ret is a new,
 * self-contained set to swap in: the admin's policies first, then each
 * namespace's in name order (so an admin policy wins any tie at lookup).
 * Other negative errno (the directory cannot be read, -ENOMEM): nothing
 * changed, *ret untouched. A missing directory gives an empty set. */
int policy_dir_load(PolicyDir *d, PolicySet *ret, PolicyErrors *errors, PolicyDirStats *ret_stats);

size_t policy_dir_n_sources(const PolicyDir *d);
const PolicySource *policy_dir_source(const PolicyDir *d, size_t i);

/* A Kubernetes namespace name (a DNS label: [a-z0-9-], at most 63, no '-' at the ends). */
bool policy_dir_valid_namespace(const char *s);

/* A deep copy of p into ret. 0 or -ENOMEM (ret then holds nothing). */
int policy_copy(const Policy *p, Policy *ret);
