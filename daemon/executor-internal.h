/* SPDX-License-Identifier: MIT */
#pragma once

/* The executor's insides, shared by executor.c (the table-driven steps and
 * the life cycle) and executor-notify.c (notify, report, exec). */

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "bus.h"
#include "journal-native.h"
#include "executor.h"
#include "limit-writer.h"
#include "macro.h"
#include "undo-log.h"

#define WAITING_MAX       32
#define REPORT_BUF_SIZE   (256 * 1024)
#define NOTIFY_MESSAGE_ID "6d656d7761726465e000000000000020"

/* A step waiting for systemd's answer about its cgroup. */
typedef struct Waiting {
        bool used;
        Action a; /* unit steps only: no pointers kept */
        ActionTarget t;
        uint64_t since_usec;
} Waiting;

/* The caller bytes of a unit call (copied by bus.c). */
typedef struct UnitCallCtx {
        Executor *x;
        ActionType action;
        bool undo;
        int index; /* throttle, -1 otherwise */
        ActionTarget t;
} UnitCallCtx;
_Static_assert(sizeof(UnitCallCtx) <= BUS_CTX_MAX, "a unit call's context must fit");

/* A give-back of an undo entry (executor-undo.c). */
typedef struct GiveBackCtx {
        Executor *x;
        UndoKind kind;
        int index; /* in the throttle or the frozen table */
        const char *why;
        int file_error;
        ActionTarget t;
} GiveBackCtx;
_Static_assert(sizeof(GiveBackCtx) <= BUS_CTX_MAX, "a give-back's context must fit");

/* executor-report.c: why-reports built on a thread started at launch. */
#define REPORT_QUEUE_MAX  4 /* waiting while one is built; past that a report step fails */
#define REPORT_BUILD_USEC (2 * USEC_PER_SEC)
typedef struct ReportWorker ReportWorker;
int report_worker_new(Executor *x, ReportWorker **ret);
ReportWorker *report_worker_free(ReportWorker *w);

typedef struct ResolveCtx {
        Executor *x;
        const Cgroup *c;
        uint32_t slot, serial;
} ResolveCtx;

struct Executor {
        ExecutorConfig cfg;
        sd_event *event;
        Watcher *watcher;
        ExecutorEmit emit;
        void *userdata;
        int root_fd, proc_fd, report_fd;
        char own_cgroup[PATH_MAX];
        PlanContext plan;

        Bus *bus;
        JournalSocket journal; /* a notify step's entry, sent without blocking */
        uint64_t n_journal_failed;
        LimitWriter *writer;
        ReportWorker *reports;
        Webhooks *webhooks;
        KubeEvents *kube; /* NULL: Kubernetes Events are off */
        ExecHelper *exec;

        ThrottleTable throttles;
        bool queued[THROTTLE_MAX];       /* waiting for the writer */
        char th_note[THROTTLE_MAX][512]; /* a unit error the write falls back from */
        sd_event_source *throttle_timer;
        ActionTables tables;
        UnitCache units;
        Waiting waiting[WAITING_MAX];

        /* The undo file (executor-undo.c). */
        int state_fd;
        bool stopping;
        sd_event_source *undo_defer, *stop_timer;
        uint64_t undo_saved[(UNDO_ENTRIES_MAX + 63) / 64]; /* which entries the file holds */
        unsigned undo_n_bad, undo_bad_line;
        int undo_bad_error, undo_read_error;
        ExecutorStopped stopped;
        void *stopped_userdata;
        char undo_line[UNDO_LINE_MAX + 1];

        uint64_t n_outcomes, n_failed;
        char json[16384];
};

static inline void format_size(uint64_t v, char *buf, size_t size)
{
        if (v == UINT64_MAX)
                snprintf(buf, size, "max");
        else if (v >= (1ULL << 30) && v % (1ULL << 20) == 0)
                snprintf(buf, size, "%.2fGi", (double)v / (1 << 30));
        else if (v >= (1ULL << 20))
                snprintf(buf, size, "%.1fMi", (double)v / (1 << 20));
        else
                snprintf(buf, size, "%" PRIu64, v);
}

static inline const char *rel(const char *path)
{
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

bool target_alive(Executor *x, const ActionTarget *t, const Cgroup **ret);
void emit(Executor *x, const ActionTarget *t, ActionOutcome *o, int error);
void outcome(Executor *x, const ActionTarget *t, ActionType type, bool undo, ActionResult result,
             const char *via, int error, const char *fmt, ...) _printf_(8, 9);

int write_cgroup_file(Executor *x, const ActionTarget *t, const char *file, const char *value);
bool target_exists(Executor *x, const ActionTarget *t);

void throttle_done(Executor *x, Throttle *th, int error, const char *via);
void throttle_restore(Executor *x, Throttle *th);
void arm_throttle_timer(Executor *x);
void run_throttle(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c, PlanRoute route);
void on_write_done(void *userdata, uint64_t token, int error);

void throttle_restore_unit(Executor *x, Throttle *th);

/* executor-undo.c */
void undo_open(Executor *x);
void undo_close(Executor *x);
/* Write the file now (before a throttle or freeze is applied): 0 or -errno. */
int undo_save(Executor *x);
/* An entry may have gone: the file is brought up to date from the loop. */
void undo_changed(Executor *x);
bool undo_keep_unanswered(Executor *x, Throttle *th, int error, const char *message);

void run_notify(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c,
                const EngineDecision *d);
void run_report(Executor *x, const Action *act, const ActionTarget *t);
void run_exec(Executor *x, const Action *act, const ActionTarget *t, const Cgroup *c);
void on_exec_done(void *userdata, const char *cookie, int status, const char *detail);
