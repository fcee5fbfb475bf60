/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "record.h"

/* Kubernetes Events for what memwarden did to pods (--kube-events, off by
 * default): the bodies come from src/kube-event.c, the POSTs go through the
 * webhook machinery (webhook.c: curl multi on the loop, a bounded queue,
 * bounded retries) to the API server with the pod's ServiceAccount token,
 * re-read as kubelet rotates it. At most one Event per pod, container and
 * action per interval; the table of those is bounded, and what does not
 * fit is dropped and counted. */

#define KUBE_TOKEN_FILE_DEFAULT   "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define KUBE_CA_FILE_DEFAULT      "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#define KUBE_EVENTS_INTERVAL_USEC (60 * 1000000ULL)
#define KUBE_EVENTS_LIMIT_MAX     256 /* pods, containers and actions rate limited at once */

typedef struct KubeEventsConfig {
        bool enabled;
        const char *api_url;    /* NULL: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
        const char *token_file; /* NULL: KUBE_TOKEN_FILE_DEFAULT */
        const char *ca_file;    /* NULL: KUBE_CA_FILE_DEFAULT; "": the system's CAs */
        const char *node_name;  /* reportingInstance; NULL: $NODE_NAME, else the host name */
        uint64_t interval_usec; /* 0: KUBE_EVENTS_INTERVAL_USEC */
} KubeEventsConfig;

typedef struct KubeEventsStats {
        uint64_t sent, failed, dropped, limited;
} KubeEventsStats;

typedef struct KubeEvents KubeEvents;

/* Set up (libcurl loaded now, at start, not when memory is short). */
int kube_events_new(sd_event *event, const KubeEventsConfig *cfg, uint64_t timeout_usec, KubeEvents **ret);
KubeEvents *kube_events_free(KubeEvents *k);

/* An action record (the executor's emit): an Event for it when it is one
 * (kube_event_classify) about a pod whose names are known. Never blocks.
 * k may be NULL (the feature is off). */
void kube_events_outcome(KubeEvents *k, const Record *r);

void kube_events_get_stats(const KubeEvents *k, KubeEventsStats *ret);
