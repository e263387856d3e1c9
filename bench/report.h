/*
 * Results of one run and how they are written: a markdown table with every
 * figure's ratio to tcp:// from the same run (latest.txt), the same numbers
 * as CSV and JSON, and a gnuplot chart (latest.png).
 */
#ifndef ZMTLS_BENCH_REPORT_H
#define ZMTLS_BENCH_REPORT_H

#include <stdio.h>

#include "bench.h"

#define MAX_ROUNDS 16

enum {
    R_LAT64_P50,
    R_LAT64_P99,
    R_LAT1K_P50,
    R_LAT1K_P99,
    R_THR64_MSG,
    R_THR64_MB,
    R_THR1K_MSG,
    R_THR1K_MB,
    R_THR64K_MSG,
    R_THR64K_MB,
    R_NEW,
    R_RECON,
    R_RECON_RESUMED,
    R_MEM,
    R_N
};

typedef struct row_def {
    const char *id;    /* CSV/JSON key */
    const char *label; /* table */
    const char *chart; /* x label on the chart; NULL: not charted */
    int better;        /* +1 higher is better, -1 lower is better */
} row_def_t;

extern const row_def_t bench_rows[R_N];

typedef struct cell {
    double v[MAX_ROUNDS]; /* by round */
    unsigned char has[MAX_ROUNDS];
    int n;          /* rounds that produced a value */
    char note[200]; /* shown instead of a value (n/a, failure), or after it */
} cell_t;

typedef struct report {
    cell_t cell[R_N][CASE_N];
    int rounds;
    char facts[24][768]; /* "name: value" lines describing the run */
    int nfacts;
    char notes[96][512]; /* observations and anomalies, in order */
    int nnotes;
} report_t;

void report_fact(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_note(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value a round measured (non-finite values are ignored). */
void report_add(report_t *r, int row, int kase, int round, double v);
void report_cell_note(report_t *r, int row, int kase, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Median of the cell's rounds; NAN when it has none. */
double report_median(const report_t *r, int row, int kase);
/* Median over rounds of value / tcp's value in the same round: a machine
 * that drifts between rounds moves both alike. NAN when no round has both. */
double report_ratio(const report_t *r, int row, int kase);

/* Writes latest.txt/.csv/.json into outdir and the gnuplot script to
 * plot_script (which draws outdir/latest.png). Returns 0 or -1. */
int report_write(const report_t *r, const char *outdir, const char *plot_script);
/* The table alone, to stdout at the end of a run. */
void report_print_table(const report_t *r, FILE *f);

#endif
