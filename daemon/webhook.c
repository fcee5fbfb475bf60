/* SPDX-License-Identifier: MIT */
/* Webhooks: HTTP(S) POSTs of an event's JSON, driven by libcurl's multi-socket
 * interface on the daemon's own sd-event loop (as systemd's importer does):
 * curl tells us which sockets to poll and when to wake it, nothing blocks.
 * A bounded set of slots (the queue), each with its body copied in, a
 * timeout per attempt, and retries with exponential backoff. An endpoint that
 * hangs holds one slot until its timeout; nothing else waits for it.
 *
 * libcurl is dlopen()ed when a policy with a webhook is loaded (as systemd
 * does with its optional libraries): linked in, it and its TLS and Kerberos
 * dependencies cost the daemon about 5 MiB of locked memory at start-up on
 * every node, webhooks or not. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "executor.h"
#include "log.h"
#include "macro.h"

#define WEBHOOK_BODY_MAX     16384
#define WEBHOOK_ATTEMPTS     4
#define WEBHOOK_BACKOFF_USEC (1 * USEC_PER_SEC)

/* libcurl, resolved at webhooks_prepare(). */
static CURLcode (*sym_curl_global_init)(long);
static CURLM *(*sym_curl_multi_init)(void);
static struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *, const char *);
static void (*sym_curl_slist_free_all)(struct curl_slist *);
static CURL *(*sym_curl_easy_init)(void);
static void (*sym_curl_easy_reset)(CURL *);
static void (*sym_curl_easy_cleanup)(CURL *);
static CURLcode (*sym_curl_easy_setopt)(CURL *, CURLoption, ...);
static CURLcode (*sym_curl_easy_getinfo)(CURL *, CURLINFO, ...);
static const char *(*sym_curl_easy_strerror)(CURLcode);
static CURLMcode (*sym_curl_multi_setopt)(CURLM *, CURLMoption, ...);
static CURLMcode (*sym_curl_multi_add_handle)(CURLM *, CURL *);
static CURLMcode (*sym_curl_multi_remove_handle)(CURLM *, CURL *);
static CURLMcode (*sym_curl_multi_assign)(CURLM *, curl_socket_t, void *);
static CURLMcode (*sym_curl_multi_cleanup)(CURLM *);
static CURLMsg *(*sym_curl_multi_info_read)(CURLM *, int *);
static CURLMcode (*sym_curl_multi_socket_action)(CURLM *, curl_socket_t, int, int *);

static int curl_dlopen(void)
{
        static void *dl;

        if (dl)
                return 0;
        dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!dl) {
                log_warning("Cannot load libcurl.so.4 (install libcurl4 for webhooks): %s", dlerror());
                return -EOPNOTSUPP;
        }
#define SYM(n)                                                                                              \
        do {                                                                                                \
                if (!(*(void **)&sym_##n = dlsym(dl, #n))) {                                                \
                        log_warning("libcurl.so.4 lacks %s", #n);                                           \
                        dlclose(dl);                                                                        \
                        dl = NULL;                                                                          \
                        return -EOPNOTSUPP;                                                                 \
                }                                                                                           \
        } while (0)
        SYM(curl_global_init);
        SYM(curl_multi_init);
        SYM(curl_slist_append);
        SYM(curl_slist_free_all);
        SYM(curl_easy_init);
        SYM(curl_easy_reset);
        SYM(curl_easy_cleanup);
        SYM(curl_easy_setopt);
        SYM(curl_easy_getinfo);
        SYM(curl_easy_strerror);
        SYM(curl_multi_setopt);
        SYM(curl_multi_add_handle);
        SYM(curl_multi_remove_handle);
        SYM(curl_multi_assign);
        SYM(curl_multi_cleanup);
        SYM(curl_multi_info_read);
        SYM(curl_multi_socket_action);
#undef SYM
        return 0;
}

typedef enum HookState {
        HOOK_FREE,
        HOOK_WAITING, /* for its (first or next) attempt at due_usec */
        HOOK_RUNNING,
} HookState;

typedef struct Hook {
        HookState state;
        CURL *easy;
        unsigned attempts;
        uint64_t due_usec;
        WebhookDone done;
        void *userdata;
        size_t len;
        struct curl_slist *headers; /* its own, when the set has a bearer token */
        char url[1024];
        char cookie[1200];
        char error[CURL_ERROR_SIZE];
        char body[WEBHOOK_BODY_MAX];
} Hook;

struct Webhooks {
        sd_event *event;
        CURLM *multi;
        sd_event_source *curl_timer, *retry_timer;
        struct curl_slist *headers;
        uint64_t timeout_usec;
        char *cainfo; /* NULL: the system's CAs */
        char *auth;   /* "Authorization: Bearer ...", NULL: none */
        uint64_t n_sent, n_failed, n_dropped;
        Hook hooks[WEBHOOK_QUEUE_MAX];
};

static size_t discard(char *ptr, size_t size, size_t n, void *userdata)
{
        (void)ptr, (void)userdata;
        return size * n;
}

static void arm_retry_timer(Webhooks *h);

/* Each attempt carries the token as it is now: a retry after a rotation
 * does not send the old one. */
static void free_headers(Hook *k)
{
        for (struct curl_slist *l = k->headers; l; l = l->next)
                explicit_bzero(l->data, strlen(l->data)); /* the token */
        if (k->headers)
                sym_curl_slist_free_all(k->headers);
        k->headers = NULL;
}

static struct curl_slist *hook_headers(Webhooks *h, Hook *k)
{
        struct curl_slist *l;

        free_headers(k);
        if (!h->auth)
                return h->headers;
        l = sym_curl_slist_append(NULL, "Content-Type: application/json");
        if (l && !(k->headers = sym_curl_slist_append(l, h->auth)))
                sym_curl_slist_free_all(l);
        return k->headers;
}

static void start(Webhooks *h, Hook *k)
{
        CURL *e = k->easy;
        struct curl_slist *headers = hook_headers(h, k);

        sym_curl_easy_reset(e);
        k->error[0] = '\0';
        (void)sym_curl_easy_setopt(e, CURLOPT_URL, k->url);
        (void)sym_curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)sym_curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->body);
        (void)sym_curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)k->len);
        (void)sym_curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        if (h->cainfo)
                (void)sym_curl_easy_setopt(e, CURLOPT_CAINFO, h->cainfo);
        (void)sym_curl_easy_setopt(e, CURLOPT_USERAGENT, "memwarden/" MEMWARDEN_VERSION);
        (void)sym_curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(h->timeout_usec / USEC_PER_MSEC));
        (void)sym_curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->timeout_usec / USEC_PER_MSEC));
        (void)sym_curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void)sym_curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
        (void)sym_curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        (void)sym_curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->error);
        (void)sym_curl_easy_setopt(e, CURLOPT_PRIVATE, k);
        k->attempts++;
        k->state = HOOK_RUNNING;
        if (!headers || sym_curl_multi_add_handle(h->multi, e) != CURLM_OK) {
                k->state = HOOK_WAITING;
                k->due_usec = now_usec(CLOCK_MONOTONIC) + WEBHOOK_BACKOFF_USEC;
                arm_retry_timer(h);
        }
}

static void finish(Webhooks *h, Hook *k, bool ok, long code)
{
        if (!ok && k->attempts < WEBHOOK_ATTEMPTS) {
                k->state = HOOK_WAITING;
                k->due_usec = now_usec(CLOCK_MONOTONIC) + (WEBHOOK_BACKOFF_USEC << (k->attempts - 1));
                arm_retry_timer(h);
                return;
        }
        if (ok)
                h->n_sent++;
        else
                h->n_failed++;
        k->state = HOOK_FREE;
        k->done(k->userdata, k->url, k->cookie, ok, code, k->attempts,
                ok            ? NULL
                : k->error[0] ? k->error
                              : NULL);
}

static void check_done(Webhooks *h)
{
        CURLMsg *msg;
        int left;

        while ((msg = sym_curl_multi_info_read(h->multi, &left))) {
                Hook *k = NULL;
                long code = 0;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void)sym_curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
                (void)sym_curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
                CURLcode result = msg->data.result;
                sym_curl_multi_remove_handle(h->multi, msg->easy_handle);
                if (!k)
                        continue;
                if (result != CURLE_OK && !k->error[0])
                        snprintf(k->error, sizeof(k->error), "%s", sym_curl_easy_strerror(result));
                else if (result == CURLE_OK && (code < 200 || code >= 300))
                        snprintf(k->error, sizeof(k->error), "HTTP %ld", code);
                finish(h, k, result == CURLE_OK && code >= 200 && code < 300, code);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Webhooks *h = userdata;
        int running, action = 0;

        if (revents & (EPOLLIN | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        (void)sym_curl_multi_socket_action(h->multi, fd, action, &running);
        check_done(h);
        return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        Webhooks *h = userp;
        sd_event_source *src = socketp;
        uint32_t events = 0;

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (src) {
                        sd_event_source_disable_unref(src);
                        sym_curl_multi_assign(h->multi, fd, NULL);
                }
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (src) {
                if (sd_event_source_set_io_events(src, events) < 0 ||
                    sd_event_source_set_enabled(src, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_io(h->event, &src, fd, events, on_io, h) < 0)
                return -1;
        (void)sd_event_source_set_description(src, "webhook-io");
        sym_curl_multi_assign(h->multi, fd, src);
        return 0;
}

static int on_curl_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Webhooks *h = userdata;
        int running;

        (void)sym_curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(h);
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
        Webhooks *h = userp;
        uint64_t usec = timeout_ms <= 0 ? 1 : (uint64_t)timeout_ms * USEC_PER_MSEC;

        (void)multi;
        if (timeout_ms < 0)
                return h->curl_timer ? sd_event_source_set_enabled(h->curl_timer, SD_EVENT_OFF) < 0 ? -1 : 0
                                     : 0;
        if (!h->curl_timer) {
                if (sd_event_add_time_relative(h->event, &h->curl_timer, CLOCK_MONOTONIC, usec, 0,
                                               on_curl_timer, h) < 0)
                        return -1;
                (void)sd_event_source_set_description(h->curl_timer, "webhook-curl-timer");
                return 0;
        }
        if (sd_event_source_set_time_relative(h->curl_timer, usec) < 0 ||
            sd_event_source_set_enabled(h->curl_timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Webhooks *h = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        for (int i = 0; i < WEBHOOK_QUEUE_MAX; i++)
                if (h->hooks[i].state == HOOK_WAITING && h->hooks[i].due_usec <= now)
                        start(h, &h->hooks[i]);
        arm_retry_timer(h);
        return 0;
}

static void arm_retry_timer(Webhooks *h)
{
        uint64_t next = 0;

        for (int i = 0; i < WEBHOOK_QUEUE_MAX; i++)
                if (h->hooks[i].state == HOOK_WAITING && (next == 0 || h->hooks[i].due_usec < next))
                        next = h->hooks[i].due_usec;
        if (next == 0) {
                if (h->retry_timer)
                        (void)sd_event_source_set_enabled(h->retry_timer, SD_EVENT_OFF);
                return;
        }
        if (!h->retry_timer) {
                if (sd_event_add_time(h->event, &h->retry_timer, CLOCK_MONOTONIC, next, 0, on_retry_timer,
                                      h) < 0)
                        return;
                (void)sd_event_source_set_description(h->retry_timer, "webhook-retry");
        } else
                (void)sd_event_source_set_time(h->retry_timer, next);
        (void)sd_event_source_set_enabled(h->retry_timer, SD_EVENT_ONESHOT);
}

int webhooks_post(Webhooks *h, const char *url, const char *body, size_t len, const char *cookie,
                  WebhookDone done, void *userdata)
{
        Hook *k = NULL;

        if (len >= WEBHOOK_BODY_MAX || strlen(url) >= sizeof(k->url) || strlen(cookie) >= sizeof(k->cookie))
                return -E2BIG;
        if (!h->multi || !h->hooks[WEBHOOK_QUEUE_MAX - 1].easy)
                return -ENOTCONN; /* not prepared: no policy had a webhook when they were loaded */
        for (int i = 0; i < WEBHOOK_QUEUE_MAX && !k; i++)
                if (h->hooks[i].state == HOOK_FREE)
                        k = &h->hooks[i];
        if (!k) {
                h->n_dropped++;
                return -ENOBUFS;
        }
        memcpy(k->body, body, len);
        k->body[len] = '\0';
        k->len = len;
        snprintf(k->url, sizeof(k->url), "%s", url);
        snprintf(k->cookie, sizeof(k->cookie), "%s", cookie);
        k->attempts = 0;
        k->done = done;
        k->userdata = userdata;
        start(h, k);
        return 0;
}

int webhooks_new(sd_event *event, uint64_t timeout_usec, Webhooks **ret)
{
        Webhooks *h = calloc(1, sizeof(Webhooks));

        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->timeout_usec = timeout_usec ? timeout_usec : 5 * USEC_PER_SEC;
        *ret = h;
        return 0;
}

/* libcurl is set up only when some policy has a webhook: its TLS library
 * alone faults in (and, with mlockall, locks) some 5 MiB. Done at policy
 * load, never at the first post, which comes when memory is short. */
int webhooks_prepare(Webhooks *h)
{
        int r;

        if (h->multi)
                return 0;
        r = curl_dlopen();
        if (r < 0)
                return r;
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        h->multi = sym_curl_multi_init();
        h->headers = sym_curl_slist_append(NULL, "Content-Type: application/json");
        if (!h->multi || !h->headers)
                return -ENOMEM;
        for (int i = 0; i < WEBHOOK_QUEUE_MAX; i++)
                if (!h->hooks[i].easy && !(h->hooks[i].easy = sym_curl_easy_init()))
                        return -ENOMEM;
        (void)sym_curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        (void)sym_curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
        (void)sym_curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        (void)sym_curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
        return 0;
}

Webhooks *webhooks_free(Webhooks *h)
{
        if (!h)
                return NULL;
        for (int i = 0; i < WEBHOOK_QUEUE_MAX; i++)
                if (h->hooks[i].easy) {
                        if (h->hooks[i].state == HOOK_RUNNING)
                                sym_curl_multi_remove_handle(h->multi, h->hooks[i].easy);
                        sym_curl_easy_cleanup(h->hooks[i].easy);
                }
        if (h->multi)
                sym_curl_multi_cleanup(h->multi);
        for (int i = 0; i < WEBHOOK_QUEUE_MAX; i++)
                free_headers(&h->hooks[i]);
        if (h->headers) /* libcurl may never have been loaded */
                sym_curl_slist_free_all(h->headers);
        free(h->cainfo);
        if (h->auth)
                explicit_bzero(h->auth, strlen(h->auth));
        free(h->auth);
        sd_event_source_disable_unref(h->curl_timer);
        sd_event_source_disable_unref(h->retry_timer);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

int webhooks_set_cainfo(Webhooks *h, const char *path)
{
        char *p = NULL;

        if (path && !(p = strdup(path)))
                return -ENOMEM;
        free(h->cainfo);
        h->cainfo = p;
        return 0;
}

int webhooks_set_bearer(Webhooks *h, const char *token, size_t len)
{
        static const char prefix[] = "Authorization: Bearer ";
        char *a = NULL;

        for (size_t i = 0; token && i < len; i++)
                if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
                        return -EINVAL; /* a header of its own, or no token Kubernetes makes */
        if (token && len > WEBHOOK_TOKEN_MAX)
                return -E2BIG;
        if (token) {
                a = malloc(sizeof(prefix) + len);
                if (!a)
                        return -ENOMEM;
                memcpy(a, prefix, sizeof(prefix) - 1);
                memcpy(a + sizeof(prefix) - 1, token, len);
                a[sizeof(prefix) - 1 + len] = '\0';
        }
        if (h->auth)
                explicit_bzero(h->auth, strlen(h->auth));
        free(h->auth);
        h->auth = a;
        return 0;
}

void webhooks_get_stats(const Webhooks *h, uint64_t *sent, uint64_t *failed, uint64_t *dropped)
{
        *sent = h->n_sent;
        *failed = h->n_failed;
        *dropped = h->n_dropped;
}
