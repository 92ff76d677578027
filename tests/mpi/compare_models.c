/* SPDX-License-Identifier: BSD-2-Clause */
/* compare_models A.mnv2 B.mnv2 TOL: the largest difference between the two models' parameters and
 * between their batch-norm running statistics, each relative to the largest magnitude of B's
 * array; exit 0 when both are <= TOL (TOL 0: the arrays must be bit-identical), 1 otherwise, 2 on
 * a usage or load error. For the MPI tests (tests/mpi/run.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mnv2.h>
#include <mnv2_data.h>

static double worst(const float *a, const float *b, uint64_t n)
{
    double scale = 0.0, err = 0.0;
    for (uint64_t i = 0; i < n; i++)
        scale = fabs(b[i]) > scale ? fabs(b[i]) : scale;
    for (uint64_t i = 0; i < n; i++) {
        const double e = fabs((double)a[i] - (double)b[i]) / (scale > 0 ? scale : 1.0);
        err = e > err ? e : err;
    }
    return err;
}

static mnv2_model *load(const char *path)
{
    mnv2_load_options lo;
    mnv2_load_options_default(&lo);
    mnv2_model *m = NULL;
    if (mnv2_model_load(path, &lo, &m, NULL) != MNV2_OK) {
        fprintf(stderr, "compare_models: %s: %s\n", path, mnv2_last_error());
        exit(2);
    }
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: compare_models A.mnv2 B.mnv2 TOL\n");
        return 2;
    }
    const double tol = atof(argv[3]);
    mnv2_model *a = load(argv[1]), *b = load(argv[2]);
    uint64_t na, nb, ra, rb;
    const float *pa = mnv2_parameters(a, &na), *pb = mnv2_parameters(b, &nb);
    const float *ba = mnv2_buffers(a, &ra), *bb = mnv2_buffers(b, &rb);
    if (na != nb || ra != rb) {
        fprintf(stderr, "compare_models: the models have different shapes\n");
        return 1;
    }
    const double ep = worst(pa, pb, na), eb = worst(ba, bb, ra);
    const int same = memcmp(pa, pb, na * sizeof *pa) == 0 && memcmp(ba, bb, ra * sizeof *ba) == 0;
    printf("parameters %.3g, running statistics %.3g (relative), %s\n", ep, eb,
           same ? "bit-identical" : "not bit-identical");
    mnv2_model_destroy(a);
    mnv2_model_destroy(b);
    return (tol == 0.0 ? same : ep <= tol && eb <= tol) ? 0 : 1;
}
