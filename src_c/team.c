/*
 * The thread team of mlpfast_team.h, on the threads, locks and atomics of
 * mlpfast_platform.h (POSIX threads, or Win32 threads on Windows).
 */
#include <stdlib.h>

#include "mlpfast_platform.h"
#include "mlpfast_team.h"

/*
 * How a waiting thread waits.  The serial step between two batches
 * (optimizer step, row gathering, a signal check) takes tens of
 * microseconds, and a wake-up from sleep took about as long on a virtual
 * machine, as long as a small batch part; so the waiting thread first
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

/*
 * One helper and its mailbox.  Each helper polls counters of its own, on a
 * cache line of its own (CACHE_LINE apart), so that posting to one helper
 * or one helper finishing does not disturb the lines the others poll.
 *
 * Job j's part is run by whoever first moves `claimed` from j - 1 to j:
 * the helper when it sees the job, or the caller once its own parts are
 * done.  A sleeping or descheduled helper then costs the caller the part's
 * work, not the helper's wake-up (tens of microseconds on a virtual
 * machine, more than a one-row forward pass).  Every job is claimed before
 * the next is posted, so `claimed` is j - 1 whenever job j is posted; a
 * helper that slept through stolen jobs sees only the latest.
 */
#define CACHE_LINE 64

typedef struct helper {
    mlpf_thread thread;
    mlpf_mutex lock;
    mlpf_cond job_posted;
    mlpf_cond job_done;
    mlpf_atomic_uint posted;     /* jobs posted to this helper so far */
    mlpf_atomic_uint completed;  /* jobs it has finished */
    mlpf_atomic_uint claimed;    /* the last job whose part has a thread */
    mlpf_atomic_uint asleep;     /* waiting on job_posted */
    mlpf_atomic_uint stopping;
    mlpf_team *team;
    int part;                    /* the part it runs: its index + 1 */
    int started;                 /* its thread and sync objects exist */
    unsigned awaited;            /* the job the caller waits for (caller only) */
    int passed_over;             /* asleep, not posted this job (caller only) */
    char padding[CACHE_LINE];
} helper;

struct mlpf_team {
    int n_helpers;
    helper *helpers;
    mlpf_part_fn fn;             /* written before any `posted` is raised */
    void *context;
    long long brief_end;         /* when the last brief job ended (caller only) */
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
    helper *self = (helper *)arg;
    unsigned seen = 0;
    for (;;) {
        if (!spin_wait(&self->posted, seen, 0)) {
            mlpf_mutex_lock(&self->lock);
            mlpf_atomic_store_release(&self->asleep, 1);
            while (mlpf_atomic_load_acquire(&self->posted) == seen) {
                mlpf_cond_wait(&self->job_posted, &self->lock);
            }
            mlpf_atomic_store_release(&self->asleep, 0);
            mlpf_mutex_unlock(&self->lock);
        }
        seen = mlpf_atomic_load_acquire(&self->posted);
        if (mlpf_atomic_load_acquire(&self->stopping)) {
            return 0;
        }
        if (!mlpf_atomic_swap_if(&self->claimed, seen - 1, seen)) {
            continue;   /* the caller ran it */
        }
        self->team->fn(self->team->context, self->part);
        mlpf_mutex_lock(&self->lock);
        mlpf_atomic_store_release(&self->completed, seen);
        mlpf_cond_signal(&self->job_done);
        mlpf_mutex_unlock(&self->lock);
    }
}

/* Raises `posted` under the lock, so a helper about to sleep cannot miss it. */
static unsigned post(helper *h)
{
    mlpf_mutex_lock(&h->lock);
    unsigned job = mlpf_atomic_fetch_add(&h->posted, 1) + 1;
    mlpf_cond_signal(&h->job_posted);
    mlpf_mutex_unlock(&h->lock);
    return job;
}

static void wait_done(helper *h, unsigned job)
{
    if (!spin_wait(&h->completed, job, 1)) {
        mlpf_mutex_lock(&h->lock);
        while (mlpf_atomic_load_acquire(&h->completed) != job) {
            mlpf_cond_wait(&h->job_done, &h->lock);
        }
        mlpf_mutex_unlock(&h->lock);
    }
}

/* Sync objects and thread of one helper; 0 on success, with nothing left behind otherwise. */
static int start_helper(mlpf_team *team, helper *h, int part)
{
    h->team = team;
    h->part = part;
    mlpf_atomic_init(&h->posted, 0);
    mlpf_atomic_init(&h->completed, 0);
    mlpf_atomic_init(&h->claimed, 0);
    mlpf_atomic_init(&h->asleep, 0);
    mlpf_atomic_init(&h->stopping, 0);
    if (mlpf_mutex_init(&h->lock) != 0) {
        return -1;
    }
    if (mlpf_cond_init(&h->job_posted) != 0) {
        mlpf_mutex_destroy(&h->lock);
        return -1;
    }
    if (mlpf_cond_init(&h->job_done) != 0) {
        mlpf_cond_destroy(&h->job_posted);
        mlpf_mutex_destroy(&h->lock);
        return -1;
    }
    if (mlpf_thread_create(&h->thread, helper_main, h) != 0) {
        mlpf_cond_destroy(&h->job_done);
        mlpf_cond_destroy(&h->job_posted);
        mlpf_mutex_destroy(&h->lock);
        return -1;
    }
    h->started = 1;
    return 0;
}

static void stop_helper(helper *h)
{
    if (!h->started) {
        return;
    }
    mlpf_atomic_store_release(&h->stopping, 1);
    post(h);
    mlpf_thread_join(h->thread);
    mlpf_cond_destroy(&h->job_done);
    mlpf_cond_destroy(&h->job_posted);
    mlpf_mutex_destroy(&h->lock);
    h->started = 0;
}

mlpf_team *mlpf_team_start(int n_helpers)
{
    if (n_helpers < 1) {
        return NULL;
    }
    mlpf_team *team = (mlpf_team *)calloc(1, sizeof(mlpf_team));
    if (team == NULL) {
        return NULL;
    }
    team->helpers = (helper *)calloc((size_t)n_helpers, sizeof(helper));
    if (team->helpers == NULL) {
        free(team);
        return NULL;
    }
    team->n_helpers = n_helpers;
    team->brief_end = mlpf_monotonic_nanoseconds() - YIELD_NANOSECONDS;   /* none recent */
    for (int i = 0; i < n_helpers; i++) {
        if (start_helper(team, &team->helpers[i], i + 1) != 0) {
            mlpf_team_stop(team);
            return NULL;
        }
    }
    return team;
}

int mlpf_team_helpers(const mlpf_team *team)
{
    return team == NULL ? 0 : team->n_helpers;
}

/* mlpf_team_run, and mlpf_team_run_brief when wake_sleepers is 0. */
static void run_job(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts,
                    int wake_sleepers)
{
    int on_helpers = n_parts - 1 < team->n_helpers ? n_parts - 1 : team->n_helpers;
    team->fn = fn;
    team->context = context;
    for (int i = 0; i < on_helpers; i++) {
        helper *h = &team->helpers[i];
        h->passed_over = !wake_sleepers && mlpf_atomic_load_acquire(&h->asleep);
        if (!h->passed_over) {
            h->awaited = post(h);
        }
    }
    fn(context, 0);
    for (int part = on_helpers + 1; part < n_parts; part++) {
        fn(context, part);
    }
    for (int i = 0; i < on_helpers; i++) {
        helper *h = &team->helpers[i];
        if (h->passed_over ||
                mlpf_atomic_swap_if(&h->claimed, h->awaited - 1, h->awaited)) {
            fn(context, h->part);
        } else {
            wait_done(h, h->awaited);
        }
    }
}

void mlpf_team_run(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts)
{
    run_job(team, fn, context, n_parts, 1);
}

void mlpf_team_run_brief(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts)
{
    long long start = mlpf_monotonic_nanoseconds();
    run_job(team, fn, context, n_parts, start - team->brief_end < YIELD_NANOSECONDS);
    team->brief_end = mlpf_monotonic_nanoseconds();
}

void mlpf_team_stop(mlpf_team *team)
{
    if (team == NULL) {
        return;
    }
    for (int i = 0; i < team->n_helpers; i++) {
        stop_helper(&team->helpers[i]);
    }
    free(team->helpers);
    free(team);
}
