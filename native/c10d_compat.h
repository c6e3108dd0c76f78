// Everything that differs between the libtorch 2.x builds the addon links: which c10d headers
// exist, which constructors and options they take, and whether NCCL is there. distributed.cpp
// goes through these few functions only.
//
// Gloo: the torch wheels ship ProcessGroupGloo.hpp without gloo's own headers; the build puts
// native/gloo_decls (declarations only, see its README) behind libtorch's include folder, and
// only functions exported by libtorch_cpu are called here, so no gloo layout is compiled in.
#pragma once

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // the CPU and CUDA wheels both build c10d with Gloo
#endif

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

// PRIOR_WITH_NCCL is set by the build when libtorch has CUDA, ProcessGroupNCCL.hpp and nccl.h.
#if defined(PRIOR_WITH_NCCL) && PRIOR_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define PRIOR_HAS_NCCL 1
#else
#define PRIOR_HAS_NCCL 0
#endif

#include <chrono>
#include <cstdlib>
#include <string>

namespace prior::c10d_compat {

using Ms = std::chrono::milliseconds;

// A TCPStore client, or the server plus its client when `isServer` (rank 0). It does not wait
// for the other ranks (distributed.cpp does, to name the missing ones). The fields set here are
// the ones every 2.x TCPStoreOptions has; later additions (libuv server...) keep their defaults.
inline c10::intrusive_ptr<c10d::Store> tcpStore(const std::string& host, uint16_t port, bool isServer, Ms timeout) {
  c10d::TCPStoreOptions opts;
  opts.port = port;
  opts.isServer = isServer;
  opts.numWorkers = std::nullopt;
  opts.waitWorkers = false;
  opts.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(host, opts);
}

inline c10::intrusive_ptr<c10d::Store> prefixStore(const std::string& prefix, c10::intrusive_ptr<c10d::Store> store) {
  return c10::make_intrusive<c10d::PrefixStore>(prefix, std::move(store));
}

// The device choice torch.distributed makes: GLOO_SOCKET_IFNAME's interface when set, else
// this host's name (loopback when it does not resolve). The lazyInit parameter (later 2.x) keeps
// its default, so one call fits every 2.x; threads = 2 per device, as torch.distributed does.
inline c10::intrusive_ptr<c10d::Backend> glooBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, Ms timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) {
    std::string list(ifname);
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string one = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!one.empty()) options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(one));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  options->threads = static_cast<int>(options->devices.size()) * 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}

constexpr bool kHasNccl = PRIOR_HAS_NCCL;

#if PRIOR_HAS_NCCL
inline c10::intrusive_ptr<c10d::Backend> ncclBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, Ms timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}
#endif

}  // namespace prior::c10d_compat
