/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* A policy directory, loaded source by source. A source is the node admin's
 * top-level files (one source) or one namespace's directory (one source
 * each). Each source is parsed on its own: a source with any error keeps the
 * set it had in force (its last good one) and reports its errors; the others
 * load. With no last good set (a first load, a new namespace) a source whose
 * errors are all in single files takes its valid files; one over a bound of
 * the source as a whole (files, policies, directory entries, its share of a
 * load) or with two policies that tie takes nothing, so that an over-bound
 * or ambiguous set is never in force nor kept as a last good one. An admin
 * policy ranks above every namespace policy of the same kind
 * (policy-match.c), so the two never tie. The walk is bounded and follows no
 * symlink except kubelet's "NAME.yaml -> ..data/NAME.yaml" and
 * "..data -> ..TIMESTAMP" inside the directory itself. */

#define POLICY_DIR_NAMESPACES_MAX 512 /* namespace directories; later ones (in name order) ignored */
#define POLICY_DIR_FILES_MAX      32  /* policy files per source */
#define POLICY_DIR_POLICIES_MAX   32  /* policies per namespace (the admin's are not bounded) */
#define POLICY_DIR_FILE_MAX       (256 * 1024) /* bytes per file */
#define POLICY_DIR_ENTRIES_MAX    4096         /* directory entries looked at per directory */

/* Each source has a share of each load, so that a namespace's files cost
 * memwarden at most that share and, alone, hold back no other source: a
 * namespace at most 2 MiB read and 250 ms of wall time, the admin's 8 MiB
 * (all its files can hold) and 2 s. Past its share a source stops reading;
 * that is an error of that source (it keeps its last good set, or takes
 * nothing with none) and the load goes on with the next one.
 *
 * The whole load is bounded too, to bound memwarden's work: 64 MiB and 10 s
 * (checked before each file and each namespace, so a load overshoots by at
 * most one file's parse). Past either, or when cancel is set, the load is
 * abandoned where it is: the sources it finished (the admin's first, then
 * namespaces in name order) take their new sets, the one it stopped in and
 * those after it keep what they had in force, and one error says why and
 * where. Only namespaces that together pass the whole load's bound (by
 * bytes at least 28 at their full share, by time about 30) can hold back
 * the ones after them. */
#define POLICY_DIR_NS_BYTES_MAX    (2ULL * 1024 * 1024)
#define POLICY_DIR_NS_USEC_MAX     (250ULL * 1000)
#define POLICY_DIR_ADMIN_BYTES_MAX ((uint64_t)POLICY_DIR_FILES_MAX * POLICY_DIR_FILE_MAX)
#define POLICY_DIR_ADMIN_USEC_MAX  (2ULL * 1000 * 1000)
#define POLICY_DIR_LOAD_BYTES_MAX  (64ULL * 1024 * 1024)
#define POLICY_DIR_LOAD_USEC_MAX   (10ULL * 1000 * 1000)

typedef struct PolicyDirBudget {
        uint64_t bytes_max;                       /* read across all files of one load; 0: no bound */
        uint64_t usec_max;                        /* wall time of one load; 0: no bound */
        uint64_t ns_bytes_max, ns_usec_max;       /* one namespace's share; 0: no bound */
        uint64_t admin_bytes_max, admin_usec_max; /* the admin's share; 0: no bound */
        /* The clock the wall time is measured on; NULL: CLOCK_MONOTONIC. */
        uint64_t (*now_usec)(void *userdata);
        void *userdata;
        const atomic_bool *cancel; /* NULL, or set (by another thread) to abandon the load */
} PolicyDirBudget;

/* The defaults, as policy_dir_new() sets them. */
#define POLICY_DIR_BUDGET_DEFAULT                                                                           \
        ((PolicyDirBudget){ .bytes_max = POLICY_DIR_LOAD_BYTES_MAX,                                         \
                            .usec_max = POLICY_DIR_LOAD_USEC_MAX,                                           \
                            .ns_bytes_max = POLICY_DIR_NS_BYTES_MAX,                                        \
                            .ns_usec_max = POLICY_DIR_NS_USEC_MAX,                                          \
                            .admin_bytes_max = POLICY_DIR_ADMIN_BYTES_MAX,                                  \
                            .admin_usec_max = POLICY_DIR_ADMIN_USEC_MAX })

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
        bool missing;        /* no directory (never loaded: no policies; gone: the last ones kept) */
        uint64_t n_bytes;    /* read from policy files (also when abandoned) */
        uint64_t usec;       /* the load's wall time, on the budget's clock */
} PolicyDirStats;

typedef struct PolicyDir PolicyDir;

int policy_dir_new(const char *path, PolicyDir **ret);
PolicyDir *policy_dir_free(PolicyDir *d);
void policy_dir_freep(PolicyDir **d);

/* Replace the budget (policy_dir_new sets the defaults above, no cancel). */
void policy_dir_set_budget(PolicyDir *d, const PolicyDirBudget *b);

/* Load the directory again. On 0 (every source loaded), -EINVAL (some
 * source kept its last good set; every error is in errors) or an abandoned
 * load (-ETIME: wall time, -E2BIG: bytes, -ECANCELED: cancel set; errors
 * holds "DIR:0:0: reload abandoned after ..."), *ret is a new,
 * self-contained set to swap in: the admin's policies first, then each
 * namespace's in name order (so an admin policy wins any tie at lookup).
 * Other negative errno (the directory cannot be read, -ENOMEM): *ret
 * untouched. A directory that was never there gives an empty set; one that
 * is gone after a load keeps every source's set in force (-EINVAL, one error). ret_stats is filled
 * when *ret is. Not thread-safe: one thread at a time may use d. */
int policy_dir_load(PolicyDir *d, PolicySet *ret, PolicyErrors *errors, PolicyDirStats *ret_stats);

size_t policy_dir_n_sources(const PolicyDir *d);
const PolicySource *policy_dir_source(const PolicyDir *d, size_t i);

/* A Kubernetes namespace name (a DNS label: [a-z0-9-], at most 63, no '-' at the ends). */
bool policy_dir_valid_namespace(const char *s);

/* A deep copy of p into ret. 0 or -ENOMEM (ret then holds nothing). */
int policy_copy(const Policy *p, Policy *ret);
