/*
 * The little of the operating system and the compiler that the thread
 * team (team.c) and the kernel dispatch (simd.c) need, one way per
 * platform, so that those files say what they do and not how each platform
 * spells it:
 *
 *   threads    POSIX threads, or on Windows (_WIN32) Win32 threads with an
 *              SRWLOCK and CONDITION_VARIABLEs.  MSVC has no pthread.h, and
 *              mingw-w64's winpthreads would be a second runtime to ship:
 *              no pthread.h is included on Windows, whatever the compiler.
 *   once       pthread_once / InitOnceExecuteOnce.
 *   atomics    unsigned counters with acquire loads, release stores, an
 *              acquire-release fetch-and-add and compare-and-swap: C11
 *              <stdatomic.h> where the
 *              compiler has it, else (MSVC, whose C11 atomics are still
 *              experimental) a volatile LONG with full barriers around
 *              plain accesses and Interlocked* for the read-modify-write.
 *              -DMLPF_ATOMICS_INTERLOCKED picks the second kind anywhere on
 *              Windows, so that CI can compile it with mingw-w64.
 *   time       a monotonic clock in nanoseconds, a yield of the core, and a
 *              spin-wait hint (pause on x86, yield on aarch64).
 */
#ifndef MLPFAST_PLATFORM_H
#define MLPFAST_PLATFORM_H

#if defined(_WIN32)
#define MLPF_WIN32_THREADS 1
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
/* SRW locks, condition variables and InitOnce need Windows Vista (0x0600). */
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0600
#endif
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#include <time.h>
#endif

#if defined(_WIN32) && (defined(MLPF_ATOMICS_INTERLOCKED) || \
                        (defined(_MSC_VER) && !defined(__clang__)))
#undef MLPF_ATOMICS_INTERLOCKED
#define MLPF_ATOMICS_INTERLOCKED 1
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && \
    !defined(__STDC_NO_ATOMICS__)
#include <stdatomic.h>
#else
#error "mlpfast needs C11 atomics (<stdatomic.h>), or Windows' Interlocked functions"
#endif

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#define MLPF_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define MLPF_CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define MLPF_CPU_RELAX() ((void)0)
#endif

/* ---- atomics ------------------------------------------------------------ */

#ifdef MLPF_ATOMICS_INTERLOCKED
typedef volatile LONG mlpf_atomic_uint;

static inline void mlpf_atomic_init(mlpf_atomic_uint *a, unsigned value)
{
    *a = (LONG)value;
}

/* A full barrier after the load orders every later access after it; on x86
   it costs one locked instruction per poll, next to a pause of the same order. */
static inline unsigned mlpf_atomic_load_acquire(mlpf_atomic_uint *a)
{
    unsigned value = (unsigned)*a;
    MemoryBarrier();
    return value;
}

static inline void mlpf_atomic_store_release(mlpf_atomic_uint *a, unsigned value)
{
    MemoryBarrier();
    *a = (LONG)value;
}

/* Returns the value before the addition (Interlocked* are full barriers). */
static inline unsigned mlpf_atomic_fetch_add(mlpf_atomic_uint *a, unsigned value)
{
    return (unsigned)InterlockedExchangeAdd(a, (LONG)value);
}

/* Sets *a to desired if it holds expected; returns whether it did. */
static inline int mlpf_atomic_swap_if(mlpf_atomic_uint *a, unsigned expected, unsigned desired)
{
    return (unsigned)InterlockedCompareExchange(a, (LONG)desired, (LONG)expected) == expected;
}
#else
typedef atomic_uint mlpf_atomic_uint;

static inline void mlpf_atomic_init(mlpf_atomic_uint *a, unsigned value)
{
    atomic_init(a, value);
}

static inline unsigned mlpf_atomic_load_acquire(mlpf_atomic_uint *a)
{
    return atomic_load_explicit(a, memory_order_acquire);
}

static inline void mlpf_atomic_store_release(mlpf_atomic_uint *a, unsigned value)
{
    atomic_store_explicit(a, value, memory_order_release);
}

static inline unsigned mlpf_atomic_fetch_add(mlpf_atomic_uint *a, unsigned value)
{
    return atomic_fetch_add_explicit(a, value, memory_order_acq_rel);
}

/* Sets *a to desired if it holds expected; returns whether it did. */
static inline int mlpf_atomic_swap_if(mlpf_atomic_uint *a, unsigned expected, unsigned desired)
{
    return atomic_compare_exchange_strong_explicit(a, &expected, desired,
                                                   memory_order_acq_rel,
                                                   memory_order_acquire);
}
#endif

/* ---- threads, locks, condition variables, once -------------------------- */

#ifdef MLPF_WIN32_THREADS
typedef HANDLE mlpf_thread;
typedef SRWLOCK mlpf_mutex;
typedef CONDITION_VARIABLE mlpf_cond;
typedef INIT_ONCE mlpf_once;
#define MLPF_ONCE_INIT INIT_ONCE_STATIC_INIT
/* A thread's entry point: MLPF_THREAD_FN(name, argument) { ...; return 0; } */
#define MLPF_THREAD_FN(name, arg) static DWORD WINAPI name(LPVOID arg)
typedef LPTHREAD_START_ROUTINE mlpf_thread_fn;

/* Each returns 0 on success, as pthreads do. */
static inline int mlpf_thread_create(mlpf_thread *thread, mlpf_thread_fn fn, void *arg)
{
    *thread = CreateThread(NULL, 0, fn, arg, 0, NULL);
    return *thread == NULL;
}

static inline void mlpf_thread_join(mlpf_thread thread)
{
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
}

/*
 * Locks and condition variables: each call maps to one Win32 call.  SRW
 * locks and condition variables cannot fail to initialise (0: success, as
 * pthreads report it) and need no freeing.  A wait may wake spuriously, as
 * pthread_cond_wait may: callers loop on their condition.
 */
#define mlpf_mutex_init(mutex) (InitializeSRWLock(mutex), 0)
#define mlpf_mutex_destroy(mutex) ((void)(mutex))
#define mlpf_mutex_lock(mutex) AcquireSRWLockExclusive(mutex)
#define mlpf_mutex_unlock(mutex) ReleaseSRWLockExclusive(mutex)
#define mlpf_cond_init(cond) (InitializeConditionVariable(cond), 0)
#define mlpf_cond_destroy(cond) ((void)(cond))
#define mlpf_cond_wait(cond, mutex) SleepConditionVariableSRW(cond, mutex, INFINITE, 0)
#define mlpf_cond_signal(cond) WakeConditionVariable(cond)

static inline BOOL CALLBACK mlpf_once_trampoline(PINIT_ONCE once, PVOID fn, PVOID *context)
{
    (void)once;
    (void)context;
    (*(void (**)(void))fn)();
    return TRUE;
}

/* Runs fn once per flag; every caller returns after it has run. */
static inline void mlpf_call_once(mlpf_once *once, void (*fn)(void))
{
    InitOnceExecuteOnce(once, mlpf_once_trampoline, (PVOID)&fn, NULL);
}

static inline void mlpf_yield(void)
{
    SwitchToThread();
}

static inline long long mlpf_monotonic_nanoseconds(void)
{
    LARGE_INTEGER count, frequency;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&frequency);
    /* Seconds and remainder apart: count * 1e9 overflows after ~15 minutes at 10 MHz. */
    long long seconds = count.QuadPart / frequency.QuadPart;
    long long rest = count.QuadPart % frequency.QuadPart;
    return seconds * 1000000000LL + rest * 1000000000LL / frequency.QuadPart;
}
#else
typedef pthread_t mlpf_thread;
typedef pthread_mutex_t mlpf_mutex;
typedef pthread_cond_t mlpf_cond;
typedef pthread_once_t mlpf_once;
#define MLPF_ONCE_INIT PTHREAD_ONCE_INIT
#define MLPF_THREAD_FN(name, arg) static void *name(void *arg)
typedef void *(*mlpf_thread_fn)(void *);

static inline int mlpf_thread_create(mlpf_thread *thread, mlpf_thread_fn fn, void *arg)
{
    return pthread_create(thread, NULL, fn, arg);
}

static inline void mlpf_thread_join(mlpf_thread thread)
{
    pthread_join(thread, NULL);
}

/* Locks and condition variables: the pthreads calls, default attributes. */
#define mlpf_mutex_init(mutex) pthread_mutex_init(mutex, NULL)
#define mlpf_mutex_destroy(mutex) pthread_mutex_destroy(mutex)
#define mlpf_mutex_lock(mutex) pthread_mutex_lock(mutex)
#define mlpf_mutex_unlock(mutex) pthread_mutex_unlock(mutex)
#define mlpf_cond_init(cond) pthread_cond_init(cond, NULL)
#define mlpf_cond_destroy(cond) pthread_cond_destroy(cond)
#define mlpf_cond_wait(cond, mutex) pthread_cond_wait(cond, mutex)
#define mlpf_cond_signal(cond) pthread_cond_signal(cond)

static inline void mlpf_call_once(mlpf_once *once, void (*fn)(void))
{
    pthread_once(once, fn);
}

static inline void mlpf_yield(void)
{
    sched_yield();
}

static inline long long mlpf_monotonic_nanoseconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}
#endif

#endif /* MLPFAST_PLATFORM_H */
