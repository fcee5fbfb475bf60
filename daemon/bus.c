/* SPDX-License-Identifier: MIT */
#include "bus.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "json.h"

#define SYSTEMD_DEST        "org.freedesktop.systemd1"
#define SYSTEMD_PATH        "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER     "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT        "org.freedesktop.systemd1.Unit"
#define MEMWARDEN_BUS_NAME  "org.memwarden1"
#define MEMWARDEN_BUS_PATH  "/org/memwarden1"
#define MEMWARDEN_BUS_IFACE "org.memwarden1.Manager"

struct Bus {
        sd_event *event;
        bool enabled, warned, closing;
        uint64_t retry_usec;
        sd_bus *bus;
        BusJobRemoved job_removed;
        BusReconnected reconnected;
        bool had_bus; /* a connection was made before: the next one is a reconnection */
        void *userdata;
};

/* memwarden's own object: nothing to call yet, the signal declared so that
 * introspection shows it (like systemd-oomd's ManagedOOM signals). */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_SIGNAL_WITH_NAMES(
                /* namespace appended ("" for the node admin's): readers of the first four still work. */
                "PolicyEvent", "sssss",
                SD_BUS_PARAM(policy) SD_BUS_PARAM(cgroup) SD_BUS_PARAM(phase) SD_BUS_PARAM(json)
                        SD_BUS_PARAM(namespace),
                0),
        SD_BUS_VTABLE_END,
};

static const char *const method_names[_BUS_UNIT_METHOD_MAX] = {
        [BUS_SET_MEMORY_HIGH] = "SetUnitProperties",
        [BUS_RESTART] = "RestartUnit",
        [BUS_STOP] = "StopUnit",
        [BUS_FREEZE] = "FreezeUnit",
        [BUS_THAW] = "ThawUnit",
        [BUS_KILL] = "KillUnit",
};

const char *bus_unit_method_to_string(BusUnitMethod m)
{
        if (m < 0 || m >= _BUS_UNIT_METHOD_MAX)
                return NULL;
        return method_names[m];
}

/* One call in flight: the caller's callback and bytes; for a resolution
 * also where it has got to. Freed with the call's slot. */
typedef struct BusCall {
        Bus *bus;
        BusUnitDone done;
        BusResolved resolved;
        char path[PATH_MAX];
        char name[256];
        char object[512];
        alignas(max_align_t) unsigned char ctx[BUS_CTX_MAX];
} BusCall;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        Bus *b = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        (void)ret_error;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0 && b->job_removed)
                b->job_removed(b->userdata, id, job, unit, result);
        return 0;
}

static int on_request_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        (void)userdata, (void)ret_error;
        if (sd_bus_message_is_method_error(m, NULL))
                log_info("Not owning the bus name " MEMWARDEN_BUS_NAME
                         " (%s); the D-Bus signal goes out without "
                         "it (install deploy/org.memwarden1.conf to own it).",
                         sd_bus_message_get_error(m)->message);
        return 1;
}

static void bus_setup(Bus *b, sd_bus *bus)
{
        (void)sd_bus_match_signal_async(bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "JobRemoved",
                                        on_job_removed, NULL, b);
        (void)sd_bus_call_method_async(bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe",
                                       NULL, NULL, NULL);
        (void)sd_bus_add_object_vtable(bus, NULL, MEMWARDEN_BUS_PATH, MEMWARDEN_BUS_IFACE, manager_vtable,
                                       b);
        /* Owning the name needs deploy/org.memwarden1.conf; the signal goes out without it.
         * With its own handler: sd-bus's default one closes the connection when the name
         * is refused, and the bus is needed for systemd units all the same. */
        (void)sd_bus_request_name_async(bus, NULL, MEMWARDEN_BUS_NAME, 0, on_request_name, b);
}

sd_bus *bus_get(Bus *b)
{
        sd_bus *bus = NULL;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (!b)
                return NULL;
        if (b->bus && sd_bus_is_open(b->bus) > 0)
                return b->bus;
        if (b->closing)
                return NULL;
        if (b->bus) {
                log_warning("The system bus connection was lost; reconnecting.");
                /* Let sd-bus end the calls in flight (their callbacks get an error)
                 * before the connection goes: a throttle or a step waiting for
                 * an answer must not wait forever. */
                b->closing = true;
                for (int i = 0; i < 4096 && sd_bus_process(b->bus, NULL) > 0; i++)
                        ;
                b->closing = false;
                b->bus = sd_bus_flush_close_unref(b->bus);
        }
        if (!b->enabled || now < b->retry_usec)
                return NULL;
        b->retry_usec = now + BUS_RETRY_USEC;
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                if (!b->warned)
                        log_warning_errno(r,
                                          "Cannot connect to the system bus (systemd actions and the D-Bus "
                                          "signal are unavailable until it is back): %m");
                b->warned = true;
                sd_bus_unref(bus);
                return NULL;
        }
        b->warned = false;
        bus_setup(b, bus);
        b->bus = bus;
        if (b->had_bus && b->reconnected)
                b->reconnected(b->userdata); /* what the old connection was to hear may be lost */
        b->had_bus = true;
        return bus;
}

void bus_set_reconnected(Bus *b, BusReconnected f)
{
        if (b)
                b->reconnected = f;
}

typedef struct JobCheck {
        BusJobGone gone;
        void *userdata;
        char job[128];
} JobCheck;

static int on_job_state(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        JobCheck *c = userdata;

        (void)ret_error;
        /* No such object: the job ended, its JobRemoved went with the old connection. */
        if (sd_bus_message_is_method_error(m, NULL))
                c->gone(c->userdata, c->job);
        free(c);
        return 1;
}

int bus_job_check(Bus *b, const char *job, BusJobGone gone, void *userdata)
{
        sd_bus *bus = b && b->bus && sd_bus_is_open(b->bus) > 0 ? b->bus : NULL;
        JobCheck *c;
        int r;

        if (!bus)
                return -ENOTCONN;
        if (strlen(job) >= sizeof(c->job))
                return -ENAMETOOLONG;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (JobCheck){ .gone = gone, .userdata = userdata };
        strcpy(c->job, job);
        r = sd_bus_call_method_async(bus, NULL, SYSTEMD_DEST, job, "org.freedesktop.DBus.Properties", "Get",
                                     on_job_state, c, "ss", "org.freedesktop.systemd1.Job", "State");
        if (r < 0)
                free(c);
        return r < 0 ? r : 0;
}

bool bus_connected(const Bus *b)
{
        return b && b->bus && sd_bus_is_open(b->bus) > 0;
}

int bus_new(sd_event *event, bool enabled, BusJobRemoved job_removed, void *userdata, Bus **ret)
{
        Bus *b = calloc(1, sizeof(Bus));

        if (!b)
                return -ENOMEM;
        *b = (Bus){ .event = sd_event_ref(event),
                    .enabled = enabled,
                    .job_removed = job_removed,
                    .userdata = userdata };
        if (enabled)
                (void)bus_get(b);
        *ret = b;
        return 0;
}

Bus *bus_free(Bus *b)
{
        if (!b)
                return NULL;
        sd_bus_flush_close_unref(b->bus);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}

static BusCall *call_new(Bus *b, const void *ctx, size_t ctx_size)
{
        /* Bus calls are rare (a policy step) and sd-bus allocates per message
         * anyway; the context goes with the call's slot (call_async). */
        BusCall *c;

        if (ctx_size > BUS_CTX_MAX)
                return NULL;
        c = malloc(sizeof(BusCall));
        if (!c)
                return NULL;
        c->bus = b;
        c->done = NULL;
        c->resolved = NULL;
        c->path[0] = c->name[0] = c->object[0] = '\0';
        memcpy(c->ctx, ctx, ctx_size);
        return c;
}

/* An asynchronous call whose context is freed with its slot: after the reply,
 * or when the connection goes away first. */
static int call_async(sd_bus *bus, sd_bus_message *m, sd_bus_message_handler_t handler, BusCall *c)
{
        sd_bus_slot *slot = NULL;
        int r;

        r = sd_bus_call_async(bus, &slot, m, handler, c, BUS_CALL_USEC);
        if (r < 0) {
                free(c);
                return r;
        }
        (void)sd_bus_slot_set_destroy_callback(slot, free);
        (void)sd_bus_slot_set_floating(slot, true);
        sd_bus_slot_unref(slot);
        return 0;
}

static int unit_message(sd_bus *bus, BusUnitMethod method, const char *unit, uint64_t value,
                        sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           method_names[method]);
        if (r < 0)
                return r;
        switch (method) {
        case BUS_SET_MEMORY_HIGH:
                r = sd_bus_message_append(m, "sba(sv)", unit, 1, 1, "MemoryHigh", "t", value);
                break;
        case BUS_RESTART:
        case BUS_STOP:
                r = sd_bus_message_append(m, "ss", unit, "replace");
                break;
        case BUS_KILL:
                r = sd_bus_message_append(m, "ssi", unit, "all", SIGKILL);
                break;
        default:
                r = sd_bus_message_append(m, "s", unit);
                break;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int on_unit_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BusCall *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);
        const char *job = NULL;

        (void)ret_error;
        if (e) {
                c->done(c->ctx, -sd_bus_message_get_errno(m), e->message ? e->message : e->name, NULL);
                return 0;
        }
        if (sd_bus_message_has_signature(m, "o") && sd_bus_message_read(m, "o", &job) < 0)
                job = NULL;
        c->done(c->ctx, 0, NULL, job);
        return 0;
}

int bus_unit_call(Bus *b, BusUnitMethod method, const char *unit, uint64_t value, BusUnitDone done,
                  const void *ctx, size_t ctx_size)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = bus_get(b);
        BusCall *c;
        int r;

        if (!bus)
                return -ENOTCONN;
        if (method < 0 || method >= _BUS_UNIT_METHOD_MAX)
                return -EINVAL;
        r = unit_message(bus, method, unit, value, &m);
        if (r < 0)
                return r;
        c = call_new(b, ctx, ctx_size);
        if (!c)
                return -ENOMEM;
        c->done = done;
        return call_async(bus, m, on_unit_reply, c);
}

/* ---- is this cgroup that unit? ---- */

static int on_control_group(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int get_property(BusCall *c, const char *iface, const char *property, sd_bus_message_handler_t h)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = bus_get(c->bus);
        BusCall *next;
        int r;

        if (!bus)
                return -ENOTCONN;
        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, c->object,
                                           "org.freedesktop.DBus.Properties", "Get");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", iface, property);
        if (r < 0)
                return r;
        /* The current call's context is freed with its slot: hand a copy on. */
        next = malloc(sizeof(BusCall));
        if (!next)
                return -ENOMEM;
        memcpy(next, c, sizeof(BusCall));
        return call_async(bus, m, h, next);
}

static bool reply_string(sd_bus_message *m, const char **ret)
{
        return !sd_bus_message_is_method_error(m, NULL) && sd_bus_message_read(m, "v", "s", ret) >= 0;
}

static int on_control_group(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BusCall *c = userdata;
        const char *cg = NULL;

        (void)ret_error;
        if (!reply_string(m, &cg))
                c->resolved(c->ctx, UNIT_STATE_NOT_A_UNIT, "systemd gives no ControlGroup for the unit");
        else if (plan_unit_confirmed(c->path, c->name, c->name, cg))
                c->resolved(c->ctx, UNIT_STATE_CONFIRMED, NULL);
        else
                c->resolved(c->ctx, UNIT_STATE_NOT_A_UNIT, "the unit's ControlGroup is another cgroup");
        return 0;
}

static int on_unit_id(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BusCall *c = userdata;
        const char *id = NULL, *iface;
        int r;

        (void)ret_error;
        if (!reply_string(m, &id) || strcmp(id, c->name) != 0) {
                c->resolved(c->ctx, UNIT_STATE_NOT_A_UNIT, "systemd names another unit for this cgroup");
                return 0;
        }
        iface = plan_unit_interface(c->name);
        r = iface ? get_property(c, iface, "ControlGroup", on_control_group) : -EINVAL;
        if (r < 0)
                c->resolved(c->ctx, r == -ENOTCONN ? UNIT_STATE_UNREACHABLE : UNIT_STATE_NOT_A_UNIT,
                            "cannot ask systemd for the unit's ControlGroup");
        return 0;
}

static int on_unit_by_cgroup(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        BusCall *c = userdata;
        const char *object = NULL;
        int r;

        (void)ret_error;
        if (sd_bus_message_is_method_error(m, NULL)) {
                int e = sd_bus_message_get_errno(m);
                /* No answer at all is not a "no". */
                bool lost = e == ETIMEDOUT || e == ECONNRESET || e == ENOTCONN;
                c->resolved(c->ctx, lost ? UNIT_STATE_UNREACHABLE : UNIT_STATE_NOT_A_UNIT,
                            lost ? "systemd did not answer" : "systemd knows no unit for this cgroup");
                return 0;
        }
        if (sd_bus_message_read(m, "o", &object) < 0 || strlen(object) >= sizeof(c->object)) {
                c->resolved(c->ctx, UNIT_STATE_NOT_A_UNIT, "systemd knows no unit for this cgroup");
                return 0;
        }
        strcpy(c->object, object);
        r = get_property(c, SYSTEMD_UNIT, "Id", on_unit_id);
        if (r < 0)
                c->resolved(c->ctx, r == -ENOTCONN ? UNIT_STATE_UNREACHABLE : UNIT_STATE_NOT_A_UNIT,
                            "cannot ask systemd for the unit's Id");
        return 0;
}

int bus_resolve_unit(Bus *b, const char *path, const char *name, BusResolved resolved, const void *ctx,
                     size_t ctx_size)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = bus_get(b);
        BusCall *c;
        int r;

        if (!bus)
                return -ENOTCONN;
        if (strlen(path) >= PATH_MAX || strlen(name) >= sizeof(c->name))
                return -ENAMETOOLONG;
        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           "GetUnitByControlGroup");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", path);
        if (r < 0)
                return r;
        c = call_new(b, ctx, ctx_size);
        if (!c)
                return -ENOMEM;
        c->resolved = resolved;
        strcpy(c->path, path);
        strcpy(c->name, name);
        return call_async(bus, m, on_unit_by_cgroup, c);
}

int bus_emit_policy_event(Bus *b, const char *policy, const char *path, const char *phase, const char *json,
                          const char *ns)
{
        static char p[256], cg[PATH_MAX * 4 + 1], ph[32], js[65536], n[1024];
        sd_bus *bus = bus_get(b);
        int r;

        if (!bus)
                return -ENOTCONN;
        /* Hostile names must never make the signal fail: escape what is not UTF-8
         * (and control bytes). The JSON is valid UTF-8 already (json.h). */
        utf8_sanitize(policy ? policy : "", policy ? strlen(policy) : 0, p, sizeof(p));
        utf8_sanitize(path ? path : "", path ? strlen(path) : 0, cg, sizeof(cg));
        utf8_sanitize(phase ? phase : "", phase ? strlen(phase) : 0, ph, sizeof(ph));
        utf8_sanitize(json ? json : "", json ? strlen(json) : 0, js, sizeof(js));
        utf8_sanitize(ns ? ns : "", ns ? strlen(ns) : 0, n, sizeof(n));
        r = sd_bus_emit_signal(bus, MEMWARDEN_BUS_PATH, MEMWARDEN_BUS_IFACE, "PolicyEvent", "sssss", p, cg,
                               ph, js, n);
        return r < 0 ? r : 0;
}
