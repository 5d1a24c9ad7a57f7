// Splits [0, total) into `threads` contiguous parts and runs fn(ctx, first, last) on each, the calling thread taking
// the first part. A thread that cannot be started leaves its part to the calling thread: the work is always done.
#ifndef ARBOR_PARALLEL_FOR_H
#define ARBOR_PARALLEL_FOR_H

#include <pthread.h>
#include <stddef.h>

enum { PARALLEL_FOR_MAX_THREADS = 64 };

typedef void (*parallel_for_fn)(const void* ctx, size_t first, size_t last);

typedef struct {
  parallel_for_fn fn;
  const void* ctx;
  size_t first, last;
} ParallelForPart;

static void* parallel_for_part(void* arg) {
  const ParallelForPart* part = arg;
  part->fn(part->ctx, part->first, part->last);
  return NULL;
}

static inline void parallel_for(parallel_for_fn fn, const void* ctx, size_t total, size_t threads) {
  ParallelForPart parts[PARALLEL_FOR_MAX_THREADS];
  pthread_t tids[PARALLEL_FOR_MAX_THREADS];
  if (threads > PARALLEL_FOR_MAX_THREADS) threads = PARALLEL_FOR_MAX_THREADS;
  if (threads > total) threads = total > 0 ? total : 1;
  if (threads < 1) threads = 1;
  for (size_t t = 0; t < threads; t++) parts[t] = (ParallelForPart){fn, ctx, total * t / threads, total * (t + 1) / threads};
  size_t started = 1;
  for (; started < threads; started++)
    if (pthread_create(&tids[started], NULL, parallel_for_part, &parts[started]) != 0) break;
  parallel_for_part(&parts[0]);
  for (size_t t = 1; t < started; t++) pthread_join(tids[t], NULL);
  for (size_t t = started; t < threads; t++) parallel_for_part(&parts[t]);
}

#endif
