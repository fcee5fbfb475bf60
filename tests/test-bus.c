/* SPDX-License-Identifier: MIT */
/* bus.c against a fake systemd on a private bus (a dbus-daemon of our own,
 * given to sd_bus_open_system through DBUS_SYSTEM_BUS_ADDRESS): is a cgroup
 * that unit (the walk-up answer of GetUnitByControlGroup, a lying
 * ControlGroup, no unit), a failing unit call with systemd's message, and
 * memwarden's object with PolicyEvent declared and hostile names made
 * valid UTF-8. Skips (77) without dbus-daemon. Never the host's bus. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "bus.h"
#include "macro.h"

static pid_t daemon_pid;
static sd_event *event;
static sd_bus *fake; /* the fake systemd */
static Bus *bus;

typedef struct FakeUnit {
        const char *object, *id, *cgroup;
} FakeUnit;

#define SCOPE "/kubepods.slice/kubepods-pod1.slice/cri-containerd-X.scope"
static const FakeUnit units[] = {
        { "/org/freedesktop/systemd1/unit/web_2d1_2eservice", "web-1.service",
          "/system.slice/web-1.service" },
        { "/org/freedesktop/systemd1/unit/scope", "cri-containerd-X.scope", SCOPE },
        { "/org/freedesktop/systemd1/unit/liar", "liar.service", "/system.slice/other.service" },
};

static const FakeUnit *unit_for(const char *cgroup)
{
        /* Like systemd: the unit that contains the path, walking up. */
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                size_t n = strlen(units[i].cgroup);
                if (strncmp(cgroup, units[i].cgroup, n) == 0 && (cgroup[n] == '\0' || cgroup[n] == '/'))
                        return &units[i];
        }
        if (strcmp(cgroup, "/system.slice/liar.service") == 0)
                return &units[2];
        return NULL;
}

static int m_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        const char *cg;
        const FakeUnit *u;

        if (sd_bus_message_read(m, "s", &cg) < 0)
                return -EINVAL;
        u = unit_for(cg);
        if (!u)
                return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoUnitForControlGroup",
                                         "No unit for control group '%s'.", cg);
        return sd_bus_reply_method_return(m, "o", u->object);
}

static int m_kill(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        const char *unit;

        if (sd_bus_message_read(m, "s", &unit) < 0)
                return -EINVAL;
        if (strcmp(unit, "web-1.service") == 0)
                return sd_bus_reply_method_return(m, NULL);
        return sd_bus_error_setf(e, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", unit);
}

static int m_restart(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        return sd_bus_reply_method_return(m, "o", "/org/freedesktop/systemd1/job/42");
}

static int m_nothing(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("GetUnitByControlGroup", "s", "o", m_get_unit, 0),
        SD_BUS_METHOD("KillUnit", "ssi", "", m_kill, 0),
        SD_BUS_METHOD("RestartUnit", "ss", "o", m_restart, 0),
        SD_BUS_METHOD("Subscribe", "", "", m_nothing, 0),
        SD_BUS_VTABLE_END,
};

static int p_id(sd_bus *b, const char *path, const char *iface, const char *prop, sd_bus_message *reply,
                void *userdata, sd_bus_error *e)
{
        const FakeUnit *u = userdata;
        return sd_bus_message_append(reply, "s", strcmp(prop, "Id") == 0 ? u->id : u->cgroup);
}

static const sd_bus_vtable unit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "s", p_id, 0, 0),
        SD_BUS_VTABLE_END,
};

static const sd_bus_vtable cgroup_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("ControlGroup", "s", p_id, 0, 0),
        SD_BUS_VTABLE_END,
};

static char address[512];

static void start_bus(void)
{
        int p[2];
        ssize_t n;

        if (access("/usr/bin/dbus-daemon", X_OK) < 0) {
                fprintf(stderr, "test-bus: no dbus-daemon, skipped\n");
                exit(77);
        }
        ck_assert_int_eq(pipe(p), 0);
        daemon_pid = fork();
        if (daemon_pid == 0) {
                char fd[40];
                close(p[0]);
                snprintf(fd, sizeof(fd), "--print-address=%d", p[1]);
                execl("/usr/bin/dbus-daemon", "dbus-daemon", "--session", "--nofork", "--nopidfile", fd,
                      (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        n = read(p[0], address, sizeof(address) - 1);
        close(p[0]);
        ck_assert_int_gt(n, 0);
        address[n] = '\0';
        address[strcspn(address, "\n")] = '\0';
        setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1);
}

static void setup(void)
{
        start_bus();
        ck_assert_int_ge(sd_event_new(&event), 0);
        ck_assert_int_ge(sd_bus_new(&fake), 0);
        ck_assert_int_ge(sd_bus_set_address(fake, address), 0);
        ck_assert_int_ge(sd_bus_set_bus_client(fake, 1), 0);
        ck_assert_int_ge(sd_bus_start(fake), 0);
        ck_assert_int_ge(sd_bus_request_name(fake, "org.freedesktop.systemd1", 0), 0);
        ck_assert_int_ge(sd_bus_add_object_vtable(fake, NULL, "/org/freedesktop/systemd1",
                                                  "org.freedesktop.systemd1.Manager", manager_vtable, NULL),
                         0);
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                ck_assert_int_ge(sd_bus_add_object_vtable(fake, NULL, units[i].object,
                                                          "org.freedesktop.systemd1.Unit", unit_vtable,
                                                          (void *)&units[i]),
                                 0);
                ck_assert_int_ge(sd_bus_add_object_vtable(fake, NULL, units[i].object,
                                                          plan_unit_interface(units[i].id), cgroup_vtable,
                                                          (void *)&units[i]),
                                 0);
        }
        ck_assert_int_ge(sd_bus_attach_event(fake, event, 0), 0);
        ck_assert_int_ge(bus_new(event, true, NULL, NULL, &bus), 0);
        ck_assert(bus_connected(bus));
}

static void teardown(void)
{
        bus = bus_free(bus);
        fake = sd_bus_flush_close_unref(fake);
        event = sd_event_unref(event);
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
}

typedef struct Answer {
        bool done;
        UnitState state;
        int error;
        char message[256], job[128];
} Answer;

static void on_resolved(void *ctx, UnitState state, const char *detail)
{
        Answer *a = *(Answer **)ctx;
        a->done = true;
        a->state = state;
}

static void on_done(void *ctx, int error, const char *message, const char *job)
{
        Answer *a = *(Answer **)ctx;
        a->done = true;
        a->error = error;
        snprintf(a->message, sizeof(a->message), "%s", message ? message : "");
        snprintf(a->job, sizeof(a->job), "%s", job ? job : "");
}

static void run_until(Answer *a)
{
        for (int i = 0; i < 500 && !a->done; i++)
                ck_assert_int_ge(sd_event_run(event, 10 * USEC_PER_MSEC), 0);
        ck_assert(a->done);
}

static UnitState resolve(const char *path)
{
        Answer a = { 0 }, *ap = &a;
        const char *name = strrchr(path, '/') + 1;

        ck_assert_int_eq(bus_resolve_unit(bus, path, name, on_resolved, &ap, sizeof(ap)), 0);
        run_until(&a);
        return a.state;
}

START_TEST(test_resolve)
{
        ck_assert_int_eq(resolve("/system.slice/web-1.service"), UNIT_STATE_CONFIRMED);
        /* A container's child named like the host's kubelet: systemd names the scope. */
        ck_assert_int_eq(resolve(SCOPE "/kubelet.service"), UNIT_STATE_NOT_A_UNIT);
        /* A user's delegated web-1.service below a confirmed unit: not that unit. */
        ck_assert_int_eq(resolve("/system.slice/web-1.service/web-1.service"), UNIT_STATE_NOT_A_UNIT);
        /* The Id matches, the ControlGroup does not. */
        ck_assert_int_eq(resolve("/system.slice/liar.service"), UNIT_STATE_NOT_A_UNIT);
        ck_assert_int_eq(resolve("/nowhere/x.service"), UNIT_STATE_NOT_A_UNIT);
}
END_TEST

START_TEST(test_unit_calls)
{
        Answer a = { 0 }, *ap = &a;

        ck_assert_int_eq(bus_unit_call(bus, BUS_KILL, "hog.service", 0, on_done, &ap, sizeof(ap)), 0);
        run_until(&a);
        ck_assert_int_lt(a.error, 0);
        ck_assert_str_eq(a.message, "Unit hog.service not loaded.");
        a = (Answer){ 0 };
        ck_assert_int_eq(bus_unit_call(bus, BUS_KILL, "web-1.service", 0, on_done, &ap, sizeof(ap)), 0);
        run_until(&a);
        ck_assert_int_eq(a.error, 0);
        a = (Answer){ 0 };
        ck_assert_int_eq(bus_unit_call(bus, BUS_RESTART, "web-1.service", 0, on_done, &ap, sizeof(ap)), 0);
        run_until(&a);
        ck_assert_str_eq(a.job, "/org/freedesktop/systemd1/job/42");
}
END_TEST

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        Answer *a = userdata;
        const char *policy, *cgroup, *phase, *json;

        if (sd_bus_message_read(m, "ssss", &policy, &cgroup, &phase, &json) >= 0) {
                snprintf(a->message, sizeof(a->message), "%s", cgroup);
                a->done = true;
        }
        return 0;
}

static int on_introspect(sd_bus_message *m, void *userdata, sd_bus_error *e)
{
        Answer *a = userdata;
        const char *xml;

        a->done = true;
        if (sd_bus_message_read(m, "s", &xml) >= 0)
                a->error = strstr(xml, "<signal name=\"PolicyEvent\">") ? 1 : -1;
        return 0;
}

START_TEST(test_signal)
{
        Answer a = { 0 }, b = { 0 };
        const char *unique = NULL;

        ck_assert_int_ge(sd_bus_match_signal(fake, NULL, NULL, "/org/memwarden1", "org.memwarden1.Manager",
                                             "PolicyEvent", on_signal, &a),
                         0);
        /* Let the match reach the bus before the signal. */
        for (int i = 0; i < 20; i++)
                (void)sd_event_run(event, 5 * USEC_PER_MSEC);
        ck_assert_int_eq(bus_emit_policy_event(bus, "p", "/bad\xff\xc3.scope", "firing", "{}"), 0);
        run_until(&a);
        ck_assert_str_eq(a.message, "/bad\\xff\\xc3.scope");

        ck_assert_int_ge(sd_bus_get_unique_name(bus_get(bus), &unique), 0);
        ck_assert_int_ge(sd_bus_call_method_async(fake, NULL, unique, "/org/memwarden1",
                                                  "org.freedesktop.DBus.Introspectable", "Introspect",
                                                  on_introspect, &b, NULL),
                         0);
        run_until(&b);
        ck_assert_int_eq(b.error, 1);
}
END_TEST

static Suite *make_suite(void)
{
        Suite *s = suite_create("bus");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_resolve);
        tcase_add_test(tc, test_unit_calls);
        tcase_add_test(tc, test_signal);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr;
        int failed;

        if (access("/usr/bin/dbus-daemon", X_OK) < 0) {
                fprintf(stderr, "test-bus: no dbus-daemon, skipped\n");
                return 77;
        }
        sr = srunner_create(make_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
