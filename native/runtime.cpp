// Process-wide settings: threads, seeds, devices, the allocation cap, versions.
#include "common.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/csrc/api/include/torch/version.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace prior {
namespace {

// libtorch's CPU allocator, wrapped for two reasons:
// - the cap: one allocation larger than it throws a c10::Error (a JS Error) before any memory
//   is taken, instead of the OS killing the process;
// - a block cache: tensors whose handles die in GC are freed in bursts, long after the op, so
//   unlike PyTorch (refcounting frees at once and malloc hands the same warm block back) every
//   large result would land on fresh, page-faulting memory. Freed blocks of at least
//   kMinCachedBytes wait here, up to the cache limit, for the next request of the same size.
struct CachingCappedAllocator final : c10::Allocator {
  static constexpr size_t kMinCachedBytes = 32 * 1024;
  c10::Allocator* base = nullptr;
  std::atomic<uint64_t> cap{0};
  std::atomic<uint64_t> cacheLimit{0};

  std::mutex mu;
  std::unordered_multimap<size_t, void*> idle;  // cached free blocks by exact size
  std::unordered_map<void*, size_t> live;       // sizes of handed-out blocks this allocator owns
  uint64_t idleBytes = 0;

  c10::DataPtr allocate(size_t n) override {
    uint64_t limit = cap.load(std::memory_order_relaxed);
    TORCH_CHECK(limit == 0 || n <= limit, "allocation of ", n, " bytes exceeds the cap of ", limit,
                " bytes (torch.setAllocationCap changes it)");
    if (n < kMinCachedBytes) return base->allocate(n);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (auto it = idle.find(n); it != idle.end()) {
        p = it->second;
        idle.erase(it);
        idleBytes -= n;
      }
    }
    if (!p) p = c10::alloc_cpu(n);
    {
      std::lock_guard<std::mutex> lock(mu);
      live.emplace(p, n);
    }
    if (c10::memoryProfilingEnabled()) c10::reportMemoryUsageToProfiler(p, static_cast<int64_t>(n), 0, 0, c10::Device(c10::kCPU));
    return {p, p, &release, c10::Device(c10::kCPU)};
  }

  static void release(void* p);

  void put(void* p) {
    size_t n;
    bool keep;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = live.find(p);
      if (it == live.end()) {
        // A small block from raw_allocate: it came from the base allocator.
        base->raw_deleter()(p);
        return;
      }
      n = it->second;
      live.erase(it);
      keep = idleBytes + n <= cacheLimit.load(std::memory_order_relaxed);
      if (keep) {
        idle.emplace(n, p);
        idleBytes += n;
      }
    }
    if (c10::memoryProfilingEnabled()) c10::reportMemoryUsageToProfiler(p, -static_cast<int64_t>(n), 0, 0, c10::Device(c10::kCPU));
    if (!keep) c10::free_cpu(p);
  }

  // Returns every cached block to the system (torch.emptyCache()).
  uint64_t emptyCache() {
    std::unordered_multimap<size_t, void*> blocks;
    uint64_t freed;
    {
      std::lock_guard<std::mutex> lock(mu);
      blocks.swap(idle);
      freed = idleBytes;
      idleBytes = 0;
    }
    for (auto& [n, p] : blocks) c10::free_cpu(p);
    return freed;
  }

  uint64_t cachedBytes() {
    std::lock_guard<std::mutex> lock(mu);
    return idleBytes;
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
};

CachingCappedAllocator gAllocator;

void CachingCappedAllocator::release(void* p) { gAllocator.put(p); }

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

napi_value setCacheLimit(napi_env env, napi_callback_info info) {
  Args a(env, info, "setCacheLimit", {"bytes"});
  try {
    int64_t bytes = a.int64(0);
    if (bytes < 0) throw ArgError("argument 'bytes' must be >= 0 (0 disables the block cache)");
    gAllocator.cacheLimit.store(static_cast<uint64_t>(bytes));
    if (gAllocator.cachedBytes() > static_cast<uint64_t>(bytes)) gAllocator.emptyCache();
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value emptyCache(napi_env env, napi_callback_info info) {
  Args a(env, info, "emptyCache", {});
  return a.ret(static_cast<double>(gAllocator.emptyCache()));
}

napi_value cacheStats(napi_env env, napi_callback_info info) {
  Args a(env, info, "cacheStats", {});
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_double(env, static_cast<double>(gAllocator.cachedBytes()), &v);
  napi_set_named_property(env, obj, "cachedBytes", v);
  napi_create_double(env, static_cast<double>(gAllocator.cacheLimit.load()), &v);
  napi_set_named_property(env, obj, "cacheLimit", v);
  return obj;
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
    {"liveTensors", liveTensors},           {"setCacheLimit", setCacheLimit},     {"emptyCache", emptyCache},
    {"cacheStats", cacheStats},
};

}  // namespace

void registerRuntime(napi_env env, napi_value exports) {
  static bool installed = false;
  if (!installed) {
    installed = true;
    gAllocator.base = c10::GetCPUAllocator();
    gAllocator.cap.store(physicalMemory() / 2);  // default: half of physical memory per allocation
    gAllocator.cacheLimit.store(std::min<uint64_t>(physicalMemory() / 16, uint64_t{1} << 30));
    c10::SetCPUAllocator(&gAllocator, /*priority=*/10);
  }
  defineAll(env, exports, kEntries, std::size(kEntries));
}

}  // namespace prior
