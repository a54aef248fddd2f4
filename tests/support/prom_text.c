/* prom_text.c: see prom_text.h. */
#include "support/prom_text.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct family {
    char name[128];
    char type[16];
} family;

typedef struct reader {
    family fams[256];
    size_t n_fams;
    char *why;
    size_t cap;
    int line;
} reader;

static int bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(reader *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->why, r->cap, "line %d: %s", r->line, msg);
    return -1;
}

/* The length of a metric (or, label = 1, label) name at s: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static size_t name_len(const char *s, int label)
{
    size_t n = 0;
    while (isalpha((unsigned char)s[n]) || s[n] == '_' || (!label && s[n] == ':') ||
           (n > 0 && isdigit((unsigned char)s[n])))
        n++;
    return n;
}

static const family *family_of(const reader *r, const char *name, size_t len)
{
    static const char *const suffixes[] = {"", "_bucket", "_sum", "_count"};
    for (size_t i = 0; i < r->n_fams; i++)
        for (size_t k = 0; k < 4; k++) {
            size_t fl = strlen(r->fams[i].name), sl = strlen(suffixes[k]);
            if (fl + sl == len && strncmp(name, r->fams[i].name, fl) == 0 &&
                strncmp(name + fl, suffixes[k], sl) == 0 &&
                (k == 0 || strcmp(r->fams[i].type, "histogram") == 0))
                return &r->fams[i];
        }
    return NULL;
}

static int comment(reader *r, const char *line)
{
    char kind[8], name[128], rest[512];
    if (sscanf(line, "# %7s %127s %511[^\n]", kind, name, rest) != 3)
        return bad(r, "malformed comment");
    if (name_len(name, 0) != strlen(name))
        return bad(r, "bad metric name %s", name);
    if (strcmp(kind, "TYPE") == 0) {
        if (strcmp(rest, "counter") && strcmp(rest, "gauge") && strcmp(rest, "histogram"))
            return bad(r, "unknown type %s", rest);
        if (r->n_fams == sizeof r->fams / sizeof r->fams[0] || family_of(r, name, strlen(name)))
            return bad(r, "family %s declared twice (or too many)", name);
        snprintf(r->fams[r->n_fams].name, sizeof r->fams[0].name, "%s", name);
        memcpy(r->fams[r->n_fams++].type, rest, strlen(rest) + 1); /* one of the three: short */
    } else if (strcmp(kind, "HELP") != 0) {
        return bad(r, "unknown comment %s", kind);
    }
    return 0;
}

/* Reads {name="value",...} at *s (past the braces) into labels. */
static int read_labels(reader *r, const char **s, char *labels, size_t cap)
{
    const char *p = *s + 1, *start = p;
    while (*p != '}') {
        size_t n = name_len(p, 1);
        if (n == 0 || p[n] != '=' || p[n + 1] != '"')
            return bad(r, "malformed label");
        p += n + 2;
        for (; *p != '"'; p++) {
            if (!*p || *p == '\n')
                return bad(r, "unterminated label value");
            if (*p == '\\' && (p[1] != '\\' && p[1] != '"' && p[1] != 'n'))
                return bad(r, "bad escape in a label value");
            p += *p == '\\';
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return bad(r, "expected , or }");
    }
    if ((size_t)(p - start) >= cap)
        return bad(r, "labels too long");
    memcpy(labels, start, (size_t)(p - start));
    labels[p - start] = '\0';
    *s = p + 1;
    return 0;
}

static int sample(reader *r, const char *line, pc_test_prom *out)
{
    char labels[1024] = "", *end;
    size_t n = name_len(line, 0);
    const char *p = line + n;
    if (n == 0)
        return bad(r, "no metric name");
    if (!family_of(r, line, n))
        return bad(r, "sample %.*s before its # TYPE", (int)n, line);
    if (*p == '{' && read_labels(r, &p, labels, sizeof labels) != 0)
        return -1;
    if (*p++ != ' ')
        return bad(r, "expected a space before the value");
    double v = strtod(p, &end);
    if (end == p || *end != '\0' || isnan(v))
        return bad(r, "bad value '%s'", p);
    pc_test_prom_sample *grown = realloc(out->samples, (out->n + 1) * sizeof *grown);
    if (!grown)
        return bad(r, "out of memory");
    out->samples = grown;
    grown[out->n].name = strndup(line, n);
    grown[out->n].labels = strdup(labels);
    grown[out->n++].value = v;
    return 0;
}

int pc_test_prom_parse(const char *text, pc_test_prom *out, char *why, size_t cap)
{
    reader *r = calloc(1, sizeof *r);
    memset(out, 0, sizeof *out);
    if (!r)
        return -1;
    r->why = why;
    r->cap = cap;
    int rc = 0;
    while (rc == 0 && *text) {
        const char *nl = strchr(text, '\n');
        if (!nl) {
            rc = bad(r, "the last line has no newline");
            break;
        }
        char line[2048];
        size_t len = (size_t)(nl - text);
        r->line++;
        if (len >= sizeof line)
            rc = bad(r, "line too long");
        else {
            memcpy(line, text, len);
            line[len] = '\0';
            rc = line[0] == '#' ? comment(r, line) : sample(r, line, out);
        }
        text = nl + 1;
    }
    free(r);
    return rc;
}

double pc_test_prom_value(const pc_test_prom *p, const char *name, const char *labels,
                          double missing)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->samples[i].name, name) == 0 && strcmp(p->samples[i].labels, labels) == 0)
            return p->samples[i].value;
    return missing;
}

void pc_test_prom_free(pc_test_prom *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->samples[i].name);
        free(p->samples[i].labels);
    }
    free(p->samples);
    memset(p, 0, sizeof *p);
}
