// Shared by every translation unit of the binding (and its precompiled header):
// the tensor handle, argument converters and error reporting. No model logic here.
#pragma once

#include <node_api.h>

#include <ATen/core/Tensor.h>
#include <c10/core/Scalar.h>
#include <c10/core/ScalarType.h>
#include <c10/core/Device.h>
#include <c10/core/TensorOptions.h>
#include <c10/util/Exception.h>
#include <c10/util/OptionalArrayRef.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace prior {

// ---------------------------------------------------------------------------
// Tensor handle: a heap cell owned by a JS external. Released deterministically by
// dispose() or, as a backstop, by a basic (GC-time) finalizer. The bytes reported to
// V8 are remembered so that the +/- adjustments always pair.
struct TensorCell {
  static constexpr uint32_t kMagic = 0x7e45c0de;
  uint32_t magic = kMagic;
  bool disposed = false;
  int64_t accounted = 0;
  at::Tensor tensor;
};

// Thrown by converters for a JS value of the wrong kind; reported as a TypeError.
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whether a handle reports its storage to V8 as memory it keeps alive. A borrowed handle (a
// parameter's .grad, owned by the parameter) reports only its own overhead, so that handing
// gradients to JS does not trigger collections for memory that no handle's death would free.
enum class Ownership { Owned, Borrowed };
napi_value wrapTensor(napi_env env, at::Tensor t, Ownership own = Ownership::Owned);
// Returns the cell behind a JS handle or nullptr when the value is not one of ours.
TensorCell* cellOf(napi_env env, napi_value v);
void releaseCell(napi_env env, TensorCell* cell);
int64_t liveTensorCount();

std::string describeTensor(const at::Tensor& t);
std::string describeValue(napi_env env, napi_value v);
const char* dtypeName(at::ScalarType s);
at::ScalarType parseDtype(const std::string& s);

// The message ("op: detail"), code and kind of the C++ exception in flight. Touches no JS
// state, so async work calls it on its worker thread.
struct ErrorInfo {
  std::string message;
  const char* code = "ERR_TORCH";
  bool typeError = false;
};
ErrorInfo currentError(const char* op);
// "\n  (name=float32[2, 3], ...)", the argument list that error messages end with.
std::string describeArgs(napi_env env, const char* const* names, size_t argc, const napi_value* argv);

// Throws a JS exception built from the C++ exception in flight. `what` names the op;
// the arguments are described so that shapes and dtypes appear in the message.
napi_value throwFromCurrent(napi_env env, const char* op, const char* const* names, size_t argc, const napi_value* argv);
napi_value throwJs(napi_env env, const char* code, const std::string& msg, bool typeError);

// ---------------------------------------------------------------------------
// Argument access for one call. Converters are written once and used by every op.
struct TensorOptionsArg {
  at::TensorOptions options;
  bool requiresGrad = false;
  at::Tensor finish(at::Tensor t) const {
    if (requiresGrad) t.requires_grad_(true);
    return t;
  }
};

class Args {
 public:
  static constexpr size_t kMax = 12;
  Args(napi_env env, napi_callback_info info, const char* op, std::initializer_list<const char*> names);

  napi_env env;
  const char* op;
  size_t argc = kMax;
  napi_value argv[kMax];
  const char* names[kMax] = {};
  size_t nameCount = 0;

  bool has(size_t i) const;  // present and not undefined/null

  at::Tensor tensor(size_t i) const;
  std::optional<at::Tensor> optTensor(size_t i) const;
  std::vector<at::Tensor> tensorList(size_t i) const;
  c10::List<std::optional<at::Tensor>> optTensorList(size_t i) const;
  at::Scalar scalar(size_t i) const;
  bool isTensor(size_t i) const;
  int64_t int64(size_t i) const;
  double float64(size_t i) const;
  bool boolean(size_t i) const;
  std::string string(size_t i) const;
  std::vector<int64_t> intList(size_t i, size_t expandTo = 0) const;
  std::vector<double> floatList(size_t i) const;
  at::ScalarType dtype(size_t i) const;
  c10::Device device(size_t i) const;
  int64_t reduction(size_t i) const;
  TensorOptionsArg tensorOptions(size_t i) const;

  napi_value ret(at::Tensor t) const { return wrapTensor(env, std::move(t)); }
  napi_value ret(const std::vector<at::Tensor>& ts) const;
  napi_value ret(const std::tuple<at::Tensor, at::Tensor>& ts) const;
  napi_value ret(const std::tuple<at::Tensor, at::Tensor, at::Tensor>& ts) const;
  napi_value ret(double v) const;
  napi_value ret(int64_t v) const;
  napi_value ret(bool v) const;
  napi_value retScalar(const at::Scalar& s) const;
  napi_value undefined() const;
  napi_value fail() const { return throwFromCurrent(env, op, names, argc, argv); }

 private:
  [[noreturn]] void bad(size_t i, const std::string& expected) const;
};

using OpFn = napi_value (*)(napi_env, napi_callback_info);
struct OpEntry {
  const char* name;
  OpFn fn;
};
// Each binding file registers its functions through one of these tables.
void defineAll(napi_env env, napi_value exports, const OpEntry* entries, size_t n);

}  // namespace prior
