/*
 * A C program over src_c without Python, for the platforms CI can build for
 * but not run mlpfast's tests on (tools/check_c_portable.sh): it checks the
 * thread team (its helpers busy, asleep and passed over), the flush-to-zero
 * switches, the choice of SIMD path and that every path this CPU runs gives
 * the same bits.  Exits 0 and
 * prints "platform smoke: OK" when every check passes.
 */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "mlpfast_elementwise.h"
#include "mlpfast_platform.h"
#include "mlpfast_simd.h"
#include "mlpfast_team.h"

static int failures = 0;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAILED: %s\n", what);
        failures++;
    }
}

#define JOBS 2000
#define SLEEPY_JOBS 200
#define HELPERS 3

/* Each part of a job counts its calls in its own slot. */
static void count_part(void *context, int part)
{
    long *counts = (long *)context;
    counts[part] += 1;
}

/*
 * Runs one job of n_parts parts (brief: mlpf_team_run_brief) and counts
 * the parts it should have run; returns whether every part ran once.  Run
 * returns only after every part: the helpers' counts are current.
 */
static int run_counted(mlpf_team *team, long *counts, long *expected, int n_parts, int brief)
{
    if (brief) {
        mlpf_team_run_brief(team, count_part, counts, n_parts);
    } else {
        mlpf_team_run(team, count_part, counts, n_parts);
    }
    for (int part = 0; part < n_parts; part++) {
        expected[part] += 1;
    }
    return memcmp(counts, expected, (HELPERS + 2) * sizeof *counts) == 0;
}

static void check_team(void)
{
    long counts[HELPERS + 2] = {0};
    long expected[HELPERS + 2] = {0};
    mlpf_team *team = mlpf_team_start(HELPERS);
    check(team != NULL, "mlpf_team_start starts its helper threads");
    if (team == NULL) {
        return;
    }
    check(mlpf_team_helpers(team) == HELPERS, "mlpf_team_helpers counts the helpers");
    /* 1 to HELPERS + 2 parts: fewer parts than helpers, and more. */
    int ok = 1;
    for (int job = 0; job < JOBS && ok; job++) {
        ok = run_counted(team, counts, expected, 1 + job % (HELPERS + 2), 0);
    }
    check(ok, "mlpf_team_run returns after each part has run once");
    /* Jobs after the helpers fell asleep (team.c: they sleep after 0.2 ms
       without a job), whose parts the caller may run itself (a helper that
       has not begun) or pass over (mlpf_team_run_brief, a helper asleep),
       and brief jobs back to back, which wake them: every part still runs
       exactly once. */
    ok = 1;
    for (int job = 0; job < SLEEPY_JOBS && ok; job++) {
        if (job % 4 != 3) {
            long long until = mlpf_monotonic_nanoseconds() + 300000;
            while (mlpf_monotonic_nanoseconds() < until) {
            }
        }
        ok = run_counted(team, counts, expected, 2 + job % (HELPERS + 1), job % 2);
    }
    check(ok, "each part runs once when helpers sleep between jobs");
    mlpf_team_stop(team);
    check(mlpf_team_start(0) == NULL, "a team of no helpers is refused");
}

static void check_flush(void)
{
    volatile double tiny = DBL_MIN / 4;   /* subnormal */
    volatile double one = 1.0;
    unsigned saved = mlpf_flush_subnormals_begin();
    volatile double flushed = tiny * one;
    mlpf_flush_subnormals_end(saved);
    volatile double kept = tiny * one;
    check(kept == DBL_MIN / 4, "subnormals are kept after mlpf_flush_subnormals_end");
#if defined(__SSE__) || defined(_M_X64) || defined(__aarch64__)
    check(flushed == 0.0, "subnormals are flushed between begin and end");
#else
    printf("flush-to-zero is a no-op on this target (result %g)\n", (double)flushed);
#endif
}

static void check_choice(void)
{
    const unsigned all = (1u << MLPF_SIMD_BASELINE) | (1u << MLPF_SIMD_AVX2) |
                         (1u << MLPF_SIMD_AVX512);
    const unsigned no_avx512 = all & ~(1u << MLPF_SIMD_AVX512);
    char note[200];
    check(mlpf_simd_choose(NULL, all, note, sizeof note) == MLPF_SIMD_AVX512 && !note[0],
          "no request: the best path");
    check(mlpf_simd_choose("baseline", all, note, sizeof note) == MLPF_SIMD_BASELINE &&
              !note[0],
          "a lower path on request");
    check(mlpf_simd_choose("avx512", no_avx512, note, sizeof note) == MLPF_SIMD_AVX2 &&
              strstr(note, "avx2 path") != NULL,
          "an unavailable path: the best below it, with a note");
    check(mlpf_simd_choose("avx2", 1u << MLPF_SIMD_BASELINE, note, sizeof note) ==
              MLPF_SIMD_BASELINE && note[0],
          "an unavailable path with only the baseline below it");
    check(mlpf_simd_choose("sse9", no_avx512, note, sizeof note) == MLPF_SIMD_AVX2 &&
              strstr(note, "not one of") != NULL,
          "an unknown name: the best path, with a note");
}

/*
 * row_times_matrix on every path this CPU runs against the plain loop it
 * promises (each output summed over the rows in order from 0), as bits:
 * 37 rows (not a multiple of the four it takes at a time), 23 columns,
 * weights one element off a 64-byte boundary (its first columns apart).
 */
static void check_row_times_matrix(void)
{
    enum { N_IN = 37, N_OUT = 23 };
    static double w[N_IN * N_OUT + 1], x[N_IN], z[N_OUT], expected[N_OUT];
    static float wf[N_IN * N_OUT + 1], xf[N_IN], zf[N_OUT], expected_f[N_OUT];
    unsigned available = mlpf_simd_available();
    for (int i = 0; i < N_IN * N_OUT + 1; i++) {
        w[i] = 0.37 * ((i * 7) % 19) - 2.9;
        wf[i] = (float)w[i];
    }
    for (int i = 0; i < N_IN; i++) {
        x[i] = 1.3 - 0.11 * i;
        xf[i] = (float)x[i];
    }
    for (int j = 0; j < N_OUT; j++) {
        double sum = 0.0;
        float sum_f = 0.0f;
        for (int i = 0; i < N_IN; i++) {
            sum += x[i] * w[1 + i * N_OUT + j];
            sum_f += xf[i] * wf[1 + i * N_OUT + j];
        }
        expected[j] = sum;
        expected_f[j] = sum_f;
    }
    for (int path = 0; path < MLPF_SIMD_N_PATHS; path++) {
        const mlpf_simd_table *kernels = mlpf_simd_kernels(path);
        if (!(available & (1u << path))) {
            continue;
        }
        kernels->fn_mlpf_row_times_matrix_f64(x, w + 1, N_IN, N_OUT, z);
        kernels->fn_mlpf_row_times_matrix_f32(xf, wf + 1, N_IN, N_OUT, zf);
        check(memcmp(z, expected, sizeof z) == 0,
              "row_times_matrix (double): the plain loop's bits on every path");
        check(memcmp(zf, expected_f, sizeof zf) == 0,
              "row_times_matrix (float): the plain loop's bits on every path");
    }
}

/*
 * exp and one Adam step (on the gradient of three batch parts) on every
 * path this CPU runs, compared as bits.
 */
static void check_paths_agree(void)
{
    enum { N = 1001 };
    static double reference[N], x[N];
    static float params_ref[N], params[N], m[N], v[N], grad[3][N];
    const float *grad_parts[3] = {grad[0], grad[1], grad[2]};
    const mlpf_run_update finish = {1e-4, 1, 32.0, 1.0, 1.0};
    const mlpf_adam_step step = {1e-3, 0.9, 0.999, 1e-8};
    unsigned available = mlpf_simd_available();
    int compared = 0;
    for (int path = 0; path < MLPF_SIMD_N_PATHS; path++) {
        const mlpf_simd_table *kernels = mlpf_simd_kernels(path);
        if (!(available & (1u << path))) {
            continue;
        }
        for (int i = 0; i < N; i++) {
            x[i] = -30.0 + 0.06 * i;
            params[i] = (float)(0.01 * (i % 37) - 0.2);
            m[i] = v[i] = 0.0f;
            for (int part = 0; part < 3; part++) {
                grad[part][i] = (float)(0.5 * ((i + part) % 11) - 2.4);
            }
        }
        kernels->fn_mlpf_exp_inplace_f64(x, N);
        kernels->fn_mlpf_adam_finish_update_f32(params, m, v, grad_parts, 3, N, &finish,
                                                &step);
        if (compared++ == 0) {
            memcpy(reference, x, sizeof x);
            memcpy(params_ref, params, sizeof params);
        } else {
            check(memcmp(reference, x, sizeof x) == 0, "exp: same bits on every path");
            check(memcmp(params_ref, params, sizeof params) == 0,
                  "Adam step: same bits on every path");
        }
        printf("path %s: ran\n", mlpf_simd_name(path));
    }
    check(compared >= 1, "at least the baseline path runs");
    printf("active path: %s\n", mlpf_simd_name(mlpf_simd_active()));
}

int main(void)
{
    check_team();
    check_flush();
    check_choice();
    check_row_times_matrix();
    check_paths_agree();
    if (failures) {
        printf("platform smoke: %d check(s) FAILED\n", failures);
        return 1;
    }
    printf("platform smoke: OK\n");
    return 0;
}
