// Async ops: ATen calls on libuv worker threads, the in-flight registry that guards their
// inputs, and the limiter that owns the core budget (async ops x intra-op threads <= cores).
// Everything here but `execute` runs on the JS thread, so the registry needs no lock.
#include "async.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>

#include <sched.h>

#include <deque>
#include <memory>
#include <unordered_map>

namespace prior {
namespace {

// Autocast is thread-local in libtorch, like grad mode: the state at the call is applied on the
// worker for the op and restored after, since libuv reuses its threads.
struct AutocastState {
  static constexpr at::DeviceType kDevices[] = {at::kCPU, at::kCUDA};
  bool enabled[2] = {false, false};
  at::ScalarType dtype[2] = {at::kBFloat16, at::kHalf};

  static AutocastState current() {
    AutocastState s;
    for (int i = 0; i < 2; ++i) {
      s.enabled[i] = at::autocast::is_autocast_enabled(kDevices[i]);
      s.dtype[i] = at::autocast::get_autocast_dtype(kDevices[i]);
    }
    return s;
  }
  void apply() const {
    for (int i = 0; i < 2; ++i) {
      at::autocast::set_autocast_enabled(kDevices[i], enabled[i]);
      at::autocast::set_autocast_dtype(kDevices[i], dtype[i]);
    }
  }
};

struct AutocastGuard {
  AutocastState saved = AutocastState::current();
  explicit AutocastGuard(const AutocastState& wanted) { wanted.apply(); }
  ~AutocastGuard() {
    saved.apply();
    at::autocast::clear_cache();
  }
};

struct AsyncOp {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::string op;
  std::string argsText;  // described at the call: the JS values are gone when it settles
  std::vector<at::Tensor> inputs;
  std::vector<int64_t> versions;
  std::function<at::Tensor()> compute;
  bool gradEnabled = true;
  AutocastState autocast;
  at::Tensor result;
  std::optional<ErrorInfo> error;
};

// Counts, not sets: one tensor may feed several ops in flight.
std::unordered_map<const c10::StorageImpl*, int> gStorages;
std::unordered_map<const c10::TensorImpl*, int> gTensors;
std::deque<AsyncOp*> gQueue;
int gRunning = 0;
int gLimitOverride = 0;  // 0: derived from the core budget

int64_t versionOf(const at::Tensor& t) { return t.is_inference() ? 0 : static_cast<int64_t>(t._version()); }

const c10::StorageImpl* storageOf(const at::Tensor& t) { return t.has_storage() ? t.storage().unsafeGetStorageImpl() : nullptr; }

void track(const std::vector<at::Tensor>& ts, int delta) {
  auto bump = [delta](auto& map, const auto* key) {
    if (!key) return;
    if ((map[key] += delta) <= 0) map.erase(key);
  };
  for (const auto& t : ts) {
    bump(gStorages, storageOf(t));
    bump(gTensors, t.unsafeGetTensorImpl());
  }
}

int cpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return 1;
}

// Each worker runs its op with a full intra-op team, so this many at once fill the cores.
int concurrencyLimit() {
  if (gLimitOverride > 0) return gLimitOverride;
  return std::max(1, cpuCount() / std::max(1, at::get_num_threads()));
}

void execute(napi_env, void* data) {
  auto* op = static_cast<AsyncOp*>(data);
  at::init_num_threads();  // the intra-op thread count is per thread under OpenMP: use the global one
  try {
    c10::AutoGradMode grad(op->gradEnabled);  // grad mode is thread-local in libtorch
    AutocastGuard autocast(op->autocast);
    op->result = op->compute();
  } catch (...) {
    op->error = currentError(op->op.c_str());
  }
}

napi_value makeError(napi_env env, const ErrorInfo& info, const std::string& suffix) {
  napi_value code, msg, err;
  napi_create_string_utf8(env, info.code, NAPI_AUTO_LENGTH, &code);
  std::string text = info.message + suffix;
  napi_create_string_utf8(env, text.c_str(), text.size(), &msg);
  if (info.typeError) napi_create_type_error(env, code, msg, &err);
  else napi_create_error(env, code, msg, &err);
  return err;
}

void pump(napi_env env);

void complete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<AsyncOp> op(static_cast<AsyncOp*>(data));
  napi_delete_async_work(env, op->work);
  --gRunning;
  track(op->inputs, -1);
  // The registry stops in-place ops that go through the bindings; the version counters also
  // catch any other writer (a hand-written native op): its result may have read torn data.
  for (size_t i = 0; i < op->inputs.size() && !op->error; ++i) {
    if (versionOf(op->inputs[i]) != op->versions[i]) {
      op->error = ErrorInfo{op->op + ": input " + std::to_string(i) + " was modified in place while the async op read it"};
    }
  }
  if (status != napi_ok && !op->error) op->error = ErrorInfo{op->op + ": the async op was cancelled"};
  napi_value value = nullptr;
  if (!op->error) {
    try {
      value = wrapTensor(env, std::move(op->result));
    } catch (...) {
      op->error = currentError(op->op.c_str());
    }
  }
  if (op->error) napi_reject_deferred(env, op->deferred, makeError(env, *op->error, op->argsText));
  else napi_resolve_deferred(env, op->deferred, value);
  pump(env);
}

// Starts queued ops while the budget allows.
void pump(napi_env env) {
  while (!gQueue.empty() && gRunning < concurrencyLimit()) {
    AsyncOp* op = gQueue.front();
    gQueue.pop_front();
    ++gRunning;
    napi_queue_async_work(env, op->work);
  }
}

napi_value setAsyncLimit(napi_env env, napi_callback_info info) {
  Args a(env, info, "setAsyncConcurrency", {"n"});
  try {
    int64_t n = a.has(0) ? a.int64(0) : 0;
    if (n < 0) throw ArgError("argument 'n' must be >= 1 (or null for the core budget), got " + std::to_string(n));
    gLimitOverride = static_cast<int>(n);
    pump(env);
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value asyncStats(napi_env env, napi_callback_info info) {
  Args a(env, info, "asyncStats", {});
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_int32(env, gRunning, &v);
  napi_set_named_property(env, obj, "running", v);
  napi_create_int32(env, static_cast<int32_t>(gQueue.size()), &v);
  napi_set_named_property(env, obj, "queued", v);
  napi_create_int32(env, concurrencyLimit(), &v);
  napi_set_named_property(env, obj, "limit", v);
  napi_create_int32(env, cpuCount(), &v);
  napi_set_named_property(env, obj, "cores", v);
  return obj;
}

const OpEntry kEntries[] = {{"setAsyncLimit", setAsyncLimit}, {"asyncStats", asyncStats}};

}  // namespace

napi_value startAsync(const Args& a, std::vector<at::Tensor> inputs, std::function<at::Tensor()> compute) {
  auto op = std::make_unique<AsyncOp>();
  op->op = a.op;
  op->argsText = describeArgs(a.env, a.names, a.argc, a.argv);
  op->inputs = std::move(inputs);
  for (const auto& t : op->inputs) op->versions.push_back(versionOf(t));
  op->compute = std::move(compute);
  op->gradEnabled = c10::GradMode::is_enabled();
  op->autocast = AutocastState::current();
  napi_value promise, name;
  if (napi_create_promise(a.env, &op->deferred, &promise) != napi_ok) throw std::runtime_error("could not create a promise");
  napi_create_string_utf8(a.env, a.op, NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(a.env, nullptr, name, execute, complete, op.get(), &op->work) != napi_ok) {
    throw std::runtime_error("could not create async work");  // the deferred is dropped with its promise
  }
  track(op->inputs, +1);
  gQueue.push_back(op.release());
  pump(a.env);
  return promise;
}

void checkNotInFlight(const at::Tensor& t) {
  if (gStorages.empty()) return;  // the common case: no async op anywhere, no hashing per in-place op
  const auto* s = storageOf(t);
  if (s && gStorages.count(s)) {
    throw std::runtime_error("the tensor (or a tensor sharing its storage) is an input of an async op in flight; await it before modifying it in place");
  }
}

bool tensorInFlight(const at::Tensor& t) { return !gTensors.empty() && t.defined() && gTensors.count(t.unsafeGetTensorImpl()) > 0; }

void registerAsync(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
