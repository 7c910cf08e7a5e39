/* The two-thread runner of mlpfast_pair.h, on POSIX threads and C11 atomics. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "mlpfast_pair.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MLPF_CPU_RELAX() _mm_pause()
#else
#define MLPF_CPU_RELAX() ((void)0)
#endif

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
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t job_posted;
    pthread_cond_t job_done;
    atomic_uint posted;     /* jobs posted so far */
    atomic_uint completed;  /* jobs the helper has finished */
    atomic_int stopping;
    mlpf_part_fn fn;        /* written before `posted` is raised */
    void *context;
};

static long long monotonic_nanoseconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static int reached(atomic_uint *counter, unsigned value, int until_equal)
{
    unsigned now = atomic_load_explicit(counter, memory_order_acquire);
    return (now == value) == until_equal;
}

/*
 * Polls *counter until it differs from (or, when `until_equal`, equals)
 * value; returns 0 if YIELD_NANOSECONDS pass first.
 */
static int spin_wait(atomic_uint *counter, unsigned value, int until_equal)
{
    const long long start = monotonic_nanoseconds();
    long long elapsed = 0;
    while (elapsed < SPIN_NANOSECONDS) {
        for (int i = 0; i < POLLS_PER_CLOCK_READ; i++) {
            if (reached(counter, value, until_equal)) {
                return 1;
            }
            MLPF_CPU_RELAX();
        }
        elapsed = monotonic_nanoseconds() - start;
    }
    while (elapsed < YIELD_NANOSECONDS) {
        if (reached(counter, value, until_equal)) {
            return 1;
        }
        sched_yield();
        elapsed = monotonic_nanoseconds() - start;
    }
    return reached(counter, value, until_equal);
}

static void *helper_main(void *arg)
{
    mlpf_pair *pair = (mlpf_pair *)arg;
    unsigned seen = 0;
    for (;;) {
        if (!spin_wait(&pair->posted, seen, 0)) {
            pthread_mutex_lock(&pair->lock);
            while (atomic_load_explicit(&pair->posted, memory_order_acquire) == seen) {
                pthread_cond_wait(&pair->job_posted, &pair->lock);
            }
            pthread_mutex_unlock(&pair->lock);
        }
        seen = atomic_load_explicit(&pair->posted, memory_order_acquire);
        if (atomic_load_explicit(&pair->stopping, memory_order_acquire)) {
            return NULL;
        }
        pair->fn(pair->context, 1);
        pthread_mutex_lock(&pair->lock);
        atomic_store_explicit(&pair->completed, seen, memory_order_release);
        pthread_cond_signal(&pair->job_done);
        pthread_mutex_unlock(&pair->lock);
    }
}

mlpf_pair *mlpf_pair_start(void)
{
    mlpf_pair *pair = (mlpf_pair *)calloc(1, sizeof(mlpf_pair));
    if (pair == NULL) {
        return NULL;
    }
    atomic_init(&pair->posted, 0);
    atomic_init(&pair->completed, 0);
    atomic_init(&pair->stopping, 0);
    if (pthread_mutex_init(&pair->lock, NULL) != 0) {
        free(pair);
        return NULL;
    }
    if (pthread_cond_init(&pair->job_posted, NULL) != 0) {
        pthread_mutex_destroy(&pair->lock);
        free(pair);
        return NULL;
    }
    if (pthread_cond_init(&pair->job_done, NULL) != 0) {
        pthread_cond_destroy(&pair->job_posted);
        pthread_mutex_destroy(&pair->lock);
        free(pair);
        return NULL;
    }
    if (pthread_create(&pair->thread, NULL, helper_main, pair) != 0) {
        pthread_cond_destroy(&pair->job_done);
        pthread_cond_destroy(&pair->job_posted);
        pthread_mutex_destroy(&pair->lock);
        free(pair);
        return NULL;
    }
    return pair;
}

/* Raises `posted` under the lock, so a helper about to sleep cannot miss it. */
static unsigned post(mlpf_pair *pair)
{
    pthread_mutex_lock(&pair->lock);
    unsigned job = atomic_fetch_add_explicit(&pair->posted, 1, memory_order_acq_rel) + 1;
    pthread_cond_signal(&pair->job_posted);
    pthread_mutex_unlock(&pair->lock);
    return job;
}

void mlpf_pair_run(mlpf_pair *pair, mlpf_part_fn fn, void *context)
{
    pair->fn = fn;
    pair->context = context;
    unsigned job = post(pair);
    fn(context, 0);
    if (!spin_wait(&pair->completed, job, 1)) {
        pthread_mutex_lock(&pair->lock);
        while (atomic_load_explicit(&pair->completed, memory_order_acquire) != job) {
            pthread_cond_wait(&pair->job_done, &pair->lock);
        }
        pthread_mutex_unlock(&pair->lock);
    }
}

void mlpf_pair_stop(mlpf_pair *pair)
{
    if (pair == NULL) {
        return;
    }
    atomic_store_explicit(&pair->stopping, 1, memory_order_release);
    post(pair);
    pthread_join(pair->thread, NULL);
    pthread_cond_destroy(&pair->job_done);
    pthread_cond_destroy(&pair->job_posted);
    pthread_mutex_destroy(&pair->lock);
    free(pair);
}
