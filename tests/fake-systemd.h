/* SPDX-License-Identifier: MIT */
#pragma once

/* A fake systemd on a private dbus-daemon of the test's own, handed to
 * sd_bus_open_system through DBUS_SYSTEM_BUS_ADDRESS. Never the host's bus.
 * Units come from the test's table; every call is written to log. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef struct FakeUnit {
        const char *object, *id, *cgroup;
        const char *claims; /* GetUnitByControlGroup(claims) answers this unit too (a lie) */
        bool broken;        /* its unit calls fail: "Unit ... not loaded." */
        bool slow;          /* while FakeSystemd.stall: its calls are never answered */
} FakeUnit;

typedef struct FakeSystemd {
        sd_bus *bus;
        pid_t daemon;
        char address[512];
        const FakeUnit *units;
        size_t n_units;
        char log[8192]; /* "Method arg\n" per call; SetUnitProperties adds " MemoryHigh=N" */
        bool stall;     /* the slow units' calls go unanswered (held until stop) */
        sd_bus_message *held[32];
        unsigned n_held;
        bool hold_resolve; /* GetUnitByControlGroup waits for fake_systemd_answer_held */
        sd_bus_message *held_resolve[8];
        unsigned n_held_resolve;
} FakeSystemd;

/* 0, or 77 when there is no dbus-daemon (the caller then skips). */
int fake_systemd_start(sd_event *event, const FakeUnit *units, size_t n_units, FakeSystemd *f);
void fake_systemd_stop(FakeSystemd *f);
/* Answer the GetUnitByControlGroup calls held while hold_resolve was set. */
void fake_systemd_answer_held(FakeSystemd *f);
