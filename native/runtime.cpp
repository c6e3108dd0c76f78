// Process-wide settings: threads, seeds, devices, the allocation cap, versions.
#include "common.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/CPUAllocator.h>
#include <torch/csrc/api/include/torch/version.h>

#include <unistd.h>

#include <atomic>

namespace prior {
namespace {

// Wraps libtorch's CPU allocator so that one allocation larger than the cap throws a
// c10::Error (a JS Error) before any memory is taken, instead of the OS killing the process.
struct CappedAllocator final : c10::Allocator {
  c10::Allocator* base = nullptr;
  std::atomic<uint64_t> cap{0};

  c10::DataPtr allocate(size_t n) override {
    uint64_t limit = cap.load(std::memory_order_relaxed);
    TORCH_CHECK(limit == 0 || n <= limit, "allocation of ", n, " bytes exceeds the cap of ", limit,
                " bytes (torch.setAllocationCap changes it)");
    return base->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base->raw_deleter(); }
  void copy_data(void* dest, const void* src, std::size_t count) const override { base->copy_data(dest, src, count); }
};

CappedAllocator gAllocator;

uint64_t physicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(size) : 0;
}

napi_value setNumThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "setNumThreads", {"n"});
  try {
    int64_t n = a.int64(0);
    if (n < 1) throw ArgError("argument 'n' must be >= 1, got " + std::to_string(n));
    at::set_num_threads(static_cast<int>(n));
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value getNumThreads(napi_env env, napi_callback_info info) {
  Args a(env, info, "getNumThreads", {});
  return a.ret(static_cast<double>(at::get_num_threads()));
}

napi_value manualSeed(napi_env env, napi_callback_info info) {
  Args a(env, info, "manualSeed", {"seed"});
  try {
    int64_t seed = a.int64(0);
    at::manual_seed(static_cast<uint64_t>(seed));  // seeds CPU and every CUDA device
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value cudaIsAvailable(napi_env env, napi_callback_info info) {
  Args a(env, info, "cudaIsAvailable", {});
  return a.ret(at::detail::getCUDAHooks().hasCUDA());
}

napi_value cudaDeviceCount(napi_env env, napi_callback_info info) {
  Args a(env, info, "cudaDeviceCount", {});
  return a.ret(static_cast<double>(at::detail::getCUDAHooks().hasCUDA() ? at::detail::getCUDAHooks().deviceCount() : 0));
}

napi_value cudaSynchronize(napi_env env, napi_callback_info info) {
  Args a(env, info, "cudaSynchronize", {"device"});
  try {
    if (at::detail::getCUDAHooks().hasCUDA()) {
      at::detail::getCUDAHooks().deviceSynchronize(a.has(0) ? a.int64(0) : at::detail::getCUDAHooks().getCurrentDevice());
    }
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value setAllocationCap(napi_env env, napi_callback_info info) {
  Args a(env, info, "setAllocationCap", {"bytes"});
  try {
    int64_t bytes = a.int64(0);  // an integer: Infinity or 1e20 would overflow the cast below
    if (bytes < 0) throw ArgError("argument 'bytes' must be >= 0 (0 disables the cap)");
    gAllocator.cap.store(static_cast<uint64_t>(bytes));
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value getAllocationCap(napi_env env, napi_callback_info info) {
  Args a(env, info, "getAllocationCap", {});
  return a.ret(static_cast<double>(gAllocator.cap.load()));
}

napi_value buildInfo(napi_env env, napi_callback_info info) {
  Args a(env, info, "buildInfo", {});
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, TORCH_VERSION, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "libtorchVersion", v);
  napi_create_int64(env, NAPI_VERSION, &v);
  napi_set_named_property(env, obj, "napiVersion", v);
  napi_create_string_utf8(env, at::get_parallel_info().c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "parallelInfo", v);
  napi_create_string_utf8(env, at::show_config().c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "config", v);
  napi_create_double(env, static_cast<double>(physicalMemory()), &v);
  napi_set_named_property(env, obj, "physicalMemory", v);
  return obj;
}

napi_value liveTensors(napi_env env, napi_callback_info info) {
  Args a(env, info, "liveTensors", {});
  return a.ret(static_cast<double>(liveTensorCount()));
}

const OpEntry kEntries[] = {
    {"setNumThreads", setNumThreads},       {"getNumThreads", getNumThreads},     {"manualSeed", manualSeed},
    {"cudaIsAvailable", cudaIsAvailable},   {"cudaDeviceCount", cudaDeviceCount}, {"cudaSynchronize", cudaSynchronize},
    {"setAllocationCap", setAllocationCap}, {"getAllocationCap", getAllocationCap}, {"buildInfo", buildInfo},
    {"liveTensors", liveTensors},
};

}  // namespace

void registerRuntime(napi_env env, napi_value exports) {
  static bool installed = false;
  if (!installed) {
    installed = true;
    gAllocator.base = c10::GetCPUAllocator();
    gAllocator.cap.store(physicalMemory() / 2);  // default: half of physical memory per allocation
    c10::SetCPUAllocator(&gAllocator, /*priority=*/10);
  }
  defineAll(env, exports, kEntries, std::size(kEntries));
}

}  // namespace prior
