// Tensor handles, argument converters and error reporting: the pieces every op shares.
#include "common.h"

#include <ATen/core/List.h>
#include <ATen/core/Reduction.h>

#include <atomic>
#include <cmath>
#include <sstream>

namespace prior {

namespace {
std::atomic<int64_t> gLive{0};

// Bytes reported to V8 for one handle: the storage it keeps alive plus the native memory of
// the handle itself (TensorImpl, StorageImpl, aligned data block, cell, Node-API reference),
// measured at ~700 bytes of RSS per live one-element tensor. Every handle is reported, however
// small: the JS wrappers are tiny, so ~100k of them fit between two GCs, and unreported 8 KiB
// tensors let a synchronous loop hold ~1 GB. Reported, V8 starts a full GC per 64 MB of growth.
constexpr int64_t kHandleOverhead = 700;

// Views report only their overhead too: their base, which owns the storage, is reported.
int64_t accountBytes(const at::Tensor& t, Ownership own) {
  if (!t.defined()) return 0;
  bool storageIsOurs = own == Ownership::Owned && t.has_storage() && !t.is_view();
  return kHandleOverhead + (storageIsOurs ? static_cast<int64_t>(t.storage().nbytes()) : 0);
}

// A basic finalizer: runs synchronously inside GC, so it may only call GC-safe Node-API
// (napi_adjust_external_memory is one). This is what frees tensors in synchronous loops.
void finalizeCell(node_api_basic_env env, void* data, void* /*hint*/) {
  auto* cell = static_cast<TensorCell*>(data);
  releaseCell(const_cast<napi_env>(env), cell);
  delete cell;
}
}  // namespace

void releaseCell(napi_env env, TensorCell* cell) {
  if (cell->disposed) return;
  cell->disposed = true;
  cell->tensor.reset();
  if (cell->accounted != 0) {
    int64_t unused;
    napi_adjust_external_memory(env, -cell->accounted, &unused);
    cell->accounted = 0;
  }
  gLive.fetch_sub(1, std::memory_order_relaxed);
}

int64_t liveTensorCount() { return gLive.load(std::memory_order_relaxed); }

napi_value wrapTensor(napi_env env, at::Tensor t, Ownership own) {
  auto* cell = new TensorCell();
  cell->accounted = accountBytes(t, own);
  cell->tensor = std::move(t);
  napi_value result;
  if (napi_create_external(env, cell, reinterpret_cast<node_api_basic_finalize>(finalizeCell), nullptr, &result) != napi_ok) {
    delete cell;
    throw std::runtime_error("could not create a tensor handle");
  }
  gLive.fetch_add(1, std::memory_order_relaxed);
  if (cell->accounted != 0) {
    int64_t unused;
    napi_adjust_external_memory(env, cell->accounted, &unused);
  }
  return result;
}

TensorCell* cellOf(napi_env env, napi_value v) {
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok || data == nullptr) return nullptr;
  auto* cell = static_cast<TensorCell*>(data);
  return cell->magic == TensorCell::kMagic ? cell : nullptr;
}

// ---------------------------------------------------------------------------
const char* dtypeName(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kShort: return "int16";
    case at::kChar: return "int8";
    case at::kByte: return "uint8";
    case at::kBool: return "bool";
    default: return c10::toString(s);
  }
}

at::ScalarType parseDtype(const std::string& s) {
  if (s == "float32" || s == "float") return at::kFloat;
  if (s == "float64" || s == "double") return at::kDouble;
  if (s == "float16" || s == "half") return at::kHalf;
  if (s == "bfloat16") return at::kBFloat16;
  if (s == "int64" || s == "long") return at::kLong;
  if (s == "int32" || s == "int") return at::kInt;
  if (s == "int16") return at::kShort;
  if (s == "int8") return at::kChar;
  if (s == "uint8") return at::kByte;
  if (s == "bool") return at::kBool;
  throw ArgError("unknown dtype '" + s + "' (expected float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool)");
}

std::string describeTensor(const at::Tensor& t) {
  if (!t.defined()) return "undefined tensor";
  std::ostringstream os;
  os << dtypeName(t.scalar_type()) << "[";
  auto sizes = t.sizes();
  for (size_t i = 0; i < sizes.size(); ++i) os << (i ? ", " : "") << sizes[i];
  os << "]";
  if (!t.device().is_cpu()) os << " " << t.device().str();
  return os.str();
}

// Arrays are described 4 levels deep: recursing without a bound, an array nested a million
// times overflowed the C++ stack.
static std::string describeAt(napi_env env, napi_value v, int depth) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return "?";
  switch (type) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: {
      bool b;
      napi_get_value_bool(env, v, &b);
      return b ? "true" : "false";
    }
    case napi_number: {
      double d;
      napi_get_value_double(env, v, &d);
      // As JS prints numbers: NaN, Infinity, and integers in full (2^53, not 9.0072e+15).
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      if (d == std::trunc(d) && std::fabs(d) < 1e18) return std::to_string(static_cast<int64_t>(d));
      std::ostringstream os;
      os << d;
      return os.str();
    }
    case napi_string: {
      char buf[64];
      size_t len;
      napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
      return "'" + std::string(buf, len) + "'";
    }
    case napi_external: {
      auto* cell = cellOf(env, v);
      if (!cell) return "foreign external";
      if (cell->disposed) return "disposed tensor";
      return describeTensor(cell->tensor);
    }
    case napi_object: {
      bool isArray = false;
      napi_is_array(env, v, &isArray);
      if (!isArray) {
        bool isTyped = false;
        napi_is_typedarray(env, v, &isTyped);
        return isTyped ? "typed array" : "object";
      }
      if (depth >= 4) return "[...]";
      uint32_t n;
      napi_get_array_length(env, v, &n);
      std::string out = "[";
      for (uint32_t i = 0; i < n && i < 8; ++i) {
        napi_value e;
        napi_get_element(env, v, i, &e);
        out += (i ? ", " : "") + describeAt(env, e, depth + 1);
      }
      if (n > 8) out += ", ...";
      return out + "]";
    }
    case napi_function: return "function";
    case napi_symbol: return "symbol";
    case napi_bigint: return "bigint";
    default: return "?";
  }
}

std::string describeValue(napi_env env, napi_value v) { return describeAt(env, v, 0); }

napi_value throwJs(napi_env env, const char* code, const std::string& msg, bool typeError) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return nullptr;  // keep the first (JS) exception, e.g. from a callback
  if (typeError) napi_throw_type_error(env, code, msg.c_str());
  else napi_throw_error(env, code, msg.c_str());
  return nullptr;
}

ErrorInfo currentError(const char* op) {
  ErrorInfo info;
  std::string detail;
  try {
    throw;
  } catch (const ArgError& e) {
    detail = e.what();
    info.typeError = true;
    info.code = "ERR_TORCH_ARG";
  } catch (const c10::Error& e) {
    detail = e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    detail = "out of memory";
    info.code = "ERR_TORCH_OOM";
  } catch (const std::exception& e) {
    detail = e.what();
  } catch (...) {
    detail = "unknown native error";
  }
  // Keep libtorch's first paragraph only: the rest (C++ context, the dispatcher's list of
  // backends) is nothing a JS user can act on. Name the op once, even where libtorch did too.
  if (size_t cut = detail.find("\n\n"); cut != std::string::npos) detail.resize(cut);
  const std::string prefix = std::string(op) + ": ";
  if (detail.rfind(prefix, 0) == 0) detail.erase(0, prefix.size());
  info.message = prefix + detail;
  while (!info.message.empty() && (info.message.back() == '\n' || info.message.back() == ' ')) info.message.pop_back();
  return info;
}

std::string describeArgs(napi_env env, const char* const* names, size_t argc, const napi_value* argv) {
  std::string described;
  for (size_t i = 0; i < argc; ++i) {
    napi_valuetype type;
    napi_typeof(env, argv[i], &type);
    if (type == napi_undefined) continue;
    if (!described.empty()) described += ", ";
    const char* name = names && names[i] ? names[i] : nullptr;
    described += name ? std::string(name) + "=" : std::string();
    described += describeValue(env, argv[i]);
  }
  return described.empty() ? described : "\n  (" + described + ")";
}

napi_value throwFromCurrent(napi_env env, const char* op, const char* const* names, size_t argc, const napi_value* argv) {
  ErrorInfo info = currentError(op);
  return throwJs(env, info.code, info.message + describeArgs(env, names, argc, argv), info.typeError);
}

// ---------------------------------------------------------------------------
Args::Args(napi_env env_, napi_callback_info info, const char* op_, std::initializer_list<const char*> argNames)
    : env(env_), op(op_) {
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc > kMax) argc = kMax;
  for (const char* n : argNames) {
    if (nameCount < kMax) names[nameCount++] = n;
  }
}

void Args::bad(size_t i, const std::string& expected) const {
  std::string name = i < nameCount && names[i] ? names[i] : "#" + std::to_string(i);
  std::string got = i < argc ? describeValue(env, argv[i]) : "nothing";
  throw ArgError("argument '" + name + "' must be " + expected + ", got " + got);
}

bool Args::has(size_t i) const {
  if (i >= argc) return false;
  napi_valuetype type;
  napi_typeof(env, argv[i], &type);
  return type != napi_undefined && type != napi_null;
}

bool Args::isTensor(size_t i) const {
  if (i >= argc) return false;
  napi_valuetype type;
  napi_typeof(env, argv[i], &type);
  return type == napi_external;
}

at::Tensor Args::tensor(size_t i) const {
  TensorCell* cell = i < argc ? cellOf(env, argv[i]) : nullptr;
  if (!cell) bad(i, "a Tensor");
  if (cell->disposed) bad(i, "a live Tensor (it was disposed)");
  return cell->tensor;
}

std::optional<at::Tensor> Args::optTensor(size_t i) const {
  if (!has(i)) return std::nullopt;
  return tensor(i);
}

// Integral and within 2^53: larger doubles would overflow the cast to int64_t.
static bool isSafeInteger(double d) { return std::isfinite(d) && d == std::trunc(d) && std::fabs(d) <= 9007199254740991.0; }

static bool isArray(napi_env env, napi_value v) {
  bool r = false;
  napi_is_array(env, v, &r);
  return r;
}

std::vector<at::Tensor> Args::tensorList(size_t i) const {
  if (i >= argc || !isArray(env, argv[i])) bad(i, "an array of Tensors");
  uint32_t n;
  napi_get_array_length(env, argv[i], &n);
  // Lists are never pre-sized from `length`: a sparse JS array may claim 2^32 - 1 elements.
  std::vector<at::Tensor> out;
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    napi_get_element(env, argv[i], k, &e);
    auto* cell = cellOf(env, e);
    if (!cell || cell->disposed) bad(i, "an array of live Tensors (element " + std::to_string(k) + " is " + describeValue(env, e) + ")");
    out.push_back(cell->tensor);
  }
  return out;
}

c10::List<std::optional<at::Tensor>> Args::optTensorList(size_t i) const {
  if (i >= argc || !isArray(env, argv[i])) bad(i, "an array of Tensors or nulls");
  uint32_t n;
  napi_get_array_length(env, argv[i], &n);
  c10::List<std::optional<at::Tensor>> out;
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    napi_get_element(env, argv[i], k, &e);
    napi_valuetype type;
    napi_typeof(env, e, &type);
    // Only null means "no tensor": read as one, the holes of a sparse array claiming 2^32 - 1
    // elements would fill memory.
    if (type == napi_null) {
      out.push_back(std::nullopt);
      continue;
    }
    auto* cell = cellOf(env, e);
    if (!cell || cell->disposed) bad(i, "an array of live Tensors or nulls (element " + std::to_string(k) + " is " + describeValue(env, e) + ")");
    out.push_back(cell->tensor);
  }
  return out;
}

at::Scalar Args::scalar(size_t i) const {
  if (i >= argc) bad(i, "a number");
  napi_valuetype type;
  napi_typeof(env, argv[i], &type);
  if (type == napi_number) {
    double d;
    napi_get_value_double(env, argv[i], &d);
    // JS has one number type: integral values become integral Scalars, as Python ints do,
    // so that int tensors stay int under `x.add(2)`.
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
    return at::Scalar(d);
  }
  if (type == napi_boolean) {
    bool b;
    napi_get_value_bool(env, argv[i], &b);
    return at::Scalar(b);
  }
  bad(i, "a number or boolean");
}

int64_t Args::int64(size_t i) const {
  double d;
  if (i >= argc || napi_get_value_double(env, argv[i], &d) != napi_ok) bad(i, "an integer");
  if (!isSafeInteger(d)) bad(i, "an integer");
  return static_cast<int64_t>(d);
}

double Args::float64(size_t i) const {
  double d;
  if (i >= argc || napi_get_value_double(env, argv[i], &d) != napi_ok) bad(i, "a number");
  return d;
}

bool Args::boolean(size_t i) const {
  bool b;
  if (i >= argc || napi_get_value_bool(env, argv[i], &b) != napi_ok) bad(i, "a boolean");
  return b;
}

std::string Args::string(size_t i) const {
  size_t len;
  if (i >= argc || napi_get_value_string_utf8(env, argv[i], nullptr, 0, &len) != napi_ok) bad(i, "a string");
  std::string s(len, '\0');
  napi_get_value_string_utf8(env, argv[i], s.data(), len + 1, &len);
  return s;
}

std::vector<int64_t> Args::intList(size_t i, size_t expandTo) const {
  if (i >= argc) bad(i, "an integer list");
  napi_valuetype type;
  napi_typeof(env, argv[i], &type);
  if (type == napi_number) {
    int64_t v = int64(i);
    // int[N] accepts one integer for all N entries (as PyTorch's `stride=2`); plain int[] a single value.
    return std::vector<int64_t>(expandTo ? expandTo : 1, v);
  }
  if (!isArray(env, argv[i])) bad(i, "an integer or integer list");
  uint32_t n;
  napi_get_array_length(env, argv[i], &n);
  std::vector<int64_t> out;
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    double d;
    napi_get_element(env, argv[i], k, &e);
    if (napi_get_value_double(env, e, &d) != napi_ok || !isSafeInteger(d)) bad(i, "an integer list");
    out.push_back(static_cast<int64_t>(d));
  }
  if (expandTo > 1 && n == 1) out.assign(expandTo, out[0]);
  return out;
}

std::vector<double> Args::floatList(size_t i) const {
  if (i >= argc || !isArray(env, argv[i])) bad(i, "a number list");
  uint32_t n;
  napi_get_array_length(env, argv[i], &n);
  std::vector<double> out;
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    double d;
    napi_get_element(env, argv[i], k, &e);
    if (napi_get_value_double(env, e, &d) != napi_ok) bad(i, "a number list");
    out.push_back(d);
  }
  return out;
}

at::ScalarType Args::dtype(size_t i) const {
  napi_valuetype type;
  if (i >= argc || napi_typeof(env, argv[i], &type) != napi_ok || type != napi_string) bad(i, "a dtype name");
  return parseDtype(string(i));
}

c10::Device Args::device(size_t i) const {
  napi_valuetype type;
  if (i >= argc || napi_typeof(env, argv[i], &type) != napi_ok || type != napi_string) bad(i, "a device string ('cpu', 'cuda', 'cuda:N')");
  std::string s = string(i);
  try {
    return c10::Device(s);
  } catch (const c10::Error&) {
    bad(i, "a device string ('cpu', 'cuda', 'cuda:N')");
  }
}

int64_t Args::reduction(size_t i) const {
  std::string s = has(i) ? string(i) : "mean";
  if (s == "mean") return at::Reduction::Mean;
  if (s == "sum") return at::Reduction::Sum;
  if (s == "none") return at::Reduction::None;
  bad(i, "one of 'mean', 'sum', 'none'");
}

TensorOptionsArg Args::tensorOptions(size_t i) const {
  TensorOptionsArg out;
  if (!has(i)) return out;
  napi_valuetype type;
  napi_typeof(env, argv[i], &type);
  if (type != napi_object) bad(i, "an options object {dtype, device, requiresGrad}");
  napi_value v;
  napi_valuetype vt;
  auto field = [&](const char* key) -> bool {
    if (napi_get_named_property(env, argv[i], key, &v) != napi_ok) return false;
    napi_typeof(env, v, &vt);
    return vt != napi_undefined && vt != napi_null;
  };
  if (field("dtype")) {
    size_t len;
    char buf[32];
    if (vt != napi_string) bad(i, "options with dtype a dtype name");
    napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
    out.options = out.options.dtype(parseDtype(std::string(buf, len)));
  }
  if (field("device")) {
    size_t len;
    char buf[32];
    if (vt != napi_string) bad(i, "options with device a device string");
    napi_get_value_string_utf8(env, v, buf, sizeof buf, &len);
    try {
      out.options = out.options.device(c10::Device(std::string(buf, len)));
    } catch (const c10::Error&) {
      bad(i, "options with device 'cpu', 'cuda' or 'cuda:N'");
    }
  }
  if (field("requiresGrad")) {
    if (vt != napi_boolean) bad(i, "options with requiresGrad a boolean");
    napi_get_value_bool(env, v, &out.requiresGrad);
  }
  return out;
}

napi_value Args::ret(const std::vector<at::Tensor>& ts) const {
  napi_value arr;
  napi_create_array_with_length(env, ts.size(), &arr);
  for (size_t k = 0; k < ts.size(); ++k) napi_set_element(env, arr, k, wrapTensor(env, ts[k]));
  return arr;
}

napi_value Args::ret(const std::tuple<at::Tensor, at::Tensor>& ts) const {
  return ret(std::vector<at::Tensor>{std::get<0>(ts), std::get<1>(ts)});
}

napi_value Args::ret(const std::tuple<at::Tensor, at::Tensor, at::Tensor>& ts) const {
  return ret(std::vector<at::Tensor>{std::get<0>(ts), std::get<1>(ts), std::get<2>(ts)});
}

napi_value Args::ret(double v) const {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

napi_value Args::ret(int64_t v) const {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

napi_value Args::ret(bool v) const {
  napi_value r;
  napi_get_boolean(env, v, &r);
  return r;
}

napi_value Args::retScalar(const at::Scalar& s) const {
  if (s.isBoolean()) return ret(s.toBool());
  if (s.isIntegral(false)) return ret(static_cast<double>(s.toLong()));
  return ret(s.toDouble());
}

napi_value Args::undefined() const {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

void defineAll(napi_env env, napi_value exports, const OpEntry* entries, size_t n) {
  std::vector<napi_property_descriptor> props(n);
  for (size_t i = 0; i < n; ++i) {
    props[i] = napi_property_descriptor{entries[i].name, nullptr, entries[i].fn, nullptr, nullptr, nullptr, napi_enumerable, nullptr};
  }
  napi_define_properties(env, exports, n, props.data());
}

}  // namespace prior
