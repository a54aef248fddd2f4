/* prom_text.h (test support): a strict reader of the Prometheus text
 * exposition format 0.0.4, for tests that scrape GET /metrics: every line
 * must be a # HELP / # TYPE comment or a sample `name{label="value",...}
 * value` with valid names, properly escaped label values and a number;
 * and every sample's family must be declared by a # TYPE line before it
 * (a histogram's _bucket, _sum and _count samples belong to it). */
#ifndef PAYCHAN_TESTS_SUPPORT_PROM_TEXT_H
#define PAYCHAN_TESTS_SUPPORT_PROM_TEXT_H

#include <stddef.h>

typedef struct pc_test_prom_sample {
    char *name;
    char *labels; /* canonical: name="value" pairs as sent, comma-separated; "" for none */
    double value;
} pc_test_prom_sample;

typedef struct pc_test_prom {
    pc_test_prom_sample *samples;
    size_t n;
} pc_test_prom;

/* Parses text into *out: 0, or -1 with the offending line and why in
 * why (cap bytes). */
int pc_test_prom_parse(const char *text, pc_test_prom *out, char *why, size_t cap);

/* The value of the sample name{labels} (labels exactly as written, "" for
 * none), or `missing` when there is no such sample. */
double pc_test_prom_value(const pc_test_prom *p, const char *name, const char *labels,
                          double missing);

/* Frees *p. */
void pc_test_prom_free(pc_test_prom *p);

#endif
