// Native versions of the three per-species loops of tree-of-life classification (see README.md). Each one computes
// exactly what its TypeScript twin in src/classify/kernels/js-kernels.ts computes, operation for operation, so the
// results are bit-identical: the build turns off floating-point contraction (no FMA) and fast-math, and every sum
// keeps the TypeScript order. What the compiler may add is vector lanes over independent accumulators.
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define FLT_MIN_VALUE 1.1754943508222875e-38

// The data and element count of a typed-array argument of the expected type, or a thrown TypeError.
static int typed_arg(napi_env env, napi_value value, napi_typedarray_type want, const char* name, void** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) {
    napi_throw_type_error(env, "ARBOR_NATIVE", name);
    return 0;
  }
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok || type != want) {
    napi_throw_type_error(env, "ARBOR_NATIVE", name);
    return 0;
  }
  return 1;
}

static int int_arg(napi_env env, napi_value value, const char* name, int64_t* out) {
  if (napi_get_value_int64(env, value, out) != napi_ok || *out < 0) {
    napi_throw_type_error(env, "ARBOR_NATIVE", name);
    return 0;
  }
  return 1;
}

// Exactly `count` arguments into argv, or a thrown TypeError naming the function.
static int args(napi_env env, napi_callback_info info, size_t count, napi_value* argv, const char* message) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    napi_throw_type_error(env, "ARBOR_NATIVE", message);
    return 0;
  }
  return 1;
}

// foldGenusSums(weights: Float32Array, stride, ranges: Int32Array, genusOf: Int32Array, rescale, sums: Float64Array):
// one image's weights (row i at weights[i·stride], rows numbering the ranges in order) summed per run of one genus in
// float64, each run's sum times rescale added to sums[genus].
__attribute__((target_clones("avx512f", "avx2", "default")))
static void fold_genus_sums(const float* weights, size_t stride, const int32_t* ranges, size_t range_values, const int32_t* genus_of, double rescale,
                            double* sums) {
  size_t i = 0;
  for (size_t r = 0; r + 1 < range_values; r += 2) {
    int32_t p = ranges[r];
    const int32_t end = ranges[r + 1];
    while (p < end) {
      const int32_t genus = genus_of[p];
      double sum = 0;
      for (; p < end && genus_of[p] == genus; p++, i++) sum += (double)weights[i * stride];
      sums[genus] += sum * rescale;
    }
  }
}

static napi_value FoldGenusSums(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!args(env, info, 6, argv, "foldGenusSums takes 6 arguments")) return NULL;
  void *weights, *ranges, *genus_of, *sums;
  size_t n_weights, n_ranges, n_genus, n_sums;
  int64_t stride;
  double rescale;
  if (!typed_arg(env, argv[0], napi_float32_array, "weights must be a Float32Array", &weights, &n_weights) ||
      !int_arg(env, argv[1], "stride", &stride) ||
      !typed_arg(env, argv[2], napi_int32_array, "ranges must be an Int32Array", &ranges, &n_ranges) ||
      !typed_arg(env, argv[3], napi_int32_array, "genusOf must be an Int32Array", &genus_of, &n_genus) ||
      !typed_arg(env, argv[5], napi_float64_array, "sums must be a Float64Array", &sums, &n_sums))
    return NULL;
  if (napi_get_value_double(env, argv[4], &rescale) != napi_ok) {
    napi_throw_type_error(env, "ARBOR_NATIVE", "rescale must be a number");
    return NULL;
  }
  // Bounds: every index the loop forms must be inside its array (a wrong call must throw, not corrupt memory).
  const int32_t* rg = ranges;
  const int32_t* genera = genus_of;
  size_t rows = 0;
  if (n_ranges % 2 != 0) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "ranges must hold [start, end) pairs");
    return NULL;
  }
  for (size_t r = 0; r < n_ranges; r += 2) {
    if (rg[r] < 0 || rg[r] > rg[r + 1] || (size_t)rg[r + 1] > n_genus) {
      napi_throw_range_error(env, "ARBOR_NATIVE", "a range lies outside genusOf");
      return NULL;
    }
    rows += (size_t)(rg[r + 1] - rg[r]);
    for (int32_t p = rg[r]; p < rg[r + 1]; p++) {
      if (genera[p] < 0 || (size_t)genera[p] >= n_sums) {
        napi_throw_range_error(env, "ARBOR_NATIVE", "a genus lies outside sums");
        return NULL;
      }
    }
  }
  if (rows > 0 && (rows - 1) * (size_t)stride >= n_weights) {
    napi_throw_range_error(env, "ARBOR_NATIVE", "foldGenusSums: weights is too short for the ranges and stride");
    return NULL;
  }
  fold_genus_sums(weights, (size_t)stride, rg, n_ranges, genera, rescale, sums);
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
  for (size_t j = 0; j < n_positions; j++) ((double*)out)[j] = dot_row((const float*)vectors + (size_t)pos[j] * d, query, d);
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

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"foldGenusSums", NULL, FoldGenusSums, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dotRows", NULL, DotRows, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scanRows", NULL, ScanRows, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods) != napi_ok) return NULL;
  return exports;
}
