/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "node.h"
#include "policy-eval.h"
#include "policy.h"

/* Records: every kernel signal, every decision and every outcome is one
 * Record, and every sink (stdout, file, journal, event log, status) reads
 * that one type. Only types of lower layers appear here: the model
 * (cgroup.h), the policy language (policy.h, policy-eval.h) and the node
 * figures (node.h). */

typedef enum RecordType {
        RECORD_STARTED,
        RECORD_CGROUP_ADDED,
        RECORD_CGROUP_REMOVED,
        RECORD_MEMORY_EVENTS,
        RECORD_PSI,
        RECORD_CGROUP_EVENTS,
        RECORD_LIMITS,
        RECORD_RESCAN,
        RECORD_WARNING,
        RECORD_POLICY, /* a policy decision (engine.c), emitted by the owner */
        RECORD_ACTION, /* what an action did (the daemon's actions), emitted by the owner */
        RECORD_NODE,   /* node-wide: the node's PSI trigger fired, or MemAvailable crossed a watermark */
        RECORD_PRESSURE_LEVEL,  /* cgroup v1: memory.pressure_level notification(s) */
        RECORD_USAGE_THRESHOLD, /* cgroup v1: usage crossed the armed threshold (either way) */
        RECORD_IDENTITY,        /* a pod's namespace and name (a container's name) are now known */
        _RECORD_TYPE_MAX,
        _RECORD_TYPE_INVALID = -22,
} RecordType;

/* The record's "event" name; NULL when out of range. */
const char *record_type_to_string(RecordType t);

/* How a step ended (the `result` of an action record). */
typedef enum ActionResult {
        ACTION_RESULT_DONE,
        ACTION_RESULT_STARTED, /* under way: a job, a webhook, an exec; its end comes later */
        ACTION_RESULT_FAILED,
        ACTION_RESULT_REFUSED, /* the target rules said no */
        ACTION_RESULT_DRY_RUN,
        ACTION_RESULT_SKIPPED, /* nothing to do (the cgroup is gone, already at the floor) */
        _ACTION_RESULT_MAX,
        _ACTION_RESULT_INVALID = -22,
} ActionResult;

/* "done", "started", ...; NULL when out of range. */
const char *action_result_to_string(ActionResult r);
/* The inverse; _ACTION_RESULT_INVALID for an unknown name or NULL. */
ActionResult action_result_from_string(const char *s);

/* What an action did, as carried by an `action` record (docs/records.md).
 * Strings are borrowed for the time of the emit call. */
typedef struct ActionOutcome {
        const char *policy;           /* policy name */
        const char *policy_namespace; /* NULL: a node-admin policy */
        ActionType action;
        bool undo; /* a give-back: throttle restored, thaw */
        ActionResult result;
        const char *via;               /* "systemd", "cgroupfs", the notify sinks, ... */
        const char *unit;              /* the systemd unit acted on, if any */
        const char *detail;            /* in words */
        uint64_t old_value, new_value; /* throttle: memory.high before and after (UINT64_MAX: max) */
        bool has_values;
        const char *report; /* report: the file written */
} ActionOutcome;

/* One observation. Pointers are valid only during the emit callback. Make
 * one with record_init(), which sets what "unknown" means for each field. */
typedef struct Record {
        RecordType type;
        uint64_t mono_usec, real_usec;
        const Cgroup *cgroup;
        const char *path; /* "/", "/system.slice/foo.service" */
        const MemEventsDelta *delta, *delta_local;
        uint64_t current; /* memory.current at the time, UINT64_MAX if unknown */
        const CgroupEvents *cgevents_old;
        uint64_t old_high, old_max;
        const char *message;    /* warnings, start-up summary */
        uint64_t duration_usec; /* started, rescan: how long the walk took */
        int error;              /* -errno for warnings, 0 otherwise */
        /* policy: the decision */
        const Policy *policy;
        PolicyPhase phase;
        const PolicyDecision *decision;
        const ActionOutcome *outcome; /* action */
        const NodeStats *node;        /* node */
        V1Level level;                /* pressure_level */
        uint64_t count;               /* pressure_level: notifications since the last output record */
        uint64_t threshold;           /* usage_threshold */
        bool quiet; /* for the engine, not the output (pressure_level within a second of the last one) */
        /* the output's own (daemon/sinks.c) */
        uint64_t coalesced;   /* memory_events: a summary of this many notifications; 0: just one */
        uint64_t dropped;     /* warning: records this output lost since the last one it wrote */
        const char *sink;     /* warning, with dropped: which output */
        const char *too_long; /* warning: the type of the record it stands for, too long to write */
} Record;

/* The one initialiser: every field unknown or empty (current UINT64_MAX). */
static inline Record record_init(RecordType type)
{
        return (Record){
                .type = type, .current = UINT64_MAX, .old_high = UINT64_MAX, .old_max = UINT64_MAX
        };
}

/* Record to JSON, one line with trailing newline, into buf. Returns 0, or
 * -ENOBUFS if it does not fit. */
int record_format_json(const Record *r, char *buf, size_t size, size_t *ret_len);
