// Prototype (not used by the engine): float32 screening logits with a KNOWN summation order, timed against the
// same product done by ONNX Runtime's MLAS in the classify-head benchmark. Each (query, species) dot product of
// 768 terms is summed in 16 AVX-512 lanes of 48 FMA steps each, then one fixed 16 → 1 reduction, so its rigorous
// error bound is γ₅₂·Σ|xₖyₖ| instead of γ₇₆₈ (see services/inference/src/classify/README.md, *Speed*).
//
//   gcc -O3 -mavx512f -mfma -pthread -o /tmp/lane-dot-gemm test/bench/inference/classify/prototype/lane-dot-gemm.c -lm
//   /tmp/lane-dot-gemm [threads=2] [repeats=5]
//
// Prints ms per chunk (65,536 species × 32 queries × 768), GFLOP/s, ms per image scaled to 1 M species, and the
// largest |error| against float64 dot products on a sample, next to the γ₅₂ bound.
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { DIM = 768, QUERIES = 32, ROWS = 65536, SPECIES_BLOCK = 3, QUERY_BLOCK = 8 };

typedef struct {
  const float* species;  // ROWS × DIM
  const float* queries;  // QUERIES × DIM
  float* logits;         // QUERIES × ROWS (query-major, like the engine's screening output)
  int first, last;       // species rows of this thread
} Work;

// 3 species × 8 queries: 24 accumulators + 3 species vectors + 1 query vector = 28 of the 32 zmm registers.
static void block(const float* s, const float* q, float* out, int row) {
  __m512 acc[SPECIES_BLOCK][QUERY_BLOCK];
  for (int i = 0; i < SPECIES_BLOCK; i++)
    for (int j = 0; j < QUERY_BLOCK; j++) acc[i][j] = _mm512_setzero_ps();
  for (int k = 0; k < DIM; k += 16) {
    __m512 sv[SPECIES_BLOCK];
    for (int i = 0; i < SPECIES_BLOCK; i++) sv[i] = _mm512_loadu_ps(s + (size_t)i * DIM + k);
    for (int j = 0; j < QUERY_BLOCK; j++) {
      const __m512 qv = _mm512_loadu_ps(q + (size_t)j * DIM + k);
      for (int i = 0; i < SPECIES_BLOCK; i++) acc[i][j] = _mm512_fmadd_ps(sv[i], qv, acc[i][j]);
    }
  }
  for (int i = 0; i < SPECIES_BLOCK; i++)
    for (int j = 0; j < QUERY_BLOCK; j++) out[(size_t)j * ROWS + row + i] = _mm512_reduce_add_ps(acc[i][j]);
}

static void single(const float* s, const float* q, float* out, int row) {
  for (int j = 0; j < QUERIES; j++) {
    __m512 acc = _mm512_setzero_ps();
    for (int k = 0; k < DIM; k += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(s + k), _mm512_loadu_ps(q + (size_t)j * DIM + k), acc);
    out[(size_t)j * ROWS + row] = _mm512_reduce_add_ps(acc);
  }
}

static void* run(void* arg) {
  const Work* w = arg;
  int row = w->first;
  for (; row + SPECIES_BLOCK <= w->last; row += SPECIES_BLOCK)
    for (int j0 = 0; j0 < QUERIES; j0 += QUERY_BLOCK)
      block(w->species + (size_t)row * DIM, w->queries + (size_t)j0 * DIM, w->logits + (size_t)j0 * ROWS, row);
  for (; row < w->last; row++) single(w->species + (size_t)row * DIM, w->queries, w->logits, row);
  return NULL;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void unit_rows(float* x, size_t rows) {
  for (size_t r = 0; r < rows; r++) {
    double n = 0;
    for (int k = 0; k < DIM; k++) n += (double)x[r * DIM + k] * x[r * DIM + k];
    const double inv = 1 / sqrt(n);
    for (int k = 0; k < DIM; k++) x[r * DIM + k] = (float)(x[r * DIM + k] * inv);
  }
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? atoi(argv[2]) : 5;
  float* species = aligned_alloc(64, (size_t)ROWS * DIM * sizeof(float));
  float* queries = aligned_alloc(64, (size_t)QUERIES * DIM * sizeof(float));
  float* logits = aligned_alloc(64, (size_t)QUERIES * ROWS * sizeof(float));
  srand(1);
  for (size_t i = 0; i < (size_t)ROWS * DIM; i++) species[i] = (float)rand() / RAND_MAX - 0.5f;
  for (size_t i = 0; i < (size_t)QUERIES * DIM; i++) queries[i] = (float)rand() / RAND_MAX - 0.5f;
  unit_rows(species, ROWS);
  unit_rows(queries, QUERIES);

  pthread_t tid[16];
  Work work[16];
  double best = 1e30, total = 0;
  for (int r = 0; r <= repeats; r++) {
    const double t0 = now_ms();
    for (int t = 0; t < threads; t++) {
      work[t] = (Work){species, queries, logits, (int)((long)ROWS * t / threads), (int)((long)ROWS * (t + 1) / threads)};
      pthread_create(&tid[t], NULL, run, &work[t]);
    }
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    const double ms = now_ms() - t0;
    if (r > 0) {  // the first call warms the pages
      total += ms;
      if (ms < best) best = ms;
    }
  }
  const double mean = total / repeats;
  const double flops = 2.0 * QUERIES * ROWS * DIM;
  printf("threads %d: chunk %.1f ms mean, %.1f best; %.0f GFLOP/s (best); %.2f ms/image per 1 M species (best)\n", threads, mean,
         best, flops / best / 1e6, best / QUERIES * (1e6 / ROWS));

  double worst = 0, worst_ratio = 0;
  for (int j = 0; j < QUERIES; j++)
    for (int row = 0; row < ROWS; row += 97) {
      double exact = 0, abs_sum = 0;
      for (int k = 0; k < DIM; k++) {
        exact += (double)species[(size_t)row * DIM + k] * queries[(size_t)j * DIM + k];
        abs_sum += fabs((double)species[(size_t)row * DIM + k] * queries[(size_t)j * DIM + k]);
      }
      const double err = fabs(logits[(size_t)j * ROWS + row] - exact);
      const double gamma52 = 52 * 0x1p-24 / (1 - 52 * 0x1p-24);
      if (err > worst) worst = err;
      if (err / (gamma52 * abs_sum) > worst_ratio) worst_ratio = err / (gamma52 * abs_sum);
    }
  printf("largest |dot error| on a sample: %.3g (γ52·Σ|xy| bound: largest error / bound %.3f; must be ≤ 1)\n", worst, worst_ratio);
  free(species);
  free(queries);
  free(logits);
  return 0;
}
