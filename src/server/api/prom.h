/* prom.h: writes the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/) into a
 * growing buffer: families (# HELP / # TYPE), samples with labels (values
 * escaped), and histograms (cumulative buckets, _sum, _count). Debian has
 * no C library for the format (only prometheus-cpp), and this is all
 * paychand needs. Not thread-safe: one writer per scrape. */
#ifndef PAYCHAN_SERVER_PROM_H
#define PAYCHAN_SERVER_PROM_H

#include <stddef.h>
#include <stdint.h>

typedef struct pc_prom {
    char *buf;   /* malloc'ed, NUL-terminated; NULL until something is written */
    size_t len, cap;
    int failed;  /* out of memory: the text is incomplete, do not serve it */
} pc_prom;

/* A sample's labels: n pairs of name (a valid label name) and value (any text). */
typedef struct pc_prom_labels {
    size_t n;
    const char *const *names;
    const char *const *values;
} pc_prom_labels;

/* Starts a family: "# HELP name help" and "# TYPE name type" (type is
 * "counter", "gauge" or "histogram"). help must be one line. */
void pc_prom_family(pc_prom *p, const char *name, const char *type, const char *help);

/* One sample "name{labels} value" (labels may be NULL); value is the text
 * of a number (e.g. a decimal wei amount beyond 2^64: Prometheus reads it
 * as a float). */
void pc_prom_sample(pc_prom *p, const char *name, const pc_prom_labels *labels,
                    const char *value);

/* The same with an unsigned integer value. */
void pc_prom_sample_u64(pc_prom *p, const char *name, const pc_prom_labels *labels, uint64_t v);

/* One histogram's samples: name_bucket{labels,le="bound"} for each of the
 * n bounds (ascending) and le="+Inf", name_sum and name_count. counts has
 * n + 1 non-cumulative entries (the last: above every bound); sum is in the
 * same unit as the bounds. */
void pc_prom_histogram(pc_prom *p, const char *name, const pc_prom_labels *labels,
                       const double *bounds, const uint64_t *counts, size_t n, double sum);

/* Frees the buffer. */
void pc_prom_free(pc_prom *p);

#endif
