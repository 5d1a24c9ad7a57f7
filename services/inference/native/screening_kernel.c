// The float32 screening pass of classification with a known summation order (the NativeSpeciesScorer in
// src/classify/scorers/native-scorer.ts). Unlike the kernels in classify_kernels.c this one has no TypeScript twin:
// like ONNX Runtime's graph it is approximate, and what makes it useful is a rigorous error bound.
//
// Each logit is a dot product of `dim` (a multiple of 16) float32 terms summed in the 16 lanes of an AVX-512
// register, dim/16 FMA steps per lane, then one fixed 16 → 1 reduction (_mm512_reduce_add_ps, 4 levels): every
// term goes through at most dim/16 + 4 roundings, so |error| ≤ γ_(dim/16+4)·Σ|xₖyₖ| (γ₅₂ for 768), where ONNX
// Runtime's SGEMM, which accumulates each output sequentially, needs γ_dim. Weights are exp(logit − max + offset)
// computed as the ONNX graph does (float32 Sub, Add, then exp: glibc libmvec's 16-wide expf; the last rows % 16 of a
// chunk take glibc's scalar expf, within the same error margin, and may differ from the 16-wide one in the last ulp).
//
// Outputs match the ONNX screening graph (scorers/ort-scorer.ts): per query the chunk max, the weights
// (query-major), the top k weights in descending order with their rows, and the smallest weight.
#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "napi_args.h"
#include "parallel_for.h"

enum { LANES = 16, SPECIES_BLOCK = 3, QUERY_BLOCK = 8 };

typedef struct {
  const float* species;  // rows × dim
  const float* queries;  // count × dim
  size_t rows, count, dim, k;
  double offset;
  float *chunk_max, *weights, *top_weights, *min_weights;
  int32_t* top_rows;
} Job;

__attribute__((target("avx512f,fma"))) static float lane_dot(const float* a, const float* b, size_t dim) {
  __m512 acc = _mm512_setzero_ps();
  for (size_t k = 0; k < dim; k += LANES) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), acc);
  return _mm512_reduce_add_ps(acc);
}

// 3 species × 8 queries: 24 accumulators, 3 species vectors and 1 query vector in the 32 zmm registers. Each
// accumulator sums exactly what lane_dot sums, in the same order.
__attribute__((target("avx512f,fma"))) static void dot_block(const float* restrict s, const float* restrict x, size_t dim, float* restrict out, size_t rows) {
  __m512 acc[SPECIES_BLOCK][QUERY_BLOCK];
  for (int i = 0; i < SPECIES_BLOCK; i++)
    for (int q = 0; q < QUERY_BLOCK; q++) acc[i][q] = _mm512_setzero_ps();
  for (size_t k = 0; k < dim; k += LANES) {
    __m512 sv[SPECIES_BLOCK];
    for (int i = 0; i < SPECIES_BLOCK; i++) sv[i] = _mm512_loadu_ps(s + i * dim + k);
    for (int q = 0; q < QUERY_BLOCK; q++) {
      __m512 xv = _mm512_loadu_ps(x + q * dim + k);
      // Keeps xv in a register: GCC otherwise folds the load into each of the 3 FMAs, 27 loads per 24 FMAs, and
      // on AMD Zen 4 (one 512-bit load per cycle) the loop is then bound by loads: 30 against 22 ms/image on one
      // thread at 1 M species (the register-only FMA peak is ≈ 74 GFLOP/s per core there).
      __asm__("" : "+v"(xv));
      for (int i = 0; i < SPECIES_BLOCK; i++) acc[i][q] = _mm512_fmadd_ps(sv[i], xv, acc[i][q]);
    }
  }
  for (int i = 0; i < SPECIES_BLOCK; i++)
    for (int q = 0; q < QUERY_BLOCK; q++) out[q * rows + i] = _mm512_reduce_add_ps(acc[i][q]);
}

// Phase 1, over species rows [first, last): the logits, written where the weights will go.
static void logits_phase(const void* ctx, size_t first, size_t last) {
  const Job* j = ctx;
  size_t row = first;
  const size_t full_queries = j->count - j->count % QUERY_BLOCK;
  for (; row + SPECIES_BLOCK <= last; row += SPECIES_BLOCK) {
    for (size_t q0 = 0; q0 < full_queries; q0 += QUERY_BLOCK)
      dot_block(j->species + row * j->dim, j->queries + q0 * j->dim, j->dim, j->weights + q0 * j->rows + row, j->rows);
    for (size_t q = full_queries; q < j->count; q++)
      for (int i = 0; i < SPECIES_BLOCK; i++) j->weights[q * j->rows + row + i] = lane_dot(j->species + (row + i) * j->dim, j->queries + q * j->dim, j->dim);
  }
  for (; row < last; row++)
    for (size_t q = 0; q < j->count; q++) j->weights[q * j->rows + row] = lane_dot(j->species + row * j->dim, j->queries + q * j->dim, j->dim);
}

// A min-heap of the k largest weights seen (ties: the earlier row stays), as (weight, row) pairs.
static void sift_down(float* w, int32_t* r, size_t k, size_t at) {
  for (;;) {
    size_t least = at, left = 2 * at + 1, right = left + 1;
    if (left < k && (w[left] < w[least] || (w[left] == w[least] && r[left] > r[least]))) least = left;
    if (right < k && (w[right] < w[least] || (w[right] == w[least] && r[right] > r[least]))) least = right;
    if (least == at) return;
    const float tw = w[at];
    const int32_t tr = r[at];
    w[at] = w[least], r[at] = r[least], w[least] = tw, r[least] = tr;
    at = least;
  }
}

// glibc's libmvec: 16 float32 exps at once (AVX-512), accurate to a few ulp.
__m512 _ZGVeN16v_expf(__m512 x);

// Offers row[i..i+16) (weights w) to the query's top-k heap once it is full; only lanes above its minimum are looked at.
__attribute__((target("avx512f"))) static void offer_block(__m512 w, size_t i, float* top, int32_t* top_row, size_t k) {
  __mmask16 above = _mm512_cmp_ps_mask(w, _mm512_set1_ps(top[0]), _CMP_GT_OQ);
  if (!above) return;
  float lanes[LANES];
  _mm512_storeu_ps(lanes, w);
  for (int l = 0; l < LANES; l++)
    if (lanes[l] > top[0]) {
      top[0] = lanes[l], top_row[0] = (int32_t)(i + l);
      sift_down(top, top_row, k, 0);
    }
}

// Phase 2, over queries [first, last): max, weights exp(logit − max + offset) as the ONNX graph computes them (float32
// Sub, Add, Exp), smallest weight and top k; each query's row of the chunk on its own.
__attribute__((target("avx512f"))) static void weights_phase(const void* ctx, size_t first, size_t last) {
  const Job* j = ctx;
  const size_t body = j->rows - j->rows % LANES;
  for (size_t q = first; q < last; q++) {
    float* row = j->weights + q * j->rows;
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (size_t i = 0; i < body; i += LANES) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(row + i));
    float max = _mm512_reduce_max_ps(vmax);
    for (size_t i = body; i < j->rows; i++) max = row[i] > max ? row[i] : max;
    const __m512 vmaxs = _mm512_set1_ps(max), voffset = _mm512_set1_ps((float)j->offset);
    float* top = j->top_weights + q * j->k;
    int32_t* top_row = j->top_rows + q * j->k;
    // Seed the heap with the first k weights, then offer the rest block by block.
    size_t i = 0, filled = 0;
    __m512 vmin = _mm512_set1_ps(INFINITY);
    for (; i < body; i += LANES) {
      const __m512 w = _ZGVeN16v_expf(_mm512_add_ps(_mm512_sub_ps(_mm512_loadu_ps(row + i), vmaxs), voffset));
      _mm512_storeu_ps(row + i, w);
      vmin = _mm512_min_ps(vmin, w);
      if (filled + LANES <= j->k) {
        _mm512_storeu_ps(top + filled, w);
        for (int l = 0; l < LANES; l++) top_row[filled + l] = (int32_t)(i + l);
        filled += LANES;
        if (filled == j->k)
          for (size_t at = j->k / 2; at-- > 0;) sift_down(top, top_row, j->k, at);
      } else if (filled < j->k) {
        float lanes[LANES];
        _mm512_storeu_ps(lanes, w);
        int l = 0;
        for (; filled < j->k; l++) top[filled] = lanes[l], top_row[filled] = (int32_t)(i + l), filled++;
        for (size_t at = j->k / 2; at-- > 0;) sift_down(top, top_row, j->k, at);
        for (; l < LANES; l++)
          if (lanes[l] > top[0]) top[0] = lanes[l], top_row[0] = (int32_t)(i + l), sift_down(top, top_row, j->k, 0);
      } else {
        offer_block(w, i, top, top_row, j->k);
      }
    }
    float min = _mm512_reduce_min_ps(vmin);
    for (; i < j->rows; i++) {
      const float w = expf((row[i] - max) + (float)j->offset);
      row[i] = w;
      min = w < min ? w : min;
      if (filled < j->k) {
        top[filled] = w, top_row[filled] = (int32_t)i, filled++;
        if (filled == j->k)
          for (size_t at = j->k / 2; at-- > 0;) sift_down(top, top_row, j->k, at);
      } else if (w > top[0]) {
        top[0] = w, top_row[0] = (int32_t)i;
        sift_down(top, top_row, j->k, 0);
      }
    }
    // Heap → descending order (heap sort: the smallest goes last).
    for (size_t n = j->k; n > 1; n--) {
      const float tw = top[0];
      const int32_t tr = top_row[0];
      top[0] = top[n - 1], top_row[0] = top_row[n - 1], top[n - 1] = tw, top_row[n - 1] = tr;
      sift_down(top, top_row, n - 1, 0);
    }
    j->chunk_max[q] = max;
    j->min_weights[q] = min;
  }
}

napi_value ScreenChunkSupported(napi_env env, napi_callback_info info) {
  napi_value result;
  __builtin_cpu_init();
  napi_get_boolean(env, __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"), &result);
  return result;
}

// screenChunk(species, queries, dim, offset, threads, chunkMax, weights, topWeights, topRows, minWeights)
napi_value ScreenChunk(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!args(env, info, 10, argv, "screenChunk takes 10 arguments")) return NULL;
  void *species, *queries, *chunk_max, *weights, *top_weights, *top_rows, *min_weights;
  size_t n_species, n_queries, n_max, n_weights, n_top, n_top_rows, n_min;
  int64_t dim, threads;
  double offset;
  if (!typed_arg(env, argv[0], napi_float32_array, "species must be a Float32Array", &species, &n_species) ||
      !typed_arg(env, argv[1], napi_float32_array, "queries must be a Float32Array", &queries, &n_queries) ||
      !int_arg(env, argv[2], "dim must be a non-negative integer", &dim) || !int_arg(env, argv[4], "threads must be a non-negative integer", &threads) ||
      !typed_arg(env, argv[5], napi_float32_array, "chunkMax must be a Float32Array", &chunk_max, &n_max) ||
      !typed_arg(env, argv[6], napi_float32_array, "weights must be a Float32Array", &weights, &n_weights) ||
      !typed_arg(env, argv[7], napi_float32_array, "topWeights must be a Float32Array", &top_weights, &n_top) ||
      !typed_arg(env, argv[8], napi_int32_array, "topRows must be an Int32Array", &top_rows, &n_top_rows) ||
      !typed_arg(env, argv[9], napi_float32_array, "minWeights must be a Float32Array", &min_weights, &n_min))
    return NULL;
  if (napi_get_value_double(env, argv[3], &offset) != napi_ok) {
    napi_throw_type_error(env, "ARBOR_NATIVE", "offset must be a number");
    return NULL;
  }
  if (dim <= 0 || dim % LANES != 0 || n_species % (size_t)dim != 0 || n_queries % (size_t)dim != 0) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "screenChunk: dim must be a positive multiple of 16 dividing both inputs");
    return NULL;
  }
  const size_t rows = n_species / (size_t)dim, count = n_queries / (size_t)dim;
  const size_t k = count > 0 ? n_top / count : 0;
  if (rows == 0 || count == 0 || n_max != count || n_min != count || n_weights != count * rows || n_top != count * k || n_top_rows != n_top ||
      k == 0 || k > rows) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "screenChunk: output sizes do not match the rows and queries (or k is 0 or above rows)");
    return NULL;
  }
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"))) {
    napi_throw_error(env, "ARBOR_NATIVE", "screenChunk needs AVX-512F and FMA");
    return NULL;
  }
  const Job job = {species, queries, rows, count, (size_t)dim, k, offset, chunk_max, weights, top_weights, min_weights, top_rows};
  parallel_for(logits_phase, &job, rows, (size_t)threads);
  parallel_for(weights_phase, &job, count, (size_t)threads);
  return NULL;
}
