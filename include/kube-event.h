/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "identity.h"
#include "record.h"

/* Kubernetes Events (events.k8s.io/v1) for what memwarden did to a pod, so
 * that `kubectl describe pod` shows it. Pure: the JSON body, the request
 * path and the event's name; the daemon (daemon/kube-events.c) posts them.
 * Every string from the model is hostile (tenants name their pods and
 * containers, policies carry detail text): all of it is bounded and
 * escaped, and only a pod whose namespace and name kubelet's log directory
 * gave (validated there as Kubernetes would) is ever regarded. */

#define KUBE_EVENT_CONTROLLER "memwarden.io/memwardend"
#define KUBE_EVENT_NOTE_MAX   1024 /* the API rejects a longer note (bytes) */
#define KUBE_EVENT_FIELD_MAX  128  /* reportingController, reportingInstance, action, reason */
#define KUBE_EVENT_NAME_MAX   253  /* metadata.name: a DNS subdomain */
#define KUBE_EVENT_BODY_MAX   8192 /* every field bounded: a body always fits */
#define KUBE_EVENT_PATH_MAX   (sizeof("/apis/events.k8s.io/v1/namespaces//events") + POD_NAMESPACE_MAX)

/* The pod regarded, from the model: a pod cgroup, one of its containers,
 * or what a workload made below them. */
typedef struct KubeEventTarget {
        char namespace[POD_NAMESPACE_MAX];
        char pod[POD_NAME_MAX];
        char uid[POD_UID_MAX];
        char container[CONTAINER_NAME_MAX]; /* "": the pod itself, or not known */
} KubeEventTarget;

/* The target of cgroup c: 0, or -ENOENT when c is in no pod or its pod's
 * namespace, name or UID is not known (no Event without them). */
int kube_event_target(const Cgroup *c, KubeEventTarget *ret);

/* Which outcomes become Events: throttle, freeze, kill and restart that are
 * done or failed (not dry runs, refusals, give-backs or steps under way).
 * reason ("MemoryThrottled", "ContainerKilled", ...), action ("Throttle",
 * ...), and whether it is a Warning; false for any other outcome. */
bool kube_event_classify(const ActionOutcome *o, bool container, const char **ret_reason,
                         const char **ret_action, bool *ret_warning);

/* The POST path for events in namespace ns: 0 or -EINVAL for a namespace
 * that is no DNS label (it would be a different path). */
int kube_event_path(const char *ns, char *buf, size_t size);

typedef struct KubeEventInput {
        const KubeEventTarget *target;
        const ActionOutcome *outcome;
        const char *cgroup_path; /* the cgroup acted on, for the note */
        const char *instance;    /* reportingInstance: the node's name */
        uint64_t real_usec;      /* CLOCK_REALTIME of the outcome: eventTime */
        uint64_t seq;            /* the daemon's count of events, for a unique name */
} KubeEventInput;

/* The Event's metadata.name: "<pod>.<time>.<seq>" (pod cut to fit, hex):
 * deterministic, unique per daemon and across restarts, a DNS subdomain. */
void kube_event_name(const KubeEventInput *in, char buf[KUBE_EVENT_NAME_MAX + 1]);

/* The note, at most KUBE_EVENT_NOTE_MAX bytes of valid UTF-8 without control
 * characters: "memwarden: killed container app (policy shop/oom): ...". */
size_t kube_event_note(const KubeEventInput *in, char buf[KUBE_EVENT_NOTE_MAX + 1]);

/* The Event as JSON into buf: 0 with the length in *ret_len; -ENOENT for an
 * outcome that makes no Event (kube_event_classify), -EINVAL for a target
 * without namespace, name or UID, -ENOBUFS if buf is too small (never with
 * KUBE_EVENT_BODY_MAX). */
int kube_event_format(const KubeEventInput *in, char *buf, size_t size, size_t *ret_len);
