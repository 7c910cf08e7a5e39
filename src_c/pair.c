/*
 * The two-thread runner of mlpfast_pair.h, on the threads, locks and
 * atomics of mlpfast_platform.h (POSIX threads, or Win32 threads on
 * Windows).
 */
#include <stdlib.h>

#include "mlpfast_pair.h"
#include "mlpfast_platform.h"

/*
 * How a waiting thread waits.  The serial step between two batch halves
 * (optimizer step, row gathering, a signal check) takes tens of
 * microseconds, and a wake-up from sleep took about as long on a virtual
 * machine, as long as a small batch half; so the waiting thread first
 * polls, for SPIN_NANOSECONDS, then polls yielding its core between polls
 * (a thread that is ready to run on the same core, such as the one it
 * waits for on a busy machine, runs instead), and sleeps only after
 * YIELD_NANOSECONDS.  Time, not a count of pause instructions: pause lasts
 * several times longer on some processors than on others.  Figures:
 * bench/MEASUREMENTS.md, 'Helper thread start and wake-up'.
 */
#define SPIN_NANOSECONDS 20000
#define YIELD_NANOSECONDS 200000
#define POLLS_PER_CLOCK_READ 32

struct mlpf_pair {
    mlpf_thread thread;
    mlpf_mutex lock;
    mlpf_cond job_posted;
    mlpf_cond job_done;
    mlpf_atomic_uint posted;     /* jobs posted so far */
    mlpf_atomic_uint completed;  /* jobs the helper has finished */
    mlpf_atomic_uint stopping;
    mlpf_part_fn fn;             /* written before `posted` is raised */
    void *context;
};

static int reached(mlpf_atomic_uint *counter, unsigned value, int until_equal)
{
    unsigned now = mlpf_atomic_load_acquire(counter);
    return (now == value) == until_equal;
}

/*
 * Polls *counter until it differs from (or, when `until_equal`, equals)
 * value; returns 0 if YIELD_NANOSECONDS pass first.
 */
static int spin_wait(mlpf_atomic_uint *counter, unsigned value, int until_equal)
{
    const long long start = mlpf_monotonic_nanoseconds();
    long long elapsed = 0;
    while (elapsed < SPIN_NANOSECONDS) {
        for (int i = 0; i < POLLS_PER_CLOCK_READ; i++) {
            if (reached(counter, value, until_equal)) {
                return 1;
            }
            MLPF_CPU_RELAX();
        }
        elapsed = mlpf_monotonic_nanoseconds() - start;
    }
    while (elapsed < YIELD_NANOSECONDS) {
        if (reached(counter, value, until_equal)) {
            return 1;
        }
        mlpf_yield();
        elapsed = mlpf_monotonic_nanoseconds() - start;
    }
    return reached(counter, value, until_equal);
}

MLPF_THREAD_FN(helper_main, arg)
{
    mlpf_pair *pair = (mlpf_pair *)arg;
    unsigned seen = 0;
    for (;;) {
        if (!spin_wait(&pair->posted, seen, 0)) {
            mlpf_mutex_lock(&pair->lock);
            while (mlpf_atomic_load_acquire(&pair->posted) == seen) {
                mlpf_cond_wait(&pair->job_posted, &pair->lock);
            }
            mlpf_mutex_unlock(&pair->lock);
        }
        seen = mlpf_atomic_load_acquire(&pair->posted);
        if (mlpf_atomic_load_acquire(&pair->stopping)) {
            return 0;
        }
        pair->fn(pair->context, 1);
        mlpf_mutex_lock(&pair->lock);
        mlpf_atomic_store_release(&pair->completed, seen);
        mlpf_cond_signal(&pair->job_done);
        mlpf_mutex_unlock(&pair->lock);
    }
}

mlpf_pair *mlpf_pair_start(void)
{
    mlpf_pair *pair = (mlpf_pair *)calloc(1, sizeof(mlpf_pair));
    if (pair == NULL) {
        return NULL;
    }
    mlpf_atomic_init(&pair->posted, 0);
    mlpf_atomic_init(&pair->completed, 0);
    mlpf_atomic_init(&pair->stopping, 0);
    if (mlpf_mutex_init(&pair->lock) != 0) {
        free(pair);
        return NULL;
    }
    if (mlpf_cond_init(&pair->job_posted) != 0) {
        mlpf_mutex_destroy(&pair->lock);
        free(pair);
        return NULL;
    }
    if (mlpf_cond_init(&pair->job_done) != 0) {
        mlpf_cond_destroy(&pair->job_posted);
        mlpf_mutex_destroy(&pair->lock);
        free(pair);
        return NULL;
    }
    if (mlpf_thread_create(&pair->thread, helper_main, pair) != 0) {
        mlpf_cond_destroy(&pair->job_done);
        mlpf_cond_destroy(&pair->job_posted);
        mlpf_mutex_destroy(&pair->lock);
        free(pair);
        return NULL;
    }
    return pair;
}

/* Raises `posted` under the lock, so a helper about to sleep cannot miss it. */
static unsigned post(mlpf_pair *pair)
{
    mlpf_mutex_lock(&pair->lock);
    unsigned job = mlpf_atomic_fetch_add(&pair->posted, 1) + 1;
    mlpf_cond_signal(&pair->job_posted);
    mlpf_mutex_unlock(&pair->lock);
    return job;
}

void mlpf_pair_run(mlpf_pair *pair, mlpf_part_fn fn, void *context)
{
    pair->fn = fn;
    pair->context = context;
    unsigned job = post(pair);
    fn(context, 0);
    if (!spin_wait(&pair->completed, job, 1)) {
        mlpf_mutex_lock(&pair->lock);
        while (mlpf_atomic_load_acquire(&pair->completed) != job) {
            mlpf_cond_wait(&pair->job_done, &pair->lock);
        }
        mlpf_mutex_unlock(&pair->lock);
    }
}

void mlpf_pair_stop(mlpf_pair *pair)
{
    if (pair == NULL) {
        return;
    }
    mlpf_atomic_store_release(&pair->stopping, 1);
    post(pair);
    mlpf_thread_join(pair->thread);
    mlpf_cond_destroy(&pair->job_done);
    mlpf_cond_destroy(&pair->job_posted);
    mlpf_mutex_destroy(&pair->lock);
    free(pair);
}
