/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "memcg-v1.h"
#include "memevents.h"
#include "psi.h"

/* Policies, stage one: YAML files (libyaml's document API, which keeps every
 * node's line and column) compiled and validated into plain structures. Every
 * error is collected as "file:line:col: message"; a file with any error
 * yields no policy. The schema is in docs/policies.md. src/policy-parse.c
 * reads the YAML within bounds (nesting depth, keys per mapping, items per
 * list, nodes per document, documents per file: src/policy-internal.h),
 * src/policy-compile.c compiles it. */

#define POLICY_API_VERSION  "memwarden/v1"
#define POLICY_TRIGGERS_MAX 8
#define POLICY_ACTIONS_MAX  8
#define POLICY_ERRORS_MAX   64

typedef struct PolicyMatch {
        char *cgroup;    /* glob on the cgroup path */
        char *unit;      /* glob on the systemd unit or slice name */
        char *namespace; /* Kubernetes namespace, exact */
        char *pod;       /* glob on the pod name */
        char *container; /* container name, exact */
        QosClass qos;    /* _QOS_INVALID: any */
} PolicyMatch;

typedef enum TriggerType {
        TRIGGER_MEMORY_EVENTS,  /* growth of a memory.events counter over a window */
        TRIGGER_PRESSURE,       /* PSI stall share of the cgroup over a window */
        TRIGGER_USAGE,          /* memory.current as a share of memory.high or memory.max */
        TRIGGER_NODE_PRESSURE,  /* PSI of the whole node */
        TRIGGER_NODE_AVAILABLE, /* MemAvailable below a watermark */
        TRIGGER_PRESSURE_LEVEL, /* cgroup v1: memory.pressure_level notifications over a window */
        _TRIGGER_TYPE_MAX,
        _TRIGGER_TYPE_INVALID = -22,
} TriggerType;

typedef enum UsageOf {
        USAGE_OF_HIGH,
        USAGE_OF_MAX,
} UsageOf;

typedef struct Trigger {
        TriggerType type;
        unsigned line, column;
        MemEvent counter;     /* memory_events */
        uint64_t increase;    /* memory_events, pressure_level (count): at least this many in the window */
        uint64_t window_usec; /* memory_events, pressure, pressure_level */
        V1Level level;        /* pressure_level: notifications at this level or worse */
        PsiType psi_type;     /* pressure */
        uint32_t above_bp;    /* pressure, usage: basis points (1/100 %) */
        UsageOf usage_of;     /* usage */
        uint64_t below_bytes; /* node_available */
} Trigger;

typedef enum ActionType {
        ACTION_NOTIFY,
        ACTION_REPORT,
        ACTION_THROTTLE,
        ACTION_RESTART,
        ACTION_STOP,
        ACTION_FREEZE,
        ACTION_KILL,
        ACTION_EXEC,
        _ACTION_TYPE_MAX,
        _ACTION_TYPE_INVALID = -22,
} ActionType;

typedef struct Action {
        ActionType type;
        unsigned line, column;
        uint64_t after_usec;    /* how long the trigger must hold before this step */
        uint64_t cooldown_usec; /* at least this long between two runs of this step */
        bool dry_run;
        bool allow_protected;  /* node admin: may act on init.scope, system.slice, kubepods* */
        bool override_kubelet; /* throttle: may lower a container's memory.high kubelet set (pod.h) */
        /* throttle */
        uint64_t floor_bytes;
        uint32_t step_bp;
        uint64_t interval_usec;
        /* notify */
        char *webhook;
        /* exec */
        char **argv;
        size_t argc;
        uint64_t timeout_usec;
} Action;

/* Which of the cgroups a policy matches get its steps. */
typedef enum SelectBy {
        SELECT_EACH,      /* every cgroup the policy matches, on its own (the default) */
        SELECT_HUNGRIEST, /* the `count` with the highest memory usage among those whose triggers hold */
        SELECT_LEAST_IMPORTANT, /* by Kubernetes QoS (besteffort, burstable, guaranteed, then the
                                 * rest), the hungriest first within a class */
        SELECT_PRESSURE,        /* the most stalled (PSI some total's growth over select_window_usec) */
        _SELECT_BY_MAX,
        _SELECT_BY_INVALID = -22,
} SelectBy;

const char *select_by_to_string(SelectBy s);

typedef struct Policy {
        char *name;
        char *file;
        unsigned line, column;
        char *scope_namespace; /* NULL: a node-admin policy; else the namespace directory it came from */
        PolicyMatch match;
        bool all; /* triggers combine with all (true) or any (false) */
        Trigger triggers[POLICY_TRIGGERS_MAX];
        size_t n_triggers;
        uint64_t for_usec;   /* the triggers must hold this long before the policy fires */
        uint64_t clear_usec; /* ... and be false this long before it clears (hysteresis) */
        SelectBy select_by;
        unsigned select_count;
        uint64_t select_window_usec; /* by: pressure: the stall is measured over this */
        /* target: children: the triggers are the matched cgroup's, the steps go to
         * its direct children (chosen by select): systemd-oomd's model */
        bool target_children;
        Action actions[POLICY_ACTIONS_MAX];
        size_t n_actions;
        uint64_t hash; /* policy_content_hash(), set when compiled */
} Policy;

typedef struct PolicyErrors {
        char msg[POLICY_ERRORS_MAX][320];
        size_t n;
        size_t dropped;
} PolicyErrors;

typedef struct PolicySet {
        Policy *policies;
        size_t n;
} PolicySet;

const char *trigger_type_to_string(TriggerType t);
const char *action_type_to_string(ActionType t);

/* Parse and compile one file's text. scope_namespace: NULL for node-admin
 * files, else the namespace whose directory the file is in (confinement).
 * Appends the file's policies to set only if the whole file is valid.
 * Returns 0, or -EINVAL with the errors in errors (always all of them). */
int policy_load_buffer(PolicySet *set, const char *file, const char *text, size_t len,
                       const char *scope_namespace, PolicyErrors *errors);
int policy_load_file(PolicySet *set, const char *path, const char *scope_namespace, PolicyErrors *errors);

/* A policy directory: NAME.yaml at the top (node admin) and NAMESPACE/NAME.yaml
 * (one namespace each, as ConfigMaps are mounted). Files and directories
 * starting with '.' are skipped (Kubernetes' ..data symlink swaps). */
int policy_load_dir(PolicySet *set, const char *dir, PolicyErrors *errors);

void policy_set_done(PolicySet *set);

/* A hash of what a policy does: every compiled field of match, select,
 * triggers and actions (not its name, file, position or description). A
 * reload keeps a cgroup's state for a policy only if name, namespace and
 * this hash are unchanged. */
uint64_t policy_content_hash(const Policy *p);

/* Append "file:line:col: message" to errors (bounded; the rest are counted). */
void policy_error(PolicyErrors *e, const char *file, unsigned line, unsigned column, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* ---- matching ---- */

/* How specific a match is: a bit per field given, the more telling fields
 * higher (cgroup > unit > container > pod > namespace > qos). The policy with
 * the highest value that matches a cgroup applies to it. */
unsigned policy_specificity(const Policy *p);

/* Whether p matches the cgroup; if not and why is given, the first field
 * that fails, in words. A namespace's policy (scope_namespace) matches only
 * cgroups whose identity is of that namespace, whatever its match says. */
bool policy_match(const Policy *p, const CgroupIdentity *id, char *why, size_t why_size);

/* A node policy: every trigger is node-wide (nodePressure, nodeAvailable).
 * Node policies and cgroup policies do not compete: a cgroup is bound to the
 * most specific of each kind that matches, so a node-wide watermark reaches
 * workloads that have policies of their own (a namespace's, say). */
bool policy_is_node(const Policy *p);

/* The index of the cgroup policy (node: the node policy) that applies to id,
 * or -ENOENT. policy_set_lookup() is the cgroup policy's. The node admin's
 * word is final: within a kind, any matching admin policy wins over every
 * namespace policy (a namespace's policy applies only where no admin policy
 * of its kind matches); specificity decides within each of the two tiers. */
int policy_set_lookup_kind(const PolicySet *set, const CgroupIdentity *id, bool node);
int policy_set_lookup(const PolicySet *set, const CgroupIdentity *id);
/* target: children policies apply to the children of the cgroups they
 * match: the index of the one that applies to a cgroup id whose parent is
 * parent (the most specific, the admin's first), or -ENOENT. A namespace's
 * policy needs id itself in its namespace too. policy_set_lookup_kind()
 * never returns such a policy (they do not bind to what they match). */
int policy_set_lookup_children(const PolicySet *set, const CgroupIdentity *parent, const CgroupIdentity *id);

/* Whether any policy of set (either kind, any tier) matches id: what the
 * daemon watches beside its --watch selection. A namespace's policy matches
 * only its own pods (policy_match), so no tenant can make memwarden watch
 * beyond them. */
bool policy_set_matches_any(const PolicySet *set, const CgroupIdentity *id);

/* Precedence must be decidable at load time: two policies of one kind (node
 * or cgroup), of one tier (admin, or namespace) and of equal specificity that
 * could match the same cgroup are an error (at the second one's line). An
 * admin and a namespace policy never clash. Returns 0 or -EINVAL. */
int policy_set_check_ambiguity(const PolicySet *set, PolicyErrors *errors);
