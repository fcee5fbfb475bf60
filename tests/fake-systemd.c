/* SPDX-License-Identifier: MIT */
#include "fake-systemd.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "planner.h"

static void log_call(FakeSystemd *f, const char *method, const char *arg)
{
        size_t len = strlen(f->log);
        snprintf(f->log + len, sizeof(f->log) - len, "%s %s\n", method, arg);
}

static const FakeUnit *unit_for(FakeSystemd *f, const char *cgroup)
{
        const FakeUnit *best = NULL;

        /* Like systemd: the unit that contains the path, walking up (the deepest). */
        for (size_t i = 0; i < f->n_units; i++) {
                const FakeUnit *u = &f->units[i];
                size_t n = strlen(u->cgroup);
                if (u->claims && strcmp(u->claims, cgroup) == 0)
                        return u;
                if (strncmp(cgroup, u->cgroup, n) == 0 && (cgroup[n] == '\0' || cgroup[n] == '/') &&
                    (!best || n > strlen(best->cgroup)))
                        best = u;
        }
        return best;
}

static int get_unit_reply(FakeSystemd *f, sd_bus_message *m, const char *cg, sd_bus_error *e);

static int m_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        FakeSystemd *f = userdata;
        const char *cg;

        if (sd_bus_message_read(m, "s", &cg) < 0)
                return -EINVAL;
        log_call(f, "GetUnitByControlGroup", cg);
        if (f->hold_resolve && f->n_held_resolve < sizeof(f->held_resolve) / sizeof(f->held_resolve[0])) {
                f->held_resolve[f->n_held_resolve++] = sd_bus_message_ref(m);
                return 1; /* answered by fake_systemd_answer_held */
        }
        return get_unit_reply(f, m, cg, e);
}

static int get_unit_reply(FakeSystemd *f, sd_bus_message *m, const char *cg, sd_bus_error *e)
{
        const FakeUnit *u;

        u = unit_for(f, cg);
        if (!u)
                return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoUnitForControlGroup",
                                         "No unit for control group '%s'.", cg);
        return sd_bus_reply_method_return(m, "o", u->object);
}

/* SetUnitProperties(unit, runtime, [("MemoryHigh", <t>)]): the value, UINT64_MAX if unreadable. */
static uint64_t memory_high(sd_bus_message *m)
{
        const char *name;
        uint64_t v = UINT64_MAX;
        int runtime;

        if (sd_bus_message_read(m, "b", &runtime) < 0 ||
            sd_bus_message_enter_container(m, 'a', "(sv)") < 0 ||
            sd_bus_message_enter_container(m, 'r', "sv") < 0 || sd_bus_message_read(m, "s", &name) < 0 ||
            strcmp(name, "MemoryHigh") != 0 || sd_bus_message_read(m, "v", "t", &v) < 0)
                return UINT64_MAX;
        return v;
}

static int m_unit_call(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        FakeSystemd *f = userdata;
        const char *method = sd_bus_message_get_member(m), *unit;

        if (sd_bus_message_read(m, "s", &unit) < 0)
                return -EINVAL;
        if (strcmp(method, "SetUnitProperties") == 0) {
                char arg[512];
                snprintf(arg, sizeof(arg), "%s MemoryHigh=%" PRIu64, unit, memory_high(m));
                log_call(f, method, arg);
        } else
                log_call(f, method, unit);
        for (size_t i = 0; i < f->n_units; i++) {
                if (strcmp(f->units[i].id, unit) != 0 || f->units[i].broken)
                        continue;
                if (f->stall && f->units[i].slow && f->n_held < sizeof(f->held) / sizeof(f->held[0])) {
                        f->held[f->n_held++] = sd_bus_message_ref(m);
                        return 1; /* no answer (until the caller gives up) */
                }
                if (strcmp(method, "RestartUnit") == 0 || strcmp(method, "StopUnit") == 0)
                        return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/42");
                return sd_bus_reply_method_return(m, NULL);
        }
        return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", unit);
}

static int m_nothing(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("GetUnitByControlGroup", "s", "o", m_get_unit, 0),
        SD_BUS_METHOD("KillUnit", "ssi", "", m_unit_call, 0),
        SD_BUS_METHOD("FreezeUnit", "s", "", m_unit_call, 0),
        SD_BUS_METHOD("ThawUnit", "s", "", m_unit_call, 0),
        SD_BUS_METHOD("RestartUnit", "ss", "o", m_unit_call, 0),
        SD_BUS_METHOD("StopUnit", "ss", "o", m_unit_call, 0),
        SD_BUS_METHOD("SetUnitProperties", "sba(sv)", "", m_unit_call, 0),
        SD_BUS_METHOD("Subscribe", "", "", m_nothing, 0),
        SD_BUS_VTABLE_END,
};

static int p_get(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                 void *userdata, sd_bus_error *e)
{
        const FakeUnit *u = userdata;
        return sd_bus_message_append(reply, "s", strcmp(prop, "Id") == 0 ? u->id : u->cgroup);
}

static const sd_bus_vtable unit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", p_get, 0, 0),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable cgroup_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("ControlGroup", "s", p_get, 0, 0),
        SD_BUS_VTABLE_END,
};

static int start_daemon(FakeSystemd *f)
{
        int p[2];
        ssize_t n;

        if (access("/usr/bin/dbus-daemon", X_OK) < 0)
                return 77;
        if (pipe(p) < 0)
                return -errno;
        f->daemon = fork();
        if (f->daemon == 0) {
                char fd[40];
                close(p[0]);
                snprintf(fd, sizeof(fd), "--print-address=%d", p[1]);
                execl("/usr/bin/dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile", fd,
                      (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        n = read(p[0], f->address, sizeof(f->address) - 1);
        close(p[0]);
        if (n <= 0)
                return -EIO;
        f->address[n] = '\0';
        f->address[strcspn(f->address, "\n")] = '\0';
        setenv("DBUS_SYSTEM_BUS_ADDRESS", f->address, 1);
        return 0;
}

static int add_unit(FakeSystemd *f, const FakeUnit *u)
{
        const char *iface = plan_unit_interface(u->id);
        int r;

        r = sd_bus_add_object_vtable(f->bus, NULL, u->object, "org.freedesktop.systemd1.Unit", unit_vtable,
                                     (void *)u);
        if (r >= 0 && iface)
                r = sd_bus_add_object_vtable(f->bus, NULL, u->object, iface, cgroup_vtable, (void *)u);
        return r;
}

int fake_systemd_start(sd_event *event, const FakeUnit *units, size_t n_units, FakeSystemd *f)
{
        int r;

        *f = (FakeSystemd){ .units = units, .n_units = n_units };
        r = start_daemon(f);
        if (r != 0)
                return r;
        if ((r = sd_bus_new(&f->bus)) < 0 || (r = sd_bus_set_address(f->bus, f->address)) < 0 ||
            (r = sd_bus_set_bus_client(f->bus, 1)) < 0 || (r = sd_bus_start(f->bus)) < 0 ||
            (r = sd_bus_request_name(f->bus, "org.freedesktop.systemd1", 0)) < 0)
                return r;
        r = sd_bus_add_object_vtable(f->bus, NULL, "/org/freedesktop/systemd1",
                                     "org.freedesktop.systemd1.Manager", manager_vtable, f);
        for (size_t i = 0; r >= 0 && i < n_units; i++)
                r = add_unit(f, &units[i]);
        if (r >= 0)
                r = sd_bus_attach_event(f->bus, event, 0);
        return r < 0 ? r : 0;
}

void fake_systemd_answer_held(FakeSystemd *f)
{
        for (unsigned i = 0; i < f->n_held_resolve; i++) {
                sd_bus_message *m = f->held_resolve[i];
                sd_bus_error e = SD_BUS_ERROR_NULL;
                const char *cg;

                if (sd_bus_message_rewind(m, true) >= 0 && sd_bus_message_read(m, "s", &cg) >= 0 &&
                    get_unit_reply(f, m, cg, &e) < 0 && sd_bus_error_is_set(&e))
                        (void)sd_bus_reply_method_error(m, &e);
                sd_bus_error_free(&e);
                sd_bus_message_unref(m);
        }
        f->n_held_resolve = 0;
        (void)sd_bus_flush(f->bus);
}

void fake_systemd_stop(FakeSystemd *f)
{
        for (unsigned i = 0; i < f->n_held_resolve; i++)
                sd_bus_message_unref(f->held_resolve[i]);
        f->n_held_resolve = 0;
        for (unsigned i = 0; i < f->n_held; i++)
                sd_bus_message_unref(f->held[i]);
        f->n_held = 0;
        f->bus = sd_bus_flush_close_unref(f->bus);
        if (f->daemon > 0) {
                kill(f->daemon, SIGTERM);
                waitpid(f->daemon, NULL, 0);
                f->daemon = 0;
        }
}
