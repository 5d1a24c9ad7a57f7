// Argument helpers shared by the addon's sources: each returns 0 after throwing a TypeError naming the argument.
#ifndef ARBOR_NAPI_ARGS_H
#define ARBOR_NAPI_ARGS_H

#include <node_api.h>
#include <stdint.h>

// The data and element count of a typed-array argument of the expected type, or a thrown TypeError.
static inline int typed_arg(napi_env env, napi_value value, napi_typedarray_type want, const char* name, void** data, size_t* length) {
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

static inline int int_arg(napi_env env, napi_value value, const char* name, int64_t* out) {
  if (napi_get_value_int64(env, value, out) != napi_ok || *out < 0) {
    napi_throw_type_error(env, "ARBOR_NATIVE", name);
    return 0;
  }
  return 1;
}

// Exactly `count` arguments into argv, or a thrown TypeError naming the function.
static inline int args(napi_env env, napi_callback_info info, size_t count, napi_value* argv, const char* message) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    napi_throw_type_error(env, "ARBOR_NATIVE", message);
    return 0;
  }
  return 1;
}

// Defined in screening_kernel.c, registered with the other kernels in classify_kernels.c.
napi_value ScreenChunk(napi_env env, napi_callback_info info);
napi_value ScreenChunkSupported(napi_env env, napi_callback_info info);

#endif
