/*
 * A team of threads for the kernel calls of a fit: the calling thread and
 * n helpers, each running one part of a job (the parts of a mini-batch,
 * or the ranges of an optimizer step).  The helpers run from
 * mlpf_team_start to mlpf_team_stop, across calls: ThreadTeam in
 * mlpfast/_kernels.pyx keeps one team for the process (mlpfast/_threads.py
 * hands it to one fit at a time), because starting a thread costs about as
 * much as a small batch part.
 *
 * Waiting is a short spin (the other parts of a batch usually end within
 * microseconds), then polls that yield the core, and then a sleep on a
 * condition variable (see team.c), so a busy core, or a team left idle
 * between calls, costs a wake-up, not a spinning thread.
 */
#ifndef MLPFAST_TEAM_H
#define MLPFAST_TEAM_H

/* One part of a job: part is 0 on the calling thread, i on helper i. */
typedef void (*mlpf_part_fn)(void *context, int part);

typedef struct mlpf_team mlpf_team;

/* Starts n_helpers helper threads (n_helpers >= 1); NULL when they cannot all be created. */
mlpf_team *mlpf_team_start(int n_helpers);

/* The number of helpers the team was started with. */
int mlpf_team_helpers(const mlpf_team *team);

/*
 * Runs fn(context, 0) here and fn(context, i) on helper i for 0 < i < n_parts;
 * returns when all are done.  Parts beyond the helpers run here, in turn,
 * and so does a helper's part that its helper has not begun by the time
 * this thread's own parts are done (a helper asleep or off its core).
 */
void mlpf_team_run(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts);

/*
 * mlpf_team_run for a job shorter than waking a thread (a one-row forward
 * pass: microseconds, where a wake-up took tens on a virtual machine): the
 * parts of helpers asleep run here, unless the team's previous brief job
 * ended so recently that this one is part of a stream of them, for which
 * a helper woken now is still polling at the next job.
 */
void mlpf_team_run_brief(mlpf_team *team, mlpf_part_fn fn, void *context, int n_parts);

/* Ends and joins the helpers, frees the team.  NULL is allowed. */
void mlpf_team_stop(mlpf_team *team);

#endif
