/*
 * Training curves as a hand-written SVG file.
 * SPDX-License-Identifier: BSD-2-Clause
 */
#include "svg.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#define PANEL_W 440.0
#define PANEL_H 320.0
#define LEFT 60.0 /* room for the y tick labels */
#define TOP 40.0
#define TITLE_H 24.0 /* the line above the panels */
#define PLOT_W (PANEL_W - LEFT - 20.0)
#define PLOT_H (PANEL_H - TOP - 50.0)

static const char *const colors[2] = {"#1f77b4", "#d62728"};
static const char *const series[2] = {"train", "test"};

typedef struct axis {
    double lo, hi, step;
} axis;

/* Ticks at 1, 2 or 5 times a power of ten, about five of them, covering [lo, hi]. */
static axis nice_axis(double lo, double hi)
{
    /* A range below the values' precision (e.g. 33.333333333333336 vs 33.33333333333333) would give
     * a step that adding to lo does not change: the tick loop would never end. */
    if (!(hi - lo > 1e-9 * (fabs(lo) > 1.0 ? fabs(lo) : 1.0)))
        hi = lo + 1.0;
    double raw = (hi - lo) / 5.0, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    double step = (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
    axis a = {floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step, step};
    return a;
}

static void text_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
}

/* One panel at (x0, y0): values[k][i] is series k at epoch i + 1. */
static void panel(FILE *f, double x0, double y0, const char *name, const double *values[2], uint32_t n,
                  axis ya, int legend_bottom)
{
    double ox = x0 + LEFT, oy = y0 + TOP + PLOT_H; /* the plot's origin, bottom left */
    double xs = PLOT_W / (double)n, ys = PLOT_H / (ya.hi - ya.lo);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='15' text-anchor='middle'>%s</text>\n", ox + PLOT_W / 2,
            y0 + 24, name);
    fprintf(f, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#333'/>\n", ox,
            oy - PLOT_H, PLOT_W, PLOT_H);
    for (double v = ya.lo; v <= ya.hi + ya.step * 1e-6; v += ya.step) { /* y ticks and grid */
        double y = oy - (v - ya.lo) * ys;
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", ox, y, ox + PLOT_W, y);
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#333'/>\n", ox - 5, y, ox, y);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n", ox - 8, y + 4,
                fabs(v) < ya.step * 1e-6 ? 0.0 : v);
    }
    axis xa = nice_axis(0, n); /* x: epoch i at the middle of slot i */
    uint32_t xstep = xa.step < 1 ? 1 : (uint32_t)xa.step;
    for (uint32_t e = xstep == 1 ? 1 : xstep; e <= n; e += xstep) {
        double x = ox + ((double)e - 0.5) * xs;
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#333'/>\n", x, oy, x, oy + 5);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='middle'>%u</text>\n", x, oy + 18,
                (unsigned)e);
    }
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>epoch</text>\n", ox + PLOT_W / 2,
            oy + 36);
    fprintf(f, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle' transform='rotate(-90 %.1f %.1f)'>%s"
               "</text>\n", x0 + 16, oy - PLOT_H / 2, x0 + 16, oy - PLOT_H / 2, name);
    for (int k = 0; k < 2; k++) {
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", colors[k]);
        for (uint32_t i = 0; i < n; i++)
            fprintf(f, "%s%.1f,%.1f", i ? " " : "", ox + (i + 0.5) * xs, oy - (values[k][i] - ya.lo) * ys);
        fprintf(f, "'/>\n");
        for (uint32_t i = 0; i < n; i++)
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", ox + (i + 0.5) * xs,
                    oy - (values[k][i] - ya.lo) * ys, colors[k]);
        double ly = (legend_bottom ? oy - 28 : oy - PLOT_H + 16) + 16 * k, lx = ox + PLOT_W - 70; /* legend */
        fprintf(f, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'/>\n", lx, ly - 4,
                lx + 20, ly - 4, colors[k]);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='12'>%s</text>\n", lx + 26, ly, series[k]);
    }
}

static void range(const double *a, const double *b, uint32_t n, double *lo, double *hi)
{
    *lo = *hi = a[0];
    for (uint32_t i = 0; i < n; i++) {
        *lo = fmin(*lo, fmin(a[i], b[i]));
        *hi = fmax(*hi, fmax(a[i], b[i]));
    }
}

int ex_svg_write(const char *path, const ex_epoch *rows, uint32_t n, const char *title)
{
    double loss[2][1024], acc[2][1024];
    n = n > 1024 ? 1024 : n; /* plots show the first 1024 epochs */
    for (uint32_t i = 0; i < n; i++) {
        loss[0][i] = rows[i].train_loss, loss[1][i] = rows[i].test_loss;
        acc[0][i] = rows[i].train_acc, acc[1][i] = rows[i].test_acc;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<?xml version='1.0' encoding='UTF-8'?>\n"
               "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' font-family='sans-serif'>\n"
               "<rect width='100%%' height='100%%' fill='white'/>\n"
               "<text x='%.0f' y='20' font-size='14' text-anchor='middle'>",
            2 * PANEL_W, PANEL_H + TITLE_H, PANEL_W);
    text_escaped(f, title);
    fprintf(f, "</text>\n");
    double lo, hi;
    range(loss[0], loss[1], n, &lo, &hi);
    const double *lv[2] = {loss[0], loss[1]}, *av[2] = {acc[0], acc[1]};
    panel(f, 0, TITLE_H, "loss", lv, n, nice_axis(0, hi), 0); /* loss falls: legend at the top */
    range(acc[0], acc[1], n, &lo, &hi);
    axis aa = nice_axis(lo, hi);
    aa.hi = fmin(aa.hi, 100);
    if (aa.hi - aa.lo < aa.step)
        aa.lo = aa.hi - aa.step;
    panel(f, PANEL_W, TITLE_H, "accuracy (%)", av, n, aa, 1);
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}
