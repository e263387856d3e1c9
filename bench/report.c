/* latest.txt (markdown), latest.csv, latest.json and the gnuplot script. */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows in table order. The chart shows one row per distinct comparison
 * (MB/s has the same ratio as msg/s, so it is left out there). */
const row_def_t bench_rows[R_N] = {
    {"reqrep_64_p50_us", "REQ/REP 64 B latency p50, µs ↓", "REQ/REP 64 B p50", -1},
    {"reqrep_64_p99_us", "REQ/REP 64 B latency p99, µs ↓", "REQ/REP 64 B p99", -1},
    {"reqrep_1k_p50_us", "REQ/REP 1 KB latency p50, µs ↓", "REQ/REP 1 KB p50", -1},
    {"reqrep_1k_p99_us", "REQ/REP 1 KB latency p99, µs ↓", "REQ/REP 1 KB p99", -1},
    {"pushpull_64_msg_s", "PUSH/PULL 64 B, msg/s ↑", "PUSH/PULL 64 B", +1},
    {"pushpull_64_mb_s", "PUSH/PULL 64 B, MB/s ↑", NULL, +1},
    {"pushpull_1k_msg_s", "PUSH/PULL 1 KB, msg/s ↑", "PUSH/PULL 1 KB", +1},
    {"pushpull_1k_mb_s", "PUSH/PULL 1 KB, MB/s ↑", NULL, +1},
    {"pushpull_64k_msg_s", "PUSH/PULL 64 KB, msg/s ↑", "PUSH/PULL 64 KB", +1},
    {"pushpull_64k_mb_s", "PUSH/PULL 64 KB, MB/s ↑", NULL, +1},
    {"new_conn_per_s", "new connections/s, full handshake ↑", "new connection", +1},
    {"reconnect_per_s", "reconnects/s, full handshake ↑", "reconnect (full)", +1},
    {"reconnect_resumed_per_s", "reconnects/s, TLS session resumed ↑",
     "reconnect (resumed)", +1},
    {"rss_kib_per_conn", "server RSS per idle connection, KiB ↓", "RSS per connection",
     -1},
};

static const char *const case_title[CASE_N] = {"tcp", "curve", "stunnel", "tls (zmtls)"};

void report_fact(report_t *r, const char *fmt, ...)
{
    if (r->nfacts >= (int)(sizeof(r->facts) / sizeof(r->facts[0])))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->facts[r->nfacts++], sizeof(r->facts[0]), fmt, ap);
    va_end(ap);
}

void report_note(report_t *r, const char *fmt, ...)
{
    if (r->nnotes >= (int)(sizeof(r->notes) / sizeof(r->notes[0])))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[r->nnotes++], sizeof(r->notes[0]), fmt, ap);
    va_end(ap);
}

void report_add(report_t *r, int row, int kase, int round, double v)
{
    cell_t *c = &r->cell[row][kase];
    if (!isfinite(v) || round < 0 || round >= MAX_ROUNDS || c->has[round])
        return;
    c->v[round] = v;
    c->has[round] = 1;
    c->n++;
}

void report_cell_note(report_t *r, int row, int kase, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->cell[row][kase].note, sizeof(r->cell[row][kase].note), fmt, ap);
    va_end(ap);
}

static double median(double *v, int n)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof(double), tool_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double report_median(const report_t *r, int row, int kase)
{
    const cell_t *c = &r->cell[row][kase];
    double v[MAX_ROUNDS];
    int n = 0;
    for (int i = 0; i < MAX_ROUNDS; i++)
        if (c->has[i])
            v[n++] = c->v[i];
    return median(v, n);
}

double report_ratio(const report_t *r, int row, int kase)
{
    const cell_t *c = &r->cell[row][kase], *t = &r->cell[row][CASE_TCP];
    double v[MAX_ROUNDS];
    int n = 0;
    for (int i = 0; i < MAX_ROUNDS; i++)
        if (c->has[i] && t->has[i] && t->v[i] > 0)
            v[n++] = c->v[i] / t->v[i];
    return median(v, n);
}

static double ratio(const report_t *r, int row, int kase)
{
    return report_ratio(r, row, kase);
}

/* Three significant digits or so, with k/M for large rates. */
static void fmt_value(char *buf, size_t len, double v)
{
    double a = fabs(v);
    if (a >= 1e6)
        snprintf(buf, len, "%.2fM", v / 1e6);
    else if (a >= 1e5)
        snprintf(buf, len, "%.0fk", v / 1e3);
    else if (a >= 1e4)
        snprintf(buf, len, "%.1fk", v / 1e3);
    else if (a >= 100)
        snprintf(buf, len, "%.0f", v);
    else if (a >= 10)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.2f", v);
}

static void cell_text(const report_t *r, int row, int kase, char *buf, size_t len)
{
    const cell_t *c = &r->cell[row][kase];
    if (c->n == 0) {
        snprintf(buf, len, "%s", c->note[0] ? c->note : "—");
        return;
    }
    char v[32], q[32] = "?";
    fmt_value(v, sizeof(v), report_median(r, row, kase));
    double x = ratio(r, row, kase);
    if (isfinite(x))
        snprintf(q, sizeof(q), "%.2f", x);
    snprintf(buf, len, "%s (%s)%s%s", v, q, c->note[0] ? " " : "", c->note);
}

void report_print_table(const report_t *r, FILE *f)
{
    fprintf(f, "| metric | %s | %s | %s | %s |\n|---|---:|---:|---:|---:|\n",
            case_title[0], case_title[1], case_title[2], case_title[3]);
    for (int row = 0; row < R_N; row++) {
        fprintf(f, "| %s |", bench_rows[row].label);
        for (int k = 0; k < CASE_N; k++) {
            char cell[256];
            cell_text(r, row, k, cell, sizeof(cell));
            fprintf(f, " %s |", cell);
        }
        fputc('\n', f);
    }
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        perror(path);
    return f;
}

static int write_txt(const report_t *r, const char *dir)
{
    FILE *f = open_out(dir, "latest.txt");
    if (f == NULL)
        return -1;
    /* No heading of its own: README.md pastes this file under one. */
    fprintf(f, "zmtls benchmark: tls:// against tcp://, CURVE and stunnel.\n\n");
    for (int i = 0; i < r->nfacts; i++)
        fprintf(f, "- %s\n", r->facts[i]);
    fprintf(f, "\nEach cell: value (ratio to tcp://). The value is the median across "
               "rounds; the ratio is the median across rounds of value / tcp:// value in "
               "the same round. ↓ lower is better, ↑ higher is better.\n\n");
    report_print_table(r, f);
    if (r->nnotes > 0) {
        fprintf(f, "\nNotes:\n\n");
        for (int i = 0; i < r->nnotes; i++)
            fprintf(f, "- %s\n", r->notes[i]);
    }
    return fclose(f);
}

static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.6g", v);
    else
        fputs(",", f);
}

static int write_csv(const report_t *r, const char *dir)
{
    FILE *f = open_out(dir, "latest.csv");
    if (f == NULL)
        return -1;
    fputs("metric,label,better", f);
    for (int k = 0; k < CASE_N; k++)
        fprintf(f, ",%s", bench_case_name[k]);
    for (int k = 0; k < CASE_N; k++)
        fprintf(f, ",%s_ratio", bench_case_name[k]);
    for (int k = 0; k < CASE_N; k++)
        fprintf(f, ",%s_note", bench_case_name[k]);
    fputc('\n', f);
    for (int row = 0; row < R_N; row++) {
        fprintf(f, "%s,", bench_rows[row].id);
        csv_str(f, bench_rows[row].label);
        fprintf(f, ",%s", bench_rows[row].better > 0 ? "higher" : "lower");
        for (int k = 0; k < CASE_N; k++)
            csv_num(f, report_median(r, row, k));
        for (int k = 0; k < CASE_N; k++)
            csv_num(f, ratio(r, row, k));
        for (int k = 0; k < CASE_N; k++) {
            fputc(',', f);
            csv_str(f, r->cell[row][k].note);
        }
        fputc('\n', f);
    }
    return fclose(f);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static int write_json(const report_t *r, const char *dir)
{
    FILE *f = open_out(dir, "latest.json");
    if (f == NULL)
        return -1;
    fprintf(f, "{\n  \"rounds\": %d,\n  \"facts\": [", r->rounds);
    for (int i = 0; i < r->nfacts; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        json_str(f, r->facts[i]);
    }
    fputs("\n  ],\n  \"rows\": [", f);
    for (int row = 0; row < R_N; row++) {
        fprintf(f, "%s\n    {\"metric\": ", row ? "," : "");
        json_str(f, bench_rows[row].id);
        fputs(", \"label\": ", f);
        json_str(f, bench_rows[row].label);
        fprintf(f, ", \"better\": \"%s\", \"cases\": {",
                bench_rows[row].better > 0 ? "higher" : "lower");
        for (int k = 0; k < CASE_N; k++) {
            const cell_t *c = &r->cell[row][k];
            fprintf(f, "%s\n      \"%s\": {\"median\": ", k ? "," : "",
                    bench_case_name[k]);
            json_num(f, report_median(r, row, k));
            fputs(", \"ratio\": ", f);
            json_num(f, ratio(r, row, k));
            fputs(", \"rounds\": [", f);
            for (int i = 0; i < r->rounds && i < MAX_ROUNDS; i++) {
                fputs(i ? ", " : "", f);
                json_num(f, c->has[i] ? c->v[i] : NAN);
            }
            fputs("], \"note\": ", f);
            json_str(f, c->note);
            fputc('}', f);
        }
        fputs("}}", f);
    }
    fputs("\n  ],\n  \"notes\": [", f);
    for (int i = 0; i < r->nnotes; i++) {
        fputs(i ? ",\n    " : "\n    ", f);
        json_str(f, r->notes[i]);
    }
    fputs("\n  ]\n}\n", f);
    return fclose(f);
}

/* Bars show cost relative to tcp:// so that up is always worse: the ratio
 * for latency and memory, its inverse for rates. */
static double cost(const report_t *r, int row, int kase)
{
    double x = ratio(r, row, kase);
    if (!isfinite(x) || x <= 0)
        return NAN;
    return bench_rows[row].better > 0 ? 1.0 / x : x;
}

static int write_plot(const report_t *r, const char *dir, const char *script)
{
    FILE *f = fopen(script, "w");
    if (f == NULL) {
        perror(script);
        return -1;
    }
    double lo = 1, hi = 1;
    fputs("$data << EOD\n", f);
    for (int row = 0; row < R_N; row++) {
        if (bench_rows[row].chart == NULL)
            continue;
        fprintf(f, "\"%s\"", bench_rows[row].chart);
        for (int k = CASE_CURVE; k < CASE_N; k++) {
            double c = cost(r, row, k);
            if (isfinite(c)) {
                fprintf(f, " %.4g", c);
                lo = c < lo ? c : lo;
                hi = c > hi ? c : hi;
            } else {
                fputs(" ?", f);
            }
        }
        fputc('\n', f);
    }
    fputs("EOD\n", f);
    fprintf(f,
            "set terminal pngcairo size 1400,720 font \"DejaVu Sans,10\"\n"
            "set output \"%s/latest.png\"\n"
            "set title \"zmtls bench: cost relative to tcp:// of the same run "
            "(latency, memory: x / tcp; rates: tcp / x; above 1 = worse than tcp)\"\n"
            "set datafile missing \"?\"\n"
            "set style data histograms\n"
            "set style histogram clustered gap 1\n"
            "set style fill solid 0.85 border -1\n"
            "set boxwidth 0.9\n"
            "set logscale y 2\n"
            "set yrange [%g:%g]\n"
            "set ylabel \"x tcp:// (log scale)\"\n"
            "set grid ytics\n"
            "set xtics rotate by -30 left nomirror\n"
            "set key top left\n"
            "set bmargin 8\n"
            "plot $data using 2:xtic(1) title \"curve\" lc rgb \"#4e79a7\", \\\n"
            "     '' using 3 title \"stunnel\" lc rgb \"#f28e2b\", \\\n"
            "     '' using 4 title \"tls (zmtls)\" lc rgb \"#e15759\", \\\n"
            "     '' using ($0-0.25):2:(sprintf(\"%%.2f\",$2)) with labels offset 0,0.6 "
            "font \",7\" notitle, \\\n"
            "     '' using ($0):3:(sprintf(\"%%.2f\",$3)) with labels offset 0,0.6 font "
            "\",7\" notitle, \\\n"
            "     '' using ($0+0.25):4:(sprintf(\"%%.2f\",$4)) with labels offset 0,0.6 "
            "font \",7\" notitle, \\\n"
            "     1 with lines dt 2 lw 1.5 lc rgb \"black\" title \"tcp:// = 1\"\n",
            dir, lo / 1.5, hi * 1.8);
    return fclose(f);
}

int report_write(const report_t *r, const char *outdir, const char *plot_script)
{
    int rc = 0;
    rc |= write_txt(r, outdir);
    rc |= write_csv(r, outdir);
    rc |= write_json(r, outdir);
    if (plot_script != NULL)
        rc |= write_plot(r, outdir, plot_script);
    return rc != 0 ? -1 : 0;
}
