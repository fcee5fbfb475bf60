/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "planner.h"

/* The system bus: one long-lived connection (made again lazily, at most
 * every BUS_RETRY_USEC, when lost), systemd's unit calls and jobs, the
 * question "is this cgroup that unit?", and memwarden's own object
 * org.memwarden1 at /org/memwarden1 (interface org.memwarden1.Manager) with
 * its PolicyEvent signal. Every call is asynchronous. */

#define BUS_RETRY_USEC (10 * 1000000ULL)
#define BUS_CALL_USEC  (10 * 1000000ULL)
#define BUS_CTX_MAX    (PATH_MAX + 2048) /* the most caller bytes a call carries */

typedef struct Bus Bus;

typedef enum BusUnitMethod {
        BUS_SET_MEMORY_HIGH, /* SetUnitProperties(unit, runtime, MemoryHigh=value) */
        BUS_RESTART,         /* RestartUnit(unit, "replace") -> job */
        BUS_STOP,            /* StopUnit(unit, "replace") -> job */
        BUS_FREEZE,
        BUS_THAW,
        BUS_KILL, /* KillUnit(unit, "all", SIGKILL) */
        _BUS_UNIT_METHOD_MAX,
        _BUS_UNIT_METHOD_INVALID = -22,
} BusUnitMethod;

const char *bus_unit_method_to_string(BusUnitMethod m);

/* A unit call's answer: error 0 or -errno with systemd's message; job: the
 * job object of RestartUnit/StopUnit. ctx: the caller's bytes, copied. */
typedef void (*BusUnitDone)(void *ctx, int error, const char *message, const char *job);
/* A resolution's answer for the cgroup at path. */
typedef void (*BusResolved)(void *ctx, UnitState state, const char *detail);
/* A job ended (JobRemoved). */
typedef void (*BusJobRemoved)(void *userdata, uint32_t id, const char *job, const char *unit,
                              const char *result);

int bus_new(sd_event *event, bool enabled, BusJobRemoved job_removed, void *userdata, Bus **ret);

/* Called (with bus_new's userdata) when a lost connection has been made
 * again: signals of the old one (JobRemoved) may have been missed. */
typedef void (*BusReconnected)(void *userdata);
void bus_set_reconnected(Bus *b, BusReconnected f);

/* Ask whether systemd still has job (an object path); gone is called if not
 * (the job ended while its JobRemoved could not reach us). 0 or -errno. */
typedef void (*BusJobGone)(void *userdata, const char *job);
int bus_job_check(Bus *b, const char *job, BusJobGone gone, void *userdata);
Bus *bus_free(Bus *b);

/* The connection, made now if it is time to try; NULL if unavailable. */
sd_bus *bus_get(Bus *b);
bool bus_connected(const Bus *b);

int bus_unit_call(Bus *b, BusUnitMethod m, const char *unit, uint64_t value, BusUnitDone done,
                  const void *ctx, size_t ctx_size);

/* Does systemd say the cgroup at path (directory name name) is the unit
 * name? GetUnitByControlGroup, then the unit's Id and ControlGroup.
 * -ENOTCONN when there is no bus (resolved is not called then). */
int bus_resolve_unit(Bus *b, const char *path, const char *name, BusResolved resolved, const void *ctx,
                     size_t ctx_size);

/* PolicyEvent(policy, cgroup, phase, json, namespace): namespace is the
 * policy's ("" or NULL: the node admin's), appended last so that readers of
 * the first four arguments keep working; policy names are per source, so a
 * name alone does not say who fired. Strings are made valid UTF-8 (a hostile
 * cgroup name never makes the signal fail). Returns 0 or -errno. */
int bus_emit_policy_event(Bus *b, const char *policy, const char *path, const char *phase, const char *json,
                          const char *ns);
