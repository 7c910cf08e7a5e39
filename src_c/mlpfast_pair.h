/*
 * A pair of threads for the kernel calls of a fit: the calling thread and
 * one helper, each running its half of a mini-batch.  The helper runs from
 * mlpf_pair_start to mlpf_pair_stop, across calls: HelperThread in
 * mlpfast/_kernels.pyx keeps one for a whole fit and stops it when the fit
 * ends, because starting a thread costs about as much as a small batch.
 *
 * Waiting is a short spin (the other half of a batch usually ends within
 * microseconds), then polls that yield the core, and then a sleep on a
 * condition variable (see pair.c), so a busy core, or a helper left idle
 * between calls, costs a wake-up, not a spinning thread.
 */
#ifndef MLPFAST_PAIR_H
#define MLPFAST_PAIR_H

/* One half of a job: part is 0 on the calling thread, 1 on the helper. */
typedef void (*mlpf_part_fn)(void *context, int part);

typedef struct mlpf_pair mlpf_pair;

/* Starts the helper thread; NULL when it cannot be created. */
mlpf_pair *mlpf_pair_start(void);

/* Runs fn(context, 0) here and fn(context, 1) on the helper; returns when both are done. */
void mlpf_pair_run(mlpf_pair *pair, mlpf_part_fn fn, void *context);

/* Ends and joins the helper, frees the pair.  NULL is allowed. */
void mlpf_pair_stop(mlpf_pair *pair);

#endif
