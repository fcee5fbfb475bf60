/* SPDX-License-Identifier: MIT */
/* Kubernetes Events (kube-events.h): what memwarden did to a pod, POSTed to
 * the API server as events.k8s.io/v1 Events on the webhook machinery. */
#include "kube-events.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "executor.h"
#include "json.h"
#include "kube-event.h"
#include "log.h"
#include "macro.h"

/* The token file is looked at (one stat) at most this often, and read again
 * when it changed (kubelet swaps its ..data symlink) or this long passed. */
#define TOKEN_CHECK_USEC  (1 * USEC_PER_SEC)
#define TOKEN_REREAD_USEC (60 * USEC_PER_SEC)
#define FAILURE_LOG_USEC  (60 * USEC_PER_SEC)
#define API_URL_MAX       512

typedef struct Limit {
        uint64_t last_usec; /* 0: unused */
        ActionType action;
        char uid[POD_UID_MAX];
        char container[CONTAINER_NAME_MAX];
} Limit;

struct KubeEvents {
        Webhooks *hooks;
        char api[API_URL_MAX];
        char token_file[PATH_MAX];
        char instance[KUBE_EVENT_FIELD_MAX + 1];
        uint64_t interval_usec;
        /* the token as last read */
        bool have_token;
        dev_t token_dev;
        ino_t token_ino;
        struct timespec token_mtime;
        off_t token_size;
        uint64_t token_checked_usec, token_read_usec;
        uint64_t seq, n_dropped, n_limited, n_failed_logged;
        uint64_t failure_logged_usec;
        Limit limits[KUBE_EVENTS_LIMIT_MAX];
        char url[API_URL_MAX + KUBE_EVENT_PATH_MAX];
        char body[KUBE_EVENT_BODY_MAX];
        char token[WEBHOOK_TOKEN_MAX + 2];
};

static int read_token(KubeEvents *k, const struct stat *st_path)
{
        _cleanup_close_ int fd = open(k->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;
        size_t len = 0;
        int r;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        for (;;) {
                ssize_t n = read(fd, k->token + len, sizeof(k->token) - len);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == sizeof(k->token))
                        return -E2BIG;
        }
        while (len > 0 &&
               (k->token[len - 1] == '\n' || k->token[len - 1] == '\r' || k->token[len - 1] == ' '))
                len--;
        r = len == 0 ? -ENODATA : webhooks_set_bearer(k->hooks, k->token, len);
        explicit_bzero(k->token, sizeof(k->token));
        if (r < 0)
                return r;
        k->have_token = true;
        k->token_dev = st_path->st_dev, k->token_ino = st_path->st_ino;
        k->token_mtime = st_path->st_mtim, k->token_size = st_path->st_size;
        return 0;
}

/* Before a post: the token as it is now, without a read on every Event. */
static void refresh_token(KubeEvents *k, uint64_t now)
{
        struct stat st;
        bool changed;
        int r;

        if (k->have_token && now - k->token_checked_usec < TOKEN_CHECK_USEC)
                return;
        k->token_checked_usec = now;
        if (stat(k->token_file, &st) < 0) {
                if (k->have_token)
                        return; /* mid-swap or gone: keep the last one, the server will say */
                log_debug("Kubernetes token '%s' unreadable: %m", k->token_file);
                return;
        }
        changed = !k->have_token || st.st_dev != k->token_dev || st.st_ino != k->token_ino ||
                  st.st_size != k->token_size || st.st_mtim.tv_sec != k->token_mtime.tv_sec ||
                  st.st_mtim.tv_nsec != k->token_mtime.tv_nsec;
        if (!changed && now - k->token_read_usec < TOKEN_REREAD_USEC)
                return;
        r = read_token(k, &st);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the Kubernetes token '%s': %m", k->token_file);
                return;
        }
        k->token_read_usec = now;
        log_debug("Kubernetes token read from '%s'", k->token_file);
}

/* May an Event about (uid, container, action) go now? One per interval;
 * a full table with no expired entry says no. */
static bool limit_pass(KubeEvents *k, const KubeEventTarget *t, ActionType action, uint64_t now)
{
        Limit *free_slot = NULL;

        for (size_t i = 0; i < ELEMENTSOF(k->limits); i++) {
                Limit *l = &k->limits[i];
                bool expired = l->last_usec == 0 || now - l->last_usec >= k->interval_usec;
                if (l->last_usec && l->action == action && strcmp(l->uid, t->uid) == 0 &&
                    strcmp(l->container, t->container) == 0) {
                        if (!expired)
                                return false;
                        l->last_usec = now;
                        return true;
                }
                if (expired && !free_slot)
                        free_slot = l;
        }
        if (!free_slot)
                return false;
        free_slot->last_usec = now;
        free_slot->action = action;
        snprintf(free_slot->uid, sizeof(free_slot->uid), "%s", t->uid);
        snprintf(free_slot->container, sizeof(free_slot->container), "%s", t->container);
        return true;
}

static void on_done(void *userdata, const char *url, const char *cookie, bool ok, long http_code,
                    unsigned attempts, const char *error)
{
        KubeEvents *k = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC), failed;

        (void)cookie;
        if (ok)
                return;
        webhooks_get_stats(k->hooks, &(uint64_t){ 0 }, &failed, &(uint64_t){ 0 });
        if (k->failure_logged_usec && now - k->failure_logged_usec < FAILURE_LOG_USEC)
                return;
        k->failure_logged_usec = now;
        log_warning(
                "Kubernetes Event not accepted by '%s' after %u attempts: %s%s (%" PRIu64 " failed so far)",
                url, attempts, error ? error : "no answer",
                http_code == 401 || http_code == 403 ? "; check the token and the RBAC of overlays/events"
                                                     : "",
                failed);
}

void kube_events_outcome(KubeEvents *k, const Record *r)
{
        const char *reason, *action;
        KubeEventTarget t;
        KubeEventInput in;
        uint64_t now;
        size_t len;
        bool warning;
        int e;

        if (!k || r->type != RECORD_ACTION || !r->outcome || !r->cgroup)
                return;
        if (kube_event_target(r->cgroup, &t) < 0)
                return; /* no pod, or its names are not known */
        if (!kube_event_classify(r->outcome, t.container[0], &reason, &action, &warning))
                return;
        now = now_usec(CLOCK_MONOTONIC);
        if (!limit_pass(k, &t, r->outcome->action, now)) {
                k->n_limited++;
                return;
        }
        in = (KubeEventInput){ .target = &t,
                               .outcome = r->outcome,
                               .cgroup_path = r->path,
                               .instance = k->instance,
                               .real_usec = r->real_usec ? r->real_usec : now_usec(CLOCK_REALTIME),
                               .seq = ++k->seq };
        e = kube_event_format(&in, k->body, sizeof(k->body), &len);
        if (e >= 0) {
                memcpy(k->url, k->api, strlen(k->api));
                e = kube_event_path(t.namespace, k->url + strlen(k->api), sizeof(k->url) - strlen(k->api));
        }
        refresh_token(k, now);
        if (e >= 0 && !k->have_token)
                e = -ENOKEY;
        if (e >= 0)
                e = webhooks_post(k->hooks, k->url, k->body, len, "", on_done, k);
        if (e == -ENOBUFS)
                return; /* counted by the queue */
        if (e < 0) {
                k->n_dropped++;
                log_debug("Kubernetes Event about pod %s/%s dropped: %s", t.namespace, t.pod, strerror(-e));
        }
}

static int api_from_env(char *buf, size_t size)
{
        const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
        int n;

        if (!host || !host[0] || !port || !port[0])
                return -ENXIO;
        if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
            strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
                    strlen(host))
                return -EINVAL;
        n = snprintf(buf, size, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
        return n < 0 || (size_t)n >= size ? -E2BIG : 0;
}

static int set_api(KubeEvents *k, const KubeEventsConfig *cfg)
{
        size_t n;

        if (!cfg->api_url) {
                int r = api_from_env(k->api, sizeof(k->api));
                if (r < 0)
                        log_error_errno(r, "--kube-events: no usable $KUBERNETES_SERVICE_HOST and "
                                           "$KUBERNETES_SERVICE_PORT (give --kube-api URL): %m");
                return r;
        }
        if (strncmp(cfg->api_url, "https://", 8) != 0 && strncmp(cfg->api_url, "http://", 7) != 0) {
                log_error("--kube-api: expected an http(s):// URL, got '%s'", cfg->api_url);
                return -EINVAL;
        }
        n = strlen(cfg->api_url);
        while (n > 0 && cfg->api_url[n - 1] == '/')
                n--;
        if (n >= sizeof(k->api)) {
                log_error("--kube-api: longer than %zu bytes", sizeof(k->api) - 1);
                return -E2BIG;
        }
        memcpy(k->api, cfg->api_url, n);
        k->api[n] = '\0';
        return 0;
}

static void set_instance(KubeEvents *k, const KubeEventsConfig *cfg)
{
        const char *name = cfg->node_name ? cfg->node_name : getenv("NODE_NAME");
        char host[256] = "";

        if (!name || !name[0]) {
                (void)gethostname(host, sizeof(host) - 1);
                name = host;
        }
        (void)utf8_sanitize(name, strlen(name), k->instance, sizeof(k->instance));
}

int kube_events_new(sd_event *event, const KubeEventsConfig *cfg, uint64_t timeout_usec, KubeEvents **ret)
{
        const char *ca = cfg->ca_file ? cfg->ca_file : KUBE_CA_FILE_DEFAULT;
        const char *token = cfg->token_file ? cfg->token_file : KUBE_TOKEN_FILE_DEFAULT;
        KubeEvents *k;
        int r;

        if (strlen(token) >= PATH_MAX)
                return -ENAMETOOLONG;
        k = calloc(1, sizeof(KubeEvents));
        if (!k)
                return -ENOMEM;
        snprintf(k->token_file, sizeof(k->token_file), "%s", token);
        k->interval_usec = cfg->interval_usec ? cfg->interval_usec : KUBE_EVENTS_INTERVAL_USEC;
        set_instance(k, cfg);
        r = set_api(k, cfg);
        if (r >= 0)
                r = webhooks_new(event, timeout_usec, &k->hooks);
        if (r >= 0)
                r = webhooks_prepare(k->hooks);
        if (r >= 0 && ca[0])
                r = webhooks_set_cainfo(k->hooks, ca);
        if (r < 0) {
                kube_events_free(k);
                return r;
        }
        refresh_token(k, now_usec(CLOCK_MONOTONIC));
        if (!k->have_token)
                log_warning("Kubernetes Events on, but no token in '%s' yet: Events are dropped until "
                            "there is one",
                            k->token_file);
        log_info("Kubernetes Events to '%s' as '%s' (CA '%s')", k->api, k->instance, ca[0] ? ca : "system");
        *ret = k;
        return 0;
}

KubeEvents *kube_events_free(KubeEvents *k)
{
        if (!k)
                return NULL;
        webhooks_free(k->hooks);
        free(k);
        return NULL;
}

void kube_events_get_stats(const KubeEvents *k, KubeEventsStats *ret)
{
        uint64_t dropped = 0;

        *ret = (KubeEventsStats){ .limited = k ? k->n_limited : 0 };
        if (!k)
                return;
        webhooks_get_stats(k->hooks, &ret->sent, &ret->failed, &dropped);
        ret->dropped = dropped + k->n_dropped;
}
