// Native versions of the three per-species loops of tree-of-life classification (see README.md). Each one computes
// exactly what its TypeScript twin in src/classify/kernels/js-kernels.ts computes, operation for operation, so the
// results are bit-identical: the build turns off floating-point contraction (no FMA) and fast-math, and every sum
// keeps the TypeScript order. What the compiler may add is vector lanes over independent accumulators.
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "napi_args.h"
#include "parallel_for.h"

#define FLT_MIN_VALUE 1.1754943508222875e-38


// foldGenusSums(weights: Float32Array, queryStride, speciesStride, ranges: Int32Array, genusOf: Int32Array,
//               rescale: Float64Array, sums: Float64Array[], threads): for each image j of the chunk, its weights (row i
// at weights[j·queryStride + i·speciesStride], rows numbering the ranges in order) summed per run of one genus in
// float64, each run's sum times rescale[j] added to sums[j][genus]. The runs are found once for all images; the
// images are split over `threads` (each image's sums stay in one thread, in run order: the same result for any count).
typedef struct {
  int32_t first_row, end_row, genus;
} GenusRun;

typedef struct {
  const float* weights;
  size_t query_stride, species_stride;
  const GenusRun* runs;
  size_t run_count;
  const double* rescale;
  double* const* sums;
} FoldJob;

// Runs outside, images inside: every image meets the same run lengths one after the other, which the branch predictor
// follows far better than one image's irregular runs.
__attribute__((target_clones("avx512f", "avx2", "default")))
static void fold_genus_sums(const void* ctx, size_t first, size_t last) {
  const FoldJob* job = ctx;
  for (size_t r = 0; r < job->run_count; r++) {
    const GenusRun run = job->runs[r];
    for (size_t q = first; q < last; q++) {
      const float* w = job->weights + q * job->query_stride;
      double sum = 0;
      for (size_t i = (size_t)run.first_row; i < (size_t)run.end_row; i++) sum += (double)w[i * job->species_stride];
      job->sums[q][run.genus] += sum * job->rescale[q];
    }
  }
}

static napi_value FoldGenusSums(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!args(env, info, 8, argv, "foldGenusSums takes 8 arguments")) return NULL;
  void *weights, *ranges, *genus_of, *rescale;
  size_t n_weights, n_ranges, n_genus, n_rescale;
  int64_t query_stride, species_stride, threads;
  if (!typed_arg(env, argv[0], napi_float32_array, "weights must be a Float32Array", &weights, &n_weights) ||
      !int_arg(env, argv[1], "queryStride must be a non-negative integer", &query_stride) ||
      !int_arg(env, argv[2], "speciesStride must be a non-negative integer", &species_stride) ||
      !typed_arg(env, argv[3], napi_int32_array, "ranges must be an Int32Array", &ranges, &n_ranges) ||
      !typed_arg(env, argv[4], napi_int32_array, "genusOf must be an Int32Array", &genus_of, &n_genus) ||
      !typed_arg(env, argv[5], napi_float64_array, "rescale must be a Float64Array", &rescale, &n_rescale) ||
      !int_arg(env, argv[7], "threads must be a non-negative integer", &threads))
    return NULL;
  const size_t images = n_rescale;
  uint32_t n_sums = 0;
  bool is_array = false;
  if (napi_is_array(env, argv[6], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[6], &n_sums) != napi_ok ||
      n_sums != images) {
    napi_throw_type_error(env, "ARBOR_NATIVE", "sums must be an array of one Float64Array per rescale entry");
    return NULL;
  }
  if (n_ranges % 2 != 0) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "ranges must hold [start, end) pairs");
    return NULL;
  }
  // Bounds: every index the loop forms must be inside its array (a wrong call must throw, not corrupt memory).
  const int32_t* rg = ranges;
  const int32_t* genera = genus_of;
  size_t rows = 0;
  for (size_t r = 0; r < n_ranges; r += 2) {
    if (rg[r] < 0 || rg[r] > rg[r + 1] || (size_t)rg[r + 1] > n_genus) {
      napi_throw_range_error(env, "ARBOR_NATIVE", "a range lies outside genusOf");
      return NULL;
    }
    rows += (size_t)(rg[r + 1] - rg[r]);
  }
  if (rows > INT32_MAX) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "foldGenusSums: the ranges hold more than 2^31 - 1 rows");
    return NULL;
  }
  if (images > 0 && rows > 0 && (images - 1) * (size_t)query_stride + (rows - 1) * (size_t)species_stride >= n_weights) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "foldGenusSums: weights is too short for the images, ranges and strides");
    return NULL;
  }
  if (images == 0 || rows == 0) return NULL;
  double** sums = malloc(images * sizeof(double*));
  GenusRun* runs = malloc(rows * sizeof(GenusRun));
  if (!sums || !runs) {
    free(sums), free(runs);
    napi_throw_error(env, "ARBOR_NATIVE", "foldGenusSums: out of memory");
    return NULL;
  }
  size_t shortest = SIZE_MAX;
  for (uint32_t j = 0; j < n_sums; j++) {
    napi_value element;
    size_t length;
    if (napi_get_element(env, argv[6], j, &element) != napi_ok ||
        !typed_arg(env, element, napi_float64_array, "sums must be an array of Float64Arrays", (void**)&sums[j], &length)) {
      free(sums), free(runs);
      return NULL;
    }
    if (length < shortest) shortest = length;
  }
  size_t run_count = 0, row = 0;
  for (size_t r = 0; r < n_ranges; r += 2) {
    for (int32_t p = rg[r]; p < rg[r + 1]; row++) {
      const int32_t genus = genera[p];
      if (genus < 0 || (size_t)genus >= shortest) {
        free(sums), free(runs);
        napi_throw_range_error(env, "ARBOR_NATIVE", "a genus lies outside sums");
        return NULL;
      }
      const size_t first_row = row;
      for (p++; p < rg[r + 1] && genera[p] == genus; p++) row++;
      runs[run_count++] = (GenusRun){(int32_t)first_row, (int32_t)(row + 1), genus};
    }
  }
  const FoldJob job = {weights, (size_t)query_stride, (size_t)species_stride, runs, run_count, rescale, sums};
  parallel_for(fold_genus_sums, &job, images, (size_t)threads);
  free(sums), free(runs);
  return NULL;
}

// Σ a[k]·x[k] in float64 with eight accumulators, combined as ((s0+s1)+(s2+s3)) + ((s4+s5)+(s6+s7)).
__attribute__((target_clones("avx512f", "avx2", "default")))
static double dot_row(const float* a, const double* x, size_t dim) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0;
  for (; k + 7 < dim; k += 8) {
    for (int j = 0; j < 8; j++) s[j] += (double)a[k + j] * x[k + j];
  }
  for (; k < dim; k++) s[0] += (double)a[k] * x[k];
  return s[0] + s[1] + (s[2] + s[3]) + (s[4] + s[5] + (s[6] + s[7]));
}

// Rows fetched ahead by dotRows: 2 took it from 5.3 to 3.3 ms for 5,656 scattered rows of 1 M × 768 here (4 was
// slower); the loop is memory-bound.
#define PREFETCH_ROWS 2

static void prefetch_bytes(const void* start, size_t bytes) {
  for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch((const char*)start + b, 0, 0);
}

// dotRows(vectors: Float32Array, dim, positions: Int32Array, query: Float64Array, out: Float64Array)
static napi_value DotRows(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args(env, info, 5, argv, "dotRows takes 5 arguments")) return NULL;
  void *vectors, *positions, *query, *out;
  size_t n_vectors, n_positions, n_query, n_out;
  int64_t dim;
  if (!typed_arg(env, argv[0], napi_float32_array, "vectors must be a Float32Array", &vectors, &n_vectors) ||
      !int_arg(env, argv[1], "dim", &dim) ||
      !typed_arg(env, argv[2], napi_int32_array, "positions must be an Int32Array", &positions, &n_positions) ||
      !typed_arg(env, argv[3], napi_float64_array, "query must be a Float64Array", &query, &n_query) ||
      !typed_arg(env, argv[4], napi_float64_array, "out must be a Float64Array", &out, &n_out))
    return NULL;
  const size_t d = (size_t)dim;
  if (n_query < d || n_out < n_positions) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "dotRows: query or out is too short");
    return NULL;
  }
  const int32_t* pos = positions;
  for (size_t j = 0; j < n_positions; j++) {
    if (pos[j] < 0 || ((size_t)pos[j] + 1) * d > n_vectors) {
      napi_throw_range_error(env, "ARBOR_NATIVE", "dotRows: a position lies outside vectors");
      return NULL;
    }
  }
  const float* rows = vectors;
  const size_t row_bytes = d * sizeof(float);
  // The rows are scattered over the whole matrix and each is read once: keep the next PREFETCH_ROWS in flight.
  for (size_t j = 0; j < PREFETCH_ROWS && j < n_positions; j++) prefetch_bytes(rows + (size_t)pos[j] * d, row_bytes);
  for (size_t j = 0; j < n_positions; j++) {
    if (j + PREFETCH_ROWS < n_positions) prefetch_bytes(rows + (size_t)pos[j + PREFETCH_ROWS] * d, row_bytes);
    ((double*)out)[j] = dot_row(rows + (size_t)pos[j] * d, query, d);
  }
  return NULL;
}

// scanRows(weights: Float32Array, queryStride, speciesStride, rows, columns: Int32Array, skipBelow: Float64Array,
//          outRows: Int32Array, outCounts: Int32Array): for each listed query column j, the rows whose weight is not
// skipped (w < skipBelow[j] and w ≥ FLT_MIN skips), in row order, at outRows[j·rows …].
__attribute__((target_clones("avx512f", "avx2", "default")))
static void scan_rows(const float* weights, size_t qs, size_t ss, size_t rows, const int32_t* columns, size_t n, const double* skip,
                      int32_t* out_rows, int32_t* out_counts) {
  for (size_t j = 0; j < n; j++) {
    const float* w = weights + (size_t)columns[j] * qs;
    const double below = skip[j];
    int32_t* out = out_rows + j * rows;
    int32_t found = 0;
    for (size_t i = 0; i < rows; i++) {
      const double v = (double)w[i * ss];
      if (v < below && v >= FLT_MIN_VALUE) continue;
      out[found++] = (int32_t)i;
    }
    out_counts[j] = found;
  }
}

static napi_value ScanRows(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!args(env, info, 8, argv, "scanRows takes 8 arguments")) return NULL;
  void *weights, *columns, *skip, *out_rows, *out_counts;
  size_t n_weights, n_columns, n_skip, n_out_rows, n_out_counts;
  int64_t qs, ss, rows;
  if (!typed_arg(env, argv[0], napi_float32_array, "weights must be a Float32Array", &weights, &n_weights) ||
      !int_arg(env, argv[1], "queryStride", &qs) || !int_arg(env, argv[2], "speciesStride", &ss) || !int_arg(env, argv[3], "rows", &rows) ||
      !typed_arg(env, argv[4], napi_int32_array, "columns must be an Int32Array", &columns, &n_columns) ||
      !typed_arg(env, argv[5], napi_float64_array, "skipBelow must be a Float64Array", &skip, &n_skip) ||
      !typed_arg(env, argv[6], napi_int32_array, "outRows must be an Int32Array", &out_rows, &n_out_rows) ||
      !typed_arg(env, argv[7], napi_int32_array, "outCounts must be an Int32Array", &out_counts, &n_out_counts))
    return NULL;
  const size_t n = n_columns;
  if (n_skip < n || n_out_counts < n || n_out_rows < n * (size_t)rows) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "scanRows: skipBelow, outRows or outCounts is too short");
    return NULL;
  }
  for (size_t j = 0; j < n; j++) {
    const int32_t col = ((const int32_t*)columns)[j];
    if (col < 0 || (rows > 0 && (size_t)(rows - 1) * (size_t)ss + (size_t)col * (size_t)qs >= n_weights)) {
      napi_throw_range_error(env, "ARBOR_NATIVE", "scanRows: a column lies outside weights");
      return NULL;
    }
  }
  scan_rows(weights, (size_t)qs, (size_t)ss, (size_t)rows, columns, n, skip, out_rows, out_counts);
  return NULL;
}

// A Float64Array argument's data and length (a thrown TypeError otherwise).
static int f64_arg(napi_env env, napi_value value, const char* name, double** data, size_t* length) {
  return typed_arg(env, value, napi_float64_array, name, (void**)data, length);
}

static int i32_arg(napi_env env, napi_value value, const char* name, int32_t** data, size_t* length) {
  return typed_arg(env, value, napi_int32_array, name, (void**)data, length);
}

static napi_value int_result(napi_env env, int64_t value) {
  napi_value result;
  if (napi_create_int64(env, (int64_t)value, &result) != napi_ok) return NULL;
  return result;
}

static napi_value range_error(napi_env env, const char* message) {
  napi_throw_range_error(env, "ARBOR_NATIVE", message);
  return NULL;
}

// genusTotals(approx, exact, relative, mass, error): mass[g] = exact[g] + approx[g], error[g] = relative·approx[g]
// where approx[g] > 0, else 0.
static napi_value GenusTotals(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args(env, info, 5, argv, "genusTotals takes 5 arguments")) return NULL;
  double *approx, *exact, *mass, *error, relative;
  size_t n_approx, n_exact, n_mass, n_error;
  if (!f64_arg(env, argv[0], "approx must be a Float64Array", &approx, &n_approx) || !f64_arg(env, argv[1], "exact must be a Float64Array", &exact, &n_exact) ||
      !f64_arg(env, argv[3], "mass must be a Float64Array", &mass, &n_mass) || !f64_arg(env, argv[4], "error must be a Float64Array", &error, &n_error))
    return NULL;
  if (napi_get_value_double(env, argv[2], &relative) != napi_ok) {
    napi_throw_type_error(env, "ARBOR_NATIVE", "relative must be a number");
    return NULL;
  }
  if (n_exact < n_approx || n_mass < n_approx || n_error < n_approx) return range_error(env, "genusTotals: exact, mass or error is shorter than approx");
  for (size_t g = 0; g < n_approx; g++) {
    const double a = approx[g];
    mass[g] = exact[g] + a;
    error[g] = a > 0 ? relative * a : 0;
  }
  return NULL;
}

// sumIntoParents(childMass, childError, parents, mass, error): mass and error zeroed, then mass[parents[g]] +=
// childMass[g] and error[parents[g]] += childError[g] in child order.
static napi_value SumIntoParents(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args(env, info, 5, argv, "sumIntoParents takes 5 arguments")) return NULL;
  double *child_mass, *child_error, *mass, *error;
  int32_t* parents;
  size_t n_child_mass, n_child_error, n_parents, n_mass, n_error;
  if (!f64_arg(env, argv[0], "childMass must be a Float64Array", &child_mass, &n_child_mass) ||
      !f64_arg(env, argv[1], "childError must be a Float64Array", &child_error, &n_child_error) ||
      !i32_arg(env, argv[2], "parents must be an Int32Array", &parents, &n_parents) || !f64_arg(env, argv[3], "mass must be a Float64Array", &mass, &n_mass) ||
      !f64_arg(env, argv[4], "error must be a Float64Array", &error, &n_error))
    return NULL;
  if (n_child_mass < n_parents || n_child_error < n_parents || n_error < n_mass) return range_error(env, "sumIntoParents: arrays shorter than parents");
  for (size_t g = 0; g < n_parents; g++) {
    if (parents[g] < 0 || (size_t)parents[g] >= n_mass) return range_error(env, "sumIntoParents: a parent lies outside mass");
  }
  for (size_t p = 0; p < n_mass; p++) mass[p] = error[p] = 0;
  for (size_t g = 0; g < n_parents; g++) {
    mass[parents[g]] += child_mass[g];
    error[parents[g]] += child_error[g];
  }
  return NULL;
}

// The weight-histogram bucket of a positive finite double: the top 16 bits of its encoding (weight-histogram.ts).
static size_t bucket_of(double weight, size_t bucket_count) {
  uint64_t bits;
  memcpy(&bits, &weight, sizeof bits);
  const size_t bucket = (size_t)(bits >> 48);
  return bucket < bucket_count - 1 ? bucket : bucket_count - 1;
}

// genusHistogram(approx, pending, below, counts): both histograms zeroed, then for every genus with pending > 0 and
// approx > 0, below[b] += approx and counts[b] += pending at b = bucketOf(approx / pending).
static napi_value GenusHistogram(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args(env, info, 4, argv, "genusHistogram takes 4 arguments")) return NULL;
  double *approx, *below, *counts;
  int32_t* pending;
  size_t n_approx, n_pending, n_below, n_counts;
  if (!f64_arg(env, argv[0], "approx must be a Float64Array", &approx, &n_approx) || !i32_arg(env, argv[1], "pending must be an Int32Array", &pending, &n_pending) ||
      !f64_arg(env, argv[2], "below must be a Float64Array", &below, &n_below) || !f64_arg(env, argv[3], "counts must be a Float64Array", &counts, &n_counts))
    return NULL;
  if (n_pending < n_approx || n_below == 0 || n_counts != n_below) return range_error(env, "genusHistogram: pending shorter than approx, or histograms of unequal or zero size");
  for (size_t b = 0; b < n_below; b++) below[b] = counts[b] = 0;
  for (size_t g = 0; g < n_approx; g++) {
    const int32_t n = pending[g];
    const double m = approx[g];
    if (n <= 0 || !(m > 0)) continue;
    const size_t b = bucket_of(m / n, n_below);
    below[b] += m;
    counts[b] += n;
  }
  return NULL;
}

// topGroups(mass, k, out): the indices of the k largest positive masses, largest first, ties to the lower index, in
// out; returns how many (≤ k).
static napi_value TopGroups(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!args(env, info, 3, argv, "topGroups takes 3 arguments")) return NULL;
  double* mass;
  int32_t* out;
  size_t n_mass, n_out;
  int64_t k;
  if (!f64_arg(env, argv[0], "mass must be a Float64Array", &mass, &n_mass) || !int_arg(env, argv[1], "k", &k) ||
      !i32_arg(env, argv[2], "out must be an Int32Array", &out, &n_out))
    return NULL;
  if ((size_t)k > n_out) return range_error(env, "topGroups: out is shorter than k");
  size_t length = 0;
  for (size_t g = 0; g < n_mass && k > 0; g++) {
    const double m = mass[g];
    if (!(m > 0)) continue;
    if (length == (size_t)k && m <= mass[out[k - 1]]) continue;
    size_t i = length == (size_t)k ? (size_t)k - 1 : length;
    while (i > 0 && mass[out[i - 1]] < m) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = (int32_t)g;
    if (length < (size_t)k) length++;
  }
  return int_result(env, (int64_t)length);
}

// reachingGroups(mass, error, low, lastHasError, out): the groups g, ascending, with mass[g] + error[g] ≥ low,
// mass[g] > 0 and (error[g] > 0 or lastHasError), at most out.length of them; returns how many matched in all.
static napi_value ReachingGroups(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!args(env, info, 5, argv, "reachingGroups takes 5 arguments")) return NULL;
  double *mass, *error, low;
  int32_t* out;
  bool last_has_error;
  size_t n_mass, n_error, n_out;
  if (!f64_arg(env, argv[0], "mass must be a Float64Array", &mass, &n_mass) || !f64_arg(env, argv[1], "error must be a Float64Array", &error, &n_error) ||
      !i32_arg(env, argv[4], "out must be an Int32Array", &out, &n_out))
    return NULL;
  if (napi_get_value_double(env, argv[2], &low) != napi_ok || napi_get_value_bool(env, argv[3], &last_has_error) != napi_ok) {
    napi_throw_type_error(env, "ARBOR_NATIVE", "low must be a number and lastHasError a boolean");
    return NULL;
  }
  if (n_error < n_mass) return range_error(env, "reachingGroups: error is shorter than mass");
  size_t found = 0;
  for (size_t g = 0; g < n_mass; g++) {
    if (mass[g] + error[g] >= low && mass[g] > 0 && (error[g] > 0 || last_has_error)) {
      if (found < n_out) out[found] = (int32_t)g;
      found++;
    }
  }
  return int_result(env, (int64_t)found);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"foldGenusSums", NULL, FoldGenusSums, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dotRows", NULL, DotRows, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scanRows", NULL, ScanRows, NULL, NULL, NULL, napi_enumerable, NULL},
      {"genusTotals", NULL, GenusTotals, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sumIntoParents", NULL, SumIntoParents, NULL, NULL, NULL, napi_enumerable, NULL},
      {"genusHistogram", NULL, GenusHistogram, NULL, NULL, NULL, napi_enumerable, NULL},
      {"topGroups", NULL, TopGroups, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reachingGroups", NULL, ReachingGroups, NULL, NULL, NULL, napi_enumerable, NULL},
      {"screenChunk", NULL, ScreenChunk, NULL, NULL, NULL, napi_enumerable, NULL},
      {"screenChunkSupported", NULL, ScreenChunkSupported, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods) != napi_ok) return NULL;
  return exports;
}
