/* prom.c: see prom.h. */
#include "server/api/prom.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(pc_prom *p, const char *text, size_t n)
{
    if (p->failed)
        return;
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (p->len + n + 1 > cap)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            p->failed = 1;
            return;
        }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, text, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void puts_(pc_prom *p, const char *text)
{
    put(p, text, strlen(text));
}

/* A label value with \, " and newline escaped, as the format requires. */
static void put_escaped(pc_prom *p, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            puts_(p, "\\\\");
        else if (*v == '"')
            puts_(p, "\\\"");
        else if (*v == '\n')
            puts_(p, "\\n");
        else
            put(p, v, 1);
    }
}

void pc_prom_family(pc_prom *p, const char *name, const char *type, const char *help)
{
    puts_(p, "# HELP ");
    puts_(p, name);
    puts_(p, " ");
    puts_(p, help);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    puts_(p, " ");
    puts_(p, type);
    puts_(p, "\n");
}

/* name{labels[,le="le"]} value\n; le may be NULL. */
static void sample(pc_prom *p, const char *name, const char *suffix, const pc_prom_labels *l,
                   const char *le, const char *value)
{
    size_t n = l ? l->n : 0;
    puts_(p, name);
    puts_(p, suffix);
    if (n || le) {
        puts_(p, "{");
        for (size_t i = 0; i < n; i++) {
            puts_(p, i ? "," : "");
            puts_(p, l->names[i]);
            puts_(p, "=\"");
            put_escaped(p, l->values[i]);
            puts_(p, "\"");
        }
        if (le) {
            puts_(p, n ? ",le=\"" : "le=\"");
            puts_(p, le);
            puts_(p, "\"");
        }
        puts_(p, "}");
    }
    puts_(p, " ");
    puts_(p, value);
    puts_(p, "\n");
}

void pc_prom_sample(pc_prom *p, const char *name, const pc_prom_labels *labels,
                    const char *value)
{
    sample(p, name, "", labels, NULL, value);
}

void pc_prom_sample_u64(pc_prom *p, const char *name, const pc_prom_labels *labels, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v);
    sample(p, name, "", labels, NULL, text);
}

void pc_prom_histogram(pc_prom *p, const char *name, const pc_prom_labels *labels,
                       const double *bounds, const uint64_t *counts, size_t n, double sum)
{
    char le[32], value[32];
    uint64_t total = 0;
    for (size_t i = 0; i <= n; i++) {
        total += counts[i];
        if (i < n)
            snprintf(le, sizeof le, "%.9g", bounds[i]);
        snprintf(value, sizeof value, "%" PRIu64, total);
        sample(p, name, "_bucket", labels, i < n ? le : "+Inf", value);
    }
    snprintf(value, sizeof value, "%.9g", sum);
    sample(p, name, "_sum", labels, NULL, value);
    snprintf(value, sizeof value, "%" PRIu64, total);
    sample(p, name, "_count", labels, NULL, value);
}

void pc_prom_free(pc_prom *p)
{
    free(p->buf);
    memset(p, 0, sizeof *p);
}
