// File I/O straight between files and tensor memory (safetensors, checkpoints), and the
// default generators' states. Tensor bytes never pass through a JS buffer: a 500 MB file is
// read once, into the tensor that keeps it.
#include "common.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <ATen/ops/empty.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader copies bytes as they are"
#endif

namespace prior {
namespace {

std::runtime_error ioError(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}

// Closes the descriptor on every path out, including exceptions.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// First-touch page faults dominate a large read into fresh memory (10x the copy in a VM):
// transparent huge pages for the 2 MB-aligned interior cut them 512-fold. Advice only.
void adviseHugePages(char* p, size_t n) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = 2u << 20;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

// readFileInto(path, offset, nbytes, shape, dtype, options?): a new CPU tensor of `shape` and
// `dtype` whose bytes are preads of [offset, offset + nbytes) of the file, then moved to
// options.device / converted to options.dtype when asked.
napi_value readFileInto(napi_env env, napi_callback_info info) {
  Args a(env, info, "readFileInto", {"path", "offset", "nbytes", "shape", "dtype", "options"});
  try {
    std::string path = a.string(0);
    int64_t offset = a.int64(1);
    int64_t nbytes = a.int64(2);
    auto shape = a.intList(3);
    at::ScalarType dtype = a.dtype(4);
    TensorOptionsArg opts = a.tensorOptions(5);
    if (offset < 0 || nbytes < 0) throw ArgError("offset and nbytes must be >= 0");
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (static_cast<int64_t>(t.nbytes()) != nbytes) {
      throw ArgError("shape and dtype take " + std::to_string(t.nbytes()) + " bytes but nbytes is " + std::to_string(nbytes));
    }
    if (nbytes > 0) {
      Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
      if (f.fd < 0) throw ioError("cannot open", path);
      char* dst = static_cast<char*>(t.data_ptr());
      adviseHugePages(dst, static_cast<size_t>(nbytes));
      int64_t done = 0;
      while (done < nbytes) {
        ssize_t n = ::pread(f.fd, dst + done, static_cast<size_t>(nbytes - done), offset + done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw ioError("cannot read", path);
        if (n == 0) {
          throw std::runtime_error("unexpected end of file in '" + path + "' at byte " + std::to_string(offset + done) +
                                   " (expected data up to byte " + std::to_string(offset + nbytes) + ")");
        }
        done += n;
      }
    }
    at::ScalarType want = opts.options.has_dtype() ? opts.options.dtype().toScalarType() : dtype;
    if (want != dtype || opts.options.device() != t.device()) t = t.to(opts.options.device(), want);
    return a.ret(opts.finish(std::move(t)));
  } catch (...) {
    return a.fail();
  }
}

// writeTensorData(fd, tensor): appends the tensor's bytes (row-major, native little-endian)
// at the descriptor's position. Only a non-contiguous or non-CPU tensor is copied first, one
// tensor at a time. Returns the number of bytes written.
napi_value writeTensorData(napi_env env, napi_callback_info info) {
  Args a(env, info, "writeTensorData", {"fd", "tensor"});
  try {
    int fd = static_cast<int>(a.int64(0));
    at::Tensor t = a.tensor(1).detach();
    if (!t.device().is_cpu()) t = t.cpu();
    t = t.contiguous();
    const char* src = static_cast<const char*>(t.data_ptr());
    size_t total = t.nbytes(), done = 0;
    while (done < total) {
      ssize_t n = ::write(fd, src + done, total - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("cannot write tensor data: ") + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    return a.ret(static_cast<double>(total));
  } catch (...) {
    return a.fail();
  }
}

c10::Device generatorDevice(const Args& a, size_t i) {
  c10::Device d = a.has(i) ? a.device(i) : c10::Device(c10::kCPU);
  if (!d.is_cpu() && !d.is_cuda()) throw ArgError("generator device must be 'cpu' or 'cuda[:N]'");
  if (d.is_cuda() && !d.has_index()) d = c10::Device(c10::kCUDA, 0);
  return d;
}

// getRngState(device?): the default generator's state as a uint8 tensor (a copy), as
// torch.get_rng_state() / torch.cuda.get_rng_state(device).
napi_value getRngState(napi_env env, napi_callback_info info) {
  Args a(env, info, "getRngState", {"device"});
  try {
    at::Generator gen = at::globalContext().defaultGenerator(generatorDevice(a, 0));
    std::lock_guard<std::mutex> lock(gen.mutex());
    return a.ret(gen.get_state());
  } catch (...) {
    return a.fail();
  }
}

// setRngState(state, device?): restores a state returned by getRngState for the same device
// type; libtorch checks the size and rejects a foreign state.
napi_value setRngState(napi_env env, napi_callback_info info) {
  Args a(env, info, "setRngState", {"state", "device"});
  try {
    at::Tensor state = a.tensor(0);
    if (state.scalar_type() != at::kByte || !state.device().is_cpu()) {
      throw ArgError("the generator state must be a uint8 CPU tensor, got " + describeTensor(state));
    }
    at::Generator gen = at::globalContext().defaultGenerator(generatorDevice(a, 1));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.contiguous());
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

const OpEntry kEntries[] = {
    {"readFileInto", readFileInto},
    {"writeTensorData", writeTensorData},
    {"getRngState", getRngState},
    {"setRngState", setRngState},
};

}  // namespace

void registerIo(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
