/* SPDX-License-Identifier: MIT */
#include "kube-event.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "macro.h"

static void copy_bounded(char *dst, size_t size, const char *src)
{
        size_t n = src ? strnlen(src, size - 1) : 0;

        memcpy(dst, src ? src : "", n);
        dst[n] = '\0';
}

int kube_event_target(const Cgroup *c, KubeEventTarget *ret)
{
        const Cgroup *pod = cgroup_pod(c);
        char name[POD_NAME_MAX + 64];

        if (!pod || !pod->pod_namespace || !pod->pod_namespace[0] || !pod->pod_name || !pod->pod_name[0])
                return -ENOENT;
        if (pod->name_len >= sizeof(name))
                return -ENOENT;
        memcpy(name, pod->name, pod->name_len);
        name[pod->name_len] = '\0';
        *ret = (KubeEventTarget){};
        if (pod_uid_from_name(name, ret->uid, sizeof(ret->uid)) < 0)
                return -ENOENT;
        copy_bounded(ret->namespace, sizeof(ret->namespace), pod->pod_namespace);
        copy_bounded(ret->pod, sizeof(ret->pod), pod->pod_name);
        /* Only the pod's own container is named: below one, a workload made the cgroup. */
        if (c != pod && c->kind == CGROUP_KIND_CONTAINER && c->parent == pod)
                copy_bounded(ret->container, sizeof(ret->container), c->container_name);
        return 0;
}

bool kube_event_classify(const ActionOutcome *o, bool container, const char **ret_reason,
                         const char **ret_action, bool *ret_warning)
{
        bool done;

        if (!o || o->undo || (o->result != ACTION_RESULT_DONE && o->result != ACTION_RESULT_FAILED))
                return false;
        done = o->result == ACTION_RESULT_DONE;
        switch (o->action) {
        case ACTION_THROTTLE:
                *ret_action = "Throttle";
                *ret_reason = done ? "MemoryThrottled" : "ThrottleFailed";
                *ret_warning = !done; /* the workload runs on, slower: not alarming in itself */
                return true;
        case ACTION_FREEZE:
                *ret_action = "Freeze";
                *ret_reason = done ? (container ? "ContainerFrozen" : "PodFrozen") : "FreezeFailed";
                break;
        case ACTION_KILL:
                *ret_action = "Kill";
                *ret_reason = done ? (container ? "ContainerKilled" : "PodKilled") : "KillFailed";
                break;
        case ACTION_RESTART:
                *ret_action = "Restart";
                *ret_reason = done ? "Restarted" : "RestartFailed";
                break;
        default:
                return false;
        }
        *ret_warning = true;
        return true;
}

/* A DNS label (RFC 1123), as Kubernetes checks namespace names. */
static bool dns_label(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
                        return false;
        return true;
}

int kube_event_path(const char *ns, char *buf, size_t size)
{
        int n;

        if (!ns || !dns_label(ns))
                return -EINVAL;
        n = snprintf(buf, size, "/apis/events.k8s.io/v1/namespaces/%s/events", ns);
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}

static bool alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void kube_event_name(const KubeEventInput *in, char buf[KUBE_EVENT_NAME_MAX + 1])
{
        /* Room for ".<16 hex>.<16 hex>" after the pod's part. */
        const size_t room = KUBE_EVENT_NAME_MAX - 2 * 17;
        const char *p = in->target ? in->target->pod : "";
        size_t n = 0;

        /* Whatever the pod's name holds, the result is a DNS subdomain: each
         * label starts and ends with [a-z0-9]. */
        for (; *p && n < room; p++) {
                char c = *p;
                if (alnum(c))
                        buf[n++] = c;
                else if (c == '.' && n > 0 && alnum(buf[n - 1]))
                        buf[n++] = '.';
                else if (n > 0 && buf[n - 1] != '.' && buf[n - 1] != '-')
                        buf[n++] = '-';
        }
        while (n > 0 && !alnum(buf[n - 1]))
                n--;
        if (n == 0) {
                memcpy(buf, "memwarden", 9);
                n = 9;
        }
        snprintf(buf + n, KUBE_EVENT_NAME_MAX + 1 - n, ".%" PRIx64 ".%" PRIx64, in->real_usec, in->seq);
}

static const char *verb(const ActionOutcome *o)
{
        bool done = o->result == ACTION_RESULT_DONE;

        switch (o->action) {
        case ACTION_THROTTLE:
                return done ? "throttled" : "failed to throttle";
        case ACTION_FREEZE:
                return done ? "froze" : "failed to freeze";
        case ACTION_KILL:
                return done ? "killed" : "failed to kill";
        case ACTION_RESTART:
                return done ? "restarted" : "failed to restart";
        default:
                return "acted on";
        }
}

size_t kube_event_note(const KubeEventInput *in, char buf[KUBE_EVENT_NOTE_MAX + 1])
{
        const ActionOutcome *o = in->outcome;
        const KubeEventTarget *t = in->target;
        char raw[3 * KUBE_EVENT_NOTE_MAX];
        const char *detail = o->detail ? o->detail : "";

        /* Built long, then cut: utf8_sanitize bounds it, drops no character
         * halfway and turns controls and bad bytes into visible \xNN. The
         * detail says what changed (a throttle's memory.high, old -> new). */
        snprintf(raw, sizeof(raw), "memwarden: %s %s %s (policy %s%s%s)%s%s; cgroup %s", verb(o),
                 t->container[0] ? "container" : "pod", t->container[0] ? t->container : t->pod,
                 o->policy_namespace ? o->policy_namespace : "", o->policy_namespace ? "/" : "",
                 o->policy ? o->policy : "?", detail[0] ? ": " : "", detail,
                 in->cgroup_path ? in->cgroup_path : "?");
        return utf8_sanitize(raw, strlen(raw), buf, KUBE_EVENT_NOTE_MAX + 1);
}

static void put(JsonWriter *j, const char *key, const char *value)
{
        json_key(j, key);
        json_string(j, value);
}

static void put_regarding(JsonWriter *j, const KubeEventTarget *t)
{
        char field[sizeof("spec.containers{}") + CONTAINER_NAME_MAX];

        json_key(j, "regarding");
        json_object_open(j);
        put(j, "apiVersion", "v1");
        put(j, "kind", "Pod");
        put(j, "namespace", t->namespace);
        put(j, "name", t->pod);
        put(j, "uid", t->uid);
        if (t->container[0]) {
                /* As kubelet names a container in its own Events. */
                snprintf(field, sizeof(field), "spec.containers{%s}", t->container);
                put(j, "fieldPath", field);
        }
        json_object_close(j);
}

int kube_event_format(const KubeEventInput *in, char *buf, size_t size, size_t *ret_len)
{
        const KubeEventTarget *t = in->target;
        const char *reason, *action;
        char name[KUBE_EVENT_NAME_MAX + 1], note[KUBE_EVENT_NOTE_MAX + 1];
        char instance[KUBE_EVENT_FIELD_MAX + 1], when[48];
        time_t secs = (time_t)(in->real_usec / 1000000);
        struct tm tm;
        bool warning;
        JsonWriter j;

        if (!kube_event_classify(in->outcome, t && t->container[0], &reason, &action, &warning))
                return -ENOENT;
        if (!t || !dns_label(t->namespace) || !t->pod[0] || !t->uid[0])
                return -EINVAL;
        kube_event_name(in, name);
        (void)kube_event_note(in, note);
        (void)utf8_sanitize(in->instance ? in->instance : "", in->instance ? strlen(in->instance) : 0,
                            instance, sizeof(instance));
        if (!gmtime_r(&secs, &tm))
                return -EINVAL;
        snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(in->real_usec % 1000000));

        json_init(&j, buf, size);
        json_object_open(&j);
        put(&j, "apiVersion", "events.k8s.io/v1");
        put(&j, "kind", "Event");
        json_key(&j, "metadata");
        json_object_open(&j);
        put(&j, "name", name);
        put(&j, "namespace", t->namespace);
        json_object_close(&j);
        put(&j, "eventTime", when);
        put(&j, "reportingController", KUBE_EVENT_CONTROLLER);
        put(&j, "reportingInstance", instance[0] ? instance : "unknown");
        put(&j, "action", action);
        put(&j, "reason", reason);
        put(&j, "type", warning ? "Warning" : "Normal");
        put(&j, "note", note);
        put_regarding(&j, t);
        json_object_close(&j);
        if (j.overflow)
                return -ENOBUFS;
        *ret_len = j.len;
        return 0;
}
