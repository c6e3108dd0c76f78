// Data in and out of tensors: typed arrays to tensors, tensors to typed arrays, item().
#include "common.h"
#include "async.h"

#include <ATen/ops/empty.h>


#include <cstring>

namespace prior {
namespace {

at::ScalarType dtypeOfTypedArray(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return at::kFloat;
    case napi_float64_array: return at::kDouble;
    case napi_int32_array: return at::kInt;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return at::kByte;
    case napi_int8_array: return at::kChar;
    case napi_int16_array: return at::kShort;
    case napi_bigint64_array: return at::kLong;
    default: throw ArgError("unsupported typed array (use Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array)");
  }
}

// fromTypedArray(data, shape, options?): copies `data` into a new CPU tensor of the typed
// array's dtype, then converts to the requested dtype/device.
napi_value fromTypedArray(napi_env env, napi_callback_info info) {
  Args a(env, info, "tensor", {"data", "shape", "options"});
  try {
    bool isTyped = false;
    napi_is_typedarray(env, a.argv[0], &isTyped);
    if (!isTyped) throw ArgError("argument 'data' must be a typed array");
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buffer;
    size_t offset;
    napi_get_typedarray_info(env, a.argv[0], &type, &length, &data, &buffer, &offset);
    at::ScalarType src = dtypeOfTypedArray(type);
    auto shape = a.intList(1);
    int64_t numel = 1;
    for (auto s : shape) {
      if (s < 0) throw ArgError("shape entries must be non-negative");
      numel *= s;
    }
    if (numel != static_cast<int64_t>(length)) {
      throw ArgError("shape has " + std::to_string(numel) + " elements but the data has " + std::to_string(length));
    }
    TensorOptionsArg opts = a.tensorOptions(2);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(src));
    if (length) std::memcpy(t.data_ptr(), data, length * c10::elementSize(src));
    at::ScalarType want = opts.options.has_dtype() ? opts.options.dtype().toScalarType() : src;
    if (want != src || opts.options.device() != t.device()) t = t.to(opts.options.device(), want);
    return a.ret(opts.finish(std::move(t)));
  } catch (...) {
    return a.fail();
  }
}

napi_value makeTypedArray(napi_env env, napi_typedarray_type type, const void* src, size_t n, size_t elem) {
  void* dst;
  napi_value buffer, result;
  napi_create_arraybuffer(env, n * elem, &dst, &buffer);
  if (n) std::memcpy(dst, src, n * elem);
  napi_create_typedarray(env, type, n, buffer, 0, &result);
  return result;
}

// toArray(t): a copy of the data as a typed array, row-major. float16/bfloat16 come out
// as Float32Array, bool as Uint8Array, int64 as BigInt64Array (exact).
napi_value toArray(napi_env env, napi_callback_info info) {
  Args a(env, info, "toArray", {"self"});
  try {
    at::Tensor t = a.tensor(0);
    at::ScalarType s = t.scalar_type();
    napi_typedarray_type type;
    switch (s) {
      case at::kFloat: type = napi_float32_array; break;
      case at::kDouble: type = napi_float64_array; break;
      case at::kHalf:
      case at::kBFloat16: type = napi_float32_array; s = at::kFloat; break;
      case at::kInt: type = napi_int32_array; break;
      case at::kLong: type = napi_bigint64_array; break;
      case at::kShort: type = napi_int16_array; break;
      case at::kChar: type = napi_int8_array; break;
      case at::kByte:
      case at::kBool: type = napi_uint8_array; s = at::kByte; break;
      default: throw ArgError("toArray does not support dtype " + std::string(dtypeName(s)));
    }
    at::Tensor c = t.detach();
    if (!c.device().is_cpu() || c.scalar_type() != s) c = c.to(c10::Device(c10::kCPU), s);
    c = c.contiguous();
    return makeTypedArray(env, type, c.data_ptr(), static_cast<size_t>(c.numel()), c10::elementSize(s));
  } catch (...) {
    return a.fail();
  }
}

napi_value item(napi_env env, napi_callback_info info) {
  Args a(env, info, "item", {"self"});
  try {
    at::Tensor t = a.tensor(0);
    if (t.numel() != 1) throw std::invalid_argument("a Tensor with " + std::to_string(t.numel()) + " elements cannot be converted to a number " + describeTensor(t));
    return a.retScalar(t.item());
  } catch (...) {
    return a.fail();
  }
}

// meta(t): [dtype, shape, device, requiresGrad] in one call for the TS getters.
napi_value shape(napi_env env, napi_callback_info info) {
  Args a(env, info, "shape", {"self"});
  try {
    at::Tensor t = a.tensor(0);
    auto sizes = t.sizes();
    napi_value arr;
    napi_create_array_with_length(env, sizes.size(), &arr);
    for (size_t i = 0; i < sizes.size(); ++i) {
      napi_value v;
      napi_create_int64(env, sizes[i], &v);
      napi_set_element(env, arr, i, v);
    }
    return arr;
  } catch (...) {
    return a.fail();
  }
}

napi_value dtype(napi_env env, napi_callback_info info) {
  Args a(env, info, "dtype", {"self"});
  try {
    napi_value r;
    napi_create_string_utf8(env, dtypeName(a.tensor(0).scalar_type()), NAPI_AUTO_LENGTH, &r);
    return r;
  } catch (...) {
    return a.fail();
  }
}

napi_value device(napi_env env, napi_callback_info info) {
  Args a(env, info, "device", {"self"});
  try {
    napi_value r;
    napi_create_string_utf8(env, a.tensor(0).device().str().c_str(), NAPI_AUTO_LENGTH, &r);
    return r;
  } catch (...) {
    return a.fail();
  }
}

napi_value dim(napi_env env, napi_callback_info info) {
  Args a(env, info, "dim", {"self"});
  try {
    return a.ret(static_cast<double>(a.tensor(0).dim()));
  } catch (...) {
    return a.fail();
  }
}

napi_value numel(napi_env env, napi_callback_info info) {
  Args a(env, info, "numel", {"self"});
  try {
    return a.ret(static_cast<double>(a.tensor(0).numel()));
  } catch (...) {
    return a.fail();
  }
}

napi_value size(napi_env env, napi_callback_info info) {
  Args a(env, info, "size", {"self", "dim"});
  try {
    return a.ret(static_cast<double>(a.tensor(0).size(a.int64(1))));
  } catch (...) {
    return a.fail();
  }
}

napi_value dispose(napi_env env, napi_callback_info info) {
  Args a(env, info, "dispose", {"self"});
  TensorCell* cell = a.argc ? cellOf(env, a.argv[0]) : nullptr;
  if (!cell) return throwJs(env, "ERR_TORCH_ARG", "dispose: argument 'self' must be a Tensor", true);
  if (!cell->disposed && tensorInFlight(cell->tensor)) {
    return throwJs(env, "ERR_TORCH_IN_FLIGHT", "dispose: the tensor is an input of an async op in flight; await the op first", false);
  }
  releaseCell(env, cell);
  return a.undefined();
}

napi_value isDisposed(napi_env env, napi_callback_info info) {
  Args a(env, info, "isDisposed", {"self"});
  TensorCell* cell = a.argc ? cellOf(env, a.argv[0]) : nullptr;
  if (!cell) return throwJs(env, "ERR_TORCH_ARG", "isDisposed: argument 'self' must be a Tensor", true);
  return a.ret(cell->disposed);
}

const OpEntry kEntries[] = {
    {"fromTypedArray", fromTypedArray}, {"toArray", toArray}, {"item", item},       {"shape", shape},
    {"dtype", dtype},                   {"device", device},   {"dim", dim},         {"numel", numel},
    {"size", size},                     {"dispose", dispose}, {"isDisposed", isDisposed},
};

}  // namespace

void registerData(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
