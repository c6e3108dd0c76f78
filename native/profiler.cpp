// libtorch's profiler (Kineto) and named ranges: start/stop a profiling session, return its
// raw events for src/torch/profiler.ts to aggregate, write the Chrome trace.
#include "common.h"

#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <memory>

namespace prior {
namespace {

namespace kprof = torch::autograd::profiler;
namespace pimpl = torch::profiler::impl;

bool objectFlag(napi_env env, napi_value obj, const char* key) {
  napi_value v;
  bool out = false;
  if (napi_get_named_property(env, obj, key, &v) == napi_ok) napi_get_value_bool(env, v, &out);
  return out;
}

void setNumber(napi_env env, napi_value obj, const char* key, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, key, v);
}

void setString(napi_env env, napi_value obj, const char* key, const std::string& value) {
  napi_value v;
  napi_create_string_utf8(env, value.c_str(), value.size(), &v);
  napi_set_named_property(env, obj, key, v);
}

// profilerStart({recordShapes, profileMemory, withStack, cuda}): one session at a time.
napi_value profilerStart(napi_env env, napi_callback_info info) {
  Args a(env, info, "profilerStart", {"options"});
  try {
    if (pimpl::profilerEnabled()) throw std::runtime_error("a profiling session is already running (profile() calls do not nest)");
    napi_value opts = a.argv[0];
    pimpl::ProfilerConfig config(pimpl::ProfilerState::KINETO, objectFlag(env, opts, "recordShapes"),
                                 objectFlag(env, opts, "profileMemory"), objectFlag(env, opts, "withStack"));
    std::set<pimpl::ActivityType> activities{pimpl::ActivityType::CPU};
    if (objectFlag(env, opts, "cuda")) activities.insert(pimpl::ActivityType::CUDA);
    kprof::prepareProfiler(config, activities);
    kprof::enableProfiler(config, activities);
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// One plain object per event; shapes as arrays of sizes (an empty array for non-tensor inputs).
napi_value eventObject(napi_env env, const kprof::KinetoEvent& e) {
  napi_value obj;
  napi_create_object(env, &obj);
  setString(env, obj, "name", e.name());
  setNumber(env, obj, "threadId", static_cast<double>(e.startThreadId()));
  setNumber(env, obj, "startNs", static_cast<double>(e.startNs()));
  setNumber(env, obj, "durationNs", static_cast<double>(e.durationNs()));
  setString(env, obj, "device", c10::DeviceTypeName(e.deviceType(), /*lower_case=*/true));
  setNumber(env, obj, "nBytes", static_cast<double>(e.nBytes()));
  setNumber(env, obj, "correlationId", static_cast<double>(e.correlationId()));
  setNumber(env, obj, "linkedCorrelationId", static_cast<double>(e.linkedCorrelationId()));
  setNumber(env, obj, "scope", static_cast<double>(e.scope()));
  napi_value shapes;
  napi_create_array(env, &shapes);
  if (e.hasShapes()) {
    uint32_t k = 0;
    for (const auto& s : e.shapes()) {
      napi_value dims;
      napi_create_array_with_length(env, s.size(), &dims);
      for (size_t d = 0; d < s.size(); ++d) {
        napi_value n;
        napi_create_double(env, static_cast<double>(s[d]), &n);
        napi_set_element(env, dims, d, n);
      }
      napi_set_element(env, shapes, k++, dims);
    }
  }
  napi_set_named_property(env, obj, "shapes", shapes);
  napi_value stack;
  napi_create_array(env, &stack);
  if (e.hasStack()) {
    uint32_t k = 0;
    for (const auto& frame : e.stack()) {
      napi_value f;
      napi_create_string_utf8(env, frame.c_str(), frame.size(), &f);
      napi_set_element(env, stack, k++, f);
    }
  }
  napi_set_named_property(env, obj, "stack", stack);
  return obj;
}

// profilerStop(traceFile?): ends the session, writes the Chrome trace when a path is given,
// returns the events.
napi_value profilerStop(napi_env env, napi_callback_info info) {
  Args a(env, info, "profilerStop", {"traceFile"});
  try {
    if (!pimpl::profilerEnabled()) throw std::runtime_error("no profiling session is running");
    std::string path = a.has(0) ? a.string(0) : std::string();
    std::unique_ptr<kprof::ProfilerResult> result = kprof::disableProfiler();
    if (!path.empty()) result->save(path);
    const auto& events = result->events();
    napi_value arr;
    napi_create_array_with_length(env, events.size(), &arr);
    for (size_t i = 0; i < events.size(); ++i) napi_set_element(env, arr, i, eventObject(env, events[i]));
    return arr;
  } catch (...) {
    return a.fail();
  }
}

napi_value profilerEnabled(napi_env env, napi_callback_info info) {
  Args a(env, info, "profilerEnabled", {});
  return a.ret(pimpl::profilerEnabled());
}

// A named range: the RecordFunction lives on the heap between enter and exit.
void deleteRange(node_api_basic_env /*env*/, void* data, void* /*hint*/) { delete static_cast<at::RecordFunction*>(data); }

// recordFunctionEnter(name): a range handle, or null when nothing records (the profiler is
// off): then a range costs this one call.
napi_value recordFunctionEnter(napi_env env, napi_callback_info info) {
  Args a(env, info, "recordFunctionEnter", {"name"});
  try {
    std::string name = a.string(0);
    auto callbacks = at::getStepCallbacksUnlessEmpty(at::RecordScope::USER_SCOPE);
    napi_value out;
    if (!callbacks) {
      napi_get_null(env, &out);
      return out;
    }
    auto range = std::make_unique<at::RecordFunction>(std::move(*callbacks));
    range->before(name);
    napi_create_external(env, range.get(), deleteRange, nullptr, &out);
    range.release();
    return out;
  } catch (...) {
    return a.fail();
  }
}

// recordFunctionExit(handle): ends the range (once; a second exit is a no-op).
napi_value recordFunctionExit(napi_env env, napi_callback_info info) {
  Args a(env, info, "recordFunctionExit", {"range"});
  void* data = nullptr;
  if (a.argc < 1 || napi_get_value_external(env, a.argv[0], &data) != napi_ok || data == nullptr) {
    return throwJs(env, "ERR_TORCH_ARG", "recordFunctionExit: argument 'range' must be a range handle", true);
  }
  static_cast<at::RecordFunction*>(data)->end();
  return a.undefined();
}

const OpEntry kEntries[] = {
    {"profilerStart", profilerStart},             {"profilerStop", profilerStop},           {"profilerEnabled", profilerEnabled},
    {"recordFunctionEnter", recordFunctionEnter}, {"recordFunctionExit", recordFunctionExit},
};

}  // namespace

void registerProfiler(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
