/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "eventlog.h"
#include "record.h"

/* Where records go: the output (stdout, a file or the journal) and the event
 * log, behind one interface. Each record is formatted once, into a fixed
 * buffer, and handed to every sink that takes its kind. */

typedef enum OutputMode {
        OUTPUT_STDOUT,
        OUTPUT_FILE,
        OUTPUT_JOURNAL,
        OUTPUT_NONE,
} OutputMode;

/* A record's kind, for the sinks' choice. */
typedef enum SinkKind {
        SINK_KIND_OBSERVATION = 1U << 0, /* watcher and node records */
        SINK_KIND_DECISION = 1U << 1,    /* policy decisions and action outcomes */
} SinkKind;

typedef struct Sinks Sinks;
typedef struct Sink Sink;

struct Sink {
        const char *name;
        unsigned accepts; /* SinkKind bits */
        bool skip_quiet;  /* quiet records are for the engine only */
        bool needs_json;  /* write() wants the formatted line */
        void (*write)(Sinks *s, Sink *k, const Record *r, const char *json, size_t len);
        void (*close)(Sinks *s, Sink *k);
        int fd;
        uint64_t n_errors;
};

typedef struct SinksConfig {
        OutputMode output;
        const char *output_path;
        const char *event_log; /* NULL: none */
        uint64_t event_log_max;
        unsigned event_log_keep;
} SinksConfig;

#define SINKS_MAX 2

struct Sinks {
        SinksConfig cfg;
        Sink sinks[SINKS_MAX];
        unsigned n_sinks;
        EventLog log;
        uint64_t n_too_large; /* records that did not fit the buffer */
        char buf[16384];
};

/* Open what cfg asks for. A file output that cannot be opened is fatal
 * (-errno, logged); an event log that cannot be opened is warned about and
 * left out. */
int sinks_open(Sinks *s, const SinksConfig *cfg);
void sinks_close(Sinks *s);
void sinks_write(Sinks *s, const Record *r, SinkKind kind);

uint64_t sinks_output_errors(const Sinks *s);
uint64_t sinks_event_log_errors(const Sinks *s);
