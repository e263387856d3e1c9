/* The markdown report: facts, one table row per attack and transport, notes. */
#include "hostile.h"

#include <string.h>

static void mib(char *buf, size_t len, long kb)
{
    if (kb < 0)
        tool_fmt(buf, len, "-");
    else
        tool_fmt(buf, len, "%.1f", (double)kb / 1024.0);
}

static void count(char *buf, size_t len, long v)
{
    if (v < 0)
        tool_fmt(buf, len, "-");
    else
        tool_fmt(buf, len, "%ld", v);
}

/* A table cell: no '|' or newline inside. */
static void cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++)
        fputc(*s == '|' ? '/' : *s == '\n' ? ' ' : *s, f);
}

static void row_write(FILE *f, const hs_row_t *r)
{
    char rb[16], rp[16], ra[16], vs[32], fb[16], fp[16], fa[16];
    mib(rb, sizeof(rb), r->before.ok ? r->before.rss_kb : -1);
    mib(rp, sizeof(rp), r->peak.ok ? r->peak.rss_kb : -1);
    mib(ra, sizeof(ra), r->after.ok ? r->after.rss_kb : -1);
    if (r->peak.ok)
        hs_fmt_bytes(vs, sizeof(vs), (double)r->peak.peak_kb * 1024.0);
    else
        tool_fmt(vs, sizeof(vs), "-");
    count(fb, sizeof(fb), r->before.ok ? r->before.fds : -1);
    count(fp, sizeof(fp), r->peak.ok ? r->peak.fds : -1);
    count(fa, sizeof(fa), r->after.ok ? r->after.fds : -1);
    fprintf(f, "| %s | %s | %s / %s / %s | %s | %s / %s / %s | ", r->transport,
            r->attack->name, rb, rp, ra, vs, fb, fp, fa);
    /* CPU from before to after; up to the last sample when the server died. */
    const hs_sample_t *end = r->after.ok ? &r->after : &r->peak;
    if (r->before.ok && end->ok)
        fprintf(f, "%.2f | ", end->cpu_s - r->before.cpu_s);
    else
        fprintf(f, "- | ");
    if (r->client_ok && r->replies > 0)
        fprintf(f, "%.1f / %.1f / %.1f | ", r->p50_ms, r->p99_ms, r->max_ms);
    else
        fprintf(f, "- | ");
    if (r->client_ok)
        fprintf(f, "%ld / %ld | ", r->timeouts, r->sent);
    else
        fprintf(f, "- | ");
    cell(f, r->out.outcome);
    if (r->server_end[0]) {
        fprintf(f, "; ");
        cell(f, r->server_end);
    }
    fprintf(f, " |\n");
}

void hs_report_write(FILE *f, const char *facts, const hs_row_t *rows, size_t n)
{
    fprintf(f, "# zmtls: hostile peers against a tls:// REP server\n\n");
    fprintf(f, "%s\n", facts);
    fprintf(f,
            "| transport | attack | server RSS MiB before / peak / after | VmSize peak "
            "| fds before / peak / after | server CPU s | good client p50 / p99 / max "
            "ms | timeouts / sent | outcome |\n");
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++)
        row_write(f, &rows[i]);
    fprintf(f, "\nNotes:\n\n");
    for (size_t i = 0; i < n; i++) {
        const hs_row_t *r = &rows[i];
        fprintf(f, "- %s %s (%s): %s", r->transport, r->attack->name, r->attack->what,
                r->out.detail);
        if (r->after.ok && r->settle_s >= 0)
            fprintf(f, " After: settled %.1f s after the attack.", r->settle_s);
        else if (r->after.ok)
            fprintf(f, " After: not settled by the deadline (fds or RSS still moving).");
        if (r->client_ok && r->sent > r->replies + r->timeouts)
            fprintf(f, " Good client: %ld requests unanswered at the end.",
                    r->sent - r->replies - r->timeouts);
        if (!r->client_ok && r->before.ok)
            fprintf(f, " Good client: no result.");
        if (r->out.failed)
            fprintf(f, " The attack could not be made.");
        fprintf(f, "\n");
    }
}
