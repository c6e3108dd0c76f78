// One process group per process over libtorch's own c10d: a TCPStore for rendezvous, Gloo (CPU)
// or NCCL (CUDA) for the collectives. Collectives are issued on the JS thread, in call order,
// so every rank enqueues them in the same order; only the wait runs on a libuv worker.
//
// Faults: each rank publishes a heartbeat (a beat counter and how many collectives it has
// issued) to the store from a thread of its own. When a collective or the rendezvous fails, the
// error names the ranks that stopped beating (exited, killed, frozen) or that are alive but never
// entered the collective (hung elsewhere). Gloo's own timeout is the configured one less three
// heartbeats, which the diagnosis may spend, so the error comes within the configured timeout.
#include "async.h"
#include "c10d_compat.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

namespace prior {
namespace {

using Ms = std::chrono::milliseconds;

std::string heartbeatKey(int rank) { return "prior/heartbeat/" + std::to_string(rank); }
std::string joinKey(int rank) { return "prior/joined/" + std::to_string(rank); }

struct Beat {
  int64_t beats = -1;
  int64_t issued = -1;
};

std::vector<uint8_t> encodeBeat(int64_t beats, int64_t issued) {
  std::string s = std::to_string(beats) + " " + std::to_string(issued);
  return std::vector<uint8_t>(s.begin(), s.end());
}

Beat decodeBeat(const std::vector<uint8_t>& v) {
  Beat b;
  std::istringstream in(std::string(v.begin(), v.end()));
  in >> b.beats >> b.issued;
  return b;
}

// The message of the exception in flight, without libtorch's C++ backtrace.
std::string messageOfCurrent() {
  try {
    throw;
  } catch (const c10::Error& e) {
    std::string m = e.what_without_backtrace();
    if (size_t cut = m.find("\n\n"); cut != std::string::npos) m.resize(cut);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

struct Group {
  std::string backend;
  int rank = 0;
  int size = 1;
  Ms timeout{0};
  Ms interval{0};
  std::string where;  // "host:port", for messages
  c10::intrusive_ptr<c10d::Store> store;    // rank 0 hosts the server in this object
  c10::intrusive_ptr<c10d::Store> monitor;  // the heartbeat's own client connection
  c10::intrusive_ptr<c10d::Backend> pg;
  std::atomic<int64_t> issued{0};
  std::atomic<int> inFlight{0};

  std::thread heart;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  int64_t beats = 0;

  void beat() { monitor->set(heartbeatKey(rank), encodeBeat(++beats, issued.load())); }

  void startHeartbeat() {
    heart = std::thread([this] {
      std::unique_lock<std::mutex> lock(mutex);
      while (!wake.wait_for(lock, interval, [this] { return stopping; })) {
        lock.unlock();
        try {
          beat();
        } catch (...) {
          // The store is gone (rank 0 exited): the next collective fails and says so.
        }
        lock.lock();
      }
    });
  }

  void stopHeartbeat() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (heart.joinable()) heart.join();
  }

  ~Group() { stopHeartbeat(); }

  // "; rank 1 stopped responding ..." for the ranks at fault, read from their heartbeats:
  // those whose beat does not move within 2.5 intervals, and the live ones that have issued
  // fewer than `seq` collectives.
  std::string diagnose(int64_t seq) {
    if (size <= 1) return "";
    auto readAll = [this]() {
      std::vector<Beat> out(size);
      for (int r = 0; r < size; ++r) {
        if (r == rank) continue;
        if (monitor->check({heartbeatKey(r)})) out[r] = decodeBeat(monitor->get(heartbeatKey(r)));
      }
      return out;
    };
    std::vector<Beat> first, second;
    try {
      first = readAll();
      std::this_thread::sleep_for(interval * 5 / 2);
      second = readAll();
    } catch (...) {
      if (rank == 0) return "; the store could not be read (" + messageOfCurrent() + ")";
      return "; rank 0, which hosts the store at " + where + ", is unreachable: it exited or its machine is down (" +
             messageOfCurrent() + ")";
    }
    std::string stopped, behind;
    for (int r = 0; r < size; ++r) {
      if (r == rank) continue;
      if (second[r].beats < 0 || second[r].beats == first[r].beats) {
        stopped += (stopped.empty() ? "" : ", ") + std::to_string(r);
      } else if (seq > 0 && second[r].issued < seq) {
        behind += (behind.empty() ? "" : "; ") + ("rank " + std::to_string(r) + " is alive but has issued " +
                                                  std::to_string(second[r].issued) + " collectives, not " + std::to_string(seq));
      }
    }
    std::string out;
    if (!stopped.empty()) out += "; rank(s) " + stopped + " stopped responding (exited, killed or frozen)";
    if (!behind.empty()) out += "; " + behind + " (hung or waiting elsewhere)";
    if (out.empty()) out = "; every rank is alive and has issued this collective (a network fault, or ranks issuing different collectives?)";
    return out;
  }
};

std::shared_ptr<Group> gGroup;

std::shared_ptr<Group> requireGroup() {
  if (!gGroup) throw std::runtime_error("the process group is not initialised: call distributed.init() first");
  return gGroup;
}

// A collective issued on the JS thread: its Work, the group (kept alive until the wait ends)
// and its sequence number for the diagnosis.
struct Issued {
  std::shared_ptr<Group> group;
  c10::intrusive_ptr<c10d::Work> work;
  int64_t seq = 0;
  std::string what;  // "allReduce #3 (rank 0 of 2, gloo)"
};

template <class Fn>
Issued issue(const char* name, Fn&& start) {
  Issued is;
  is.group = requireGroup();
  is.seq = ++is.group->issued;
  is.what = std::string(name) + " #" + std::to_string(is.seq) + " (rank " + std::to_string(is.group->rank) + " of " +
            std::to_string(is.group->size) + ", " + is.group->backend + ")";
  try {
    is.work = start(*is.group->pg);
  } catch (...) {
    throw std::runtime_error(is.what + " could not start: " + messageOfCurrent());
  }
  ++is.group->inFlight;  // until finish(): destroy() refuses while any is pending
  return is;
}

// Blocks until the collective ends; its error, with the diagnosis, names the ranks at fault.
void finish(Issued& is) {
  // Counted down after the diagnosis too: destroy() must not drop the store it reads.
  struct Done {
    Group& g;
    ~Done() { --g.inFlight; }
  } done{*is.group};
  try {
    is.work->wait();
  } catch (...) {
    std::string msg = messageOfCurrent();
    throw std::runtime_error(is.what + " failed: " + msg + is.group->diagnose(is.seq));
  }
}

void checkTensor(const at::Tensor& t, const std::shared_ptr<Group>& g) {
  if (!t.is_contiguous()) throw ArgError("the tensor must be contiguous, got " + describeTensor(t) + " (call .contiguous() first)");
  if (g->backend == "gloo" && !t.device().is_cpu()) throw ArgError("the gloo backend takes CPU tensors, got " + describeTensor(t));
  if (g->backend == "nccl" && !t.device().is_cuda()) throw ArgError("the nccl backend takes CUDA tensors, got " + describeTensor(t));
}

// 'avg' is the TS layer's (sum, then divide on the JS thread): gloo has no AVG.
c10d::ReduceOp parseReduceOp(const std::string& op) {
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "max") return c10d::ReduceOp::MAX;
  throw ArgError("argument 'op' must be one of 'sum', 'avg', 'product', 'min', 'max', got '" + op + "'");
}

// init(backend, rank, worldSize, masterAddr, masterPort, timeoutMs)
napi_value init(napi_env env, napi_callback_info info) {
  Args a(env, info, "distributed.init", {"backend", "rank", "worldSize", "masterAddr", "masterPort", "timeoutMs"});
  try {
    if (gGroup) throw std::runtime_error("the process group is already initialised: call distributed.destroy() first");
    auto g = std::make_shared<Group>();
    g->backend = a.string(0);
    g->rank = static_cast<int>(a.int64(1));
    g->size = static_cast<int>(a.int64(2));
    std::string host = a.string(3);
    int64_t port = a.int64(4);
    g->timeout = Ms(a.int64(5));
    if (g->backend != "gloo" && g->backend != "nccl") throw ArgError("argument 'backend' must be 'gloo' or 'nccl', got '" + g->backend + "'");
    if (g->backend == "nccl" && !c10d_compat::kHasNccl) {
      throw std::runtime_error("this build has no NCCL backend (libtorch without CUDA, or nccl.h was not found at build time)");
    }
    if (g->size < 1 || g->rank < 0 || g->rank >= g->size) {
      throw ArgError("rank " + std::to_string(g->rank) + " is not in [0, worldSize = " + std::to_string(g->size) + ")");
    }
    if (port < 1 || port > 65535) throw ArgError("argument 'masterPort' must be in [1, 65535], got " + std::to_string(port));
    if (g->timeout.count() < 100) throw ArgError("argument 'timeoutMs' must be >= 100, got " + std::to_string(g->timeout.count()));
    g->interval = std::clamp(g->timeout / 10, Ms(50), Ms(1000));
    g->where = host + ":" + std::to_string(port);
    const std::string me = "rank " + std::to_string(g->rank) + " of " + std::to_string(g->size);

    try {
      g->store = c10d_compat::tcpStore(host, static_cast<uint16_t>(port), g->rank == 0, g->timeout);
      g->monitor = c10d_compat::tcpStore(host, static_cast<uint16_t>(port), false, g->timeout);
    } catch (...) {
      std::string why = messageOfCurrent();
      if (g->rank == 0) throw std::runtime_error(me + " could not host the store at " + g->where + ": " + why);
      throw std::runtime_error(me + " could not reach the store at " + g->where + " (hosted by rank 0) within " +
                               std::to_string(g->timeout.count()) + " ms: " + why);
    }
    g->beat();
    g->store->set(joinKey(g->rank), std::vector<uint8_t>{1});
    std::vector<std::string> all;
    for (int r = 0; r < g->size; ++r) all.push_back(joinKey(r));
    try {
      g->store->wait(all, g->timeout);
    } catch (...) {
      std::string missing;
      try {
        for (int r = 0; r < g->size; ++r) {
          if (!g->store->check({joinKey(r)})) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        }
      } catch (...) {
        missing = "unknown (the store is unreachable)";
      }
      throw std::runtime_error(me + ": rank(s) " + missing + " did not join within " + std::to_string(g->timeout.count()) +
                               " ms (store at " + g->where + ")");
    }

    const Ms opTimeout = std::max(Ms(50), g->timeout - 3 * g->interval);
    try {
      auto pgStore = c10d_compat::prefixStore("prior/pg/", g->store);
#if PRIOR_HAS_NCCL
      if (g->backend == "nccl") g->pg = c10d_compat::ncclBackend(pgStore, g->rank, g->size, opTimeout);
#endif
      if (g->backend == "gloo") g->pg = c10d_compat::glooBackend(pgStore, g->rank, g->size, opTimeout);
    } catch (...) {
      std::string why = messageOfCurrent();
      throw std::runtime_error(me + ": the " + g->backend + " backend could not connect: " + why + g->diagnose(0));
    }
    g->startHeartbeat();
    gGroup = std::move(g);
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value destroy(napi_env env, napi_callback_info info) {
  Args a(env, info, "distributed.destroy", {});
  try {
    if (!gGroup) return a.undefined();
    if (gGroup->inFlight.load() > 0) throw std::runtime_error("collectives are still in flight; await them before destroy()");
    auto g = std::move(gGroup);
    g->stopHeartbeat();
    g->pg.reset();
    g->monitor.reset();
    g->store.reset();
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// info() -> {initialized, rank, worldSize, backend, hasNccl}
napi_value groupInfo(napi_env env, napi_callback_info info) {
  Args a(env, info, "distributed.info", {});
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_get_boolean(env, gGroup != nullptr, &v);
  napi_set_named_property(env, obj, "initialized", v);
  napi_create_int32(env, gGroup ? gGroup->rank : -1, &v);
  napi_set_named_property(env, obj, "rank", v);
  napi_create_int32(env, gGroup ? gGroup->size : -1, &v);
  napi_set_named_property(env, obj, "worldSize", v);
  std::string backend = gGroup ? gGroup->backend : "";
  napi_create_string_utf8(env, backend.c_str(), backend.size(), &v);
  napi_set_named_property(env, obj, "backend", v);
  napi_get_boolean(env, c10d_compat::kHasNccl, &v);
  napi_set_named_property(env, obj, "hasNccl", v);
  return obj;
}

// Each collective is one `start` (JS thread) and one `wait` returning the result tensor;
// the sync binding runs both on the JS thread, the async one waits on a worker. In-place ones
// (no `result`) settle with nothing (sync) or an empty tensor (async): a second handle on the
// input would report its bytes to V8 again, and on large buffers that external-memory growth
// sets off a major GC per call.
struct Collective {
  Issued issued;
  std::vector<at::Tensor> inputs;
  std::function<at::Tensor()> result;  // after the wait, on whichever thread waited
};

napi_value runSync(const Args& a, Collective c) {
  finish(c.issued);
  return c.result ? a.ret(c.result()) : a.undefined();
}

napi_value runAsync(const Args& a, Collective c) {
  auto shared = std::make_shared<Collective>(std::move(c));
  return startAsync(a, shared->inputs, [shared]() {
    finish(shared->issued);
    at::Tensor out = shared->result ? shared->result() : at::empty({0});
    shared->issued.group.reset();  // the group may be destroyed once every wait has ended
    return out;
  });
}

// allReduce(tensor, op): in place.
Collective allReduceStart(const Args& a) {
  at::Tensor t = a.tensor(0);
  c10d::ReduceOp op = parseReduceOp(a.has(1) ? a.string(1) : "sum");
  checkTensor(t, requireGroup());
  checkNotInFlight(t);
  Collective c;
  c.inputs = {t};
  c.issued = issue("allReduce", [&](c10d::Backend& pg) {
    std::vector<at::Tensor> ts{t};
    c10d::AllreduceOptions opts;
    opts.reduceOp = op;
    return pg.allreduce(ts, opts);
  });
  return c;
}

// allGather(tensor) -> a new tensor [worldSize, ...tensor.shape], rank r's tensor at [r].
Collective allGatherStart(const Args& a) {
  at::Tensor t = a.tensor(0);
  auto g = requireGroup();
  checkTensor(t, g);
  auto outs = std::make_shared<std::vector<std::vector<at::Tensor>>>(1);
  auto stacked = at::empty([&] {
    std::vector<int64_t> s{g->size};
    s.insert(s.end(), t.sizes().begin(), t.sizes().end());
    return s;
  }(), t.options().requires_grad(false));
  for (int r = 0; r < g->size; ++r) (*outs)[0].push_back(stacked.select(0, r));
  Collective c;
  c.inputs = {t};
  c.issued = issue("allGather", [&](c10d::Backend& pg) {
    std::vector<at::Tensor> ins{t.detach()};
    return pg.allgather(*outs, ins, c10d::AllgatherOptions());
  });
  c.result = [outs, stacked]() { return stacked; };
  return c;
}

// broadcast(tensor, src): in place.
Collective broadcastStart(const Args& a) {
  at::Tensor t = a.tensor(0);
  int64_t src = a.int64(1);
  auto g = requireGroup();
  checkTensor(t, g);
  if (src < 0 || src >= g->size) throw ArgError("argument 'src' must be a rank in [0, " + std::to_string(g->size) + "), got " + std::to_string(src));
  checkNotInFlight(t);
  Collective c;
  c.inputs = {t};
  c.issued = issue("broadcast", [&](c10d::Backend& pg) {
    std::vector<at::Tensor> ts{t};
    c10d::BroadcastOptions opts;
    opts.rootRank = src;
    return pg.broadcast(ts, opts);
  });
  return c;
}

// barrier()
Collective barrierStart(const Args& a) {
  Collective c;
  c.issued = issue("barrier", [&](c10d::Backend& pg) { return pg.barrier(c10d::BarrierOptions()); });
  return c;
}

#define PRIOR_COLLECTIVE(NAME, START, ...)                                   \
  napi_value NAME(napi_env env, napi_callback_info info) {                   \
    Args a(env, info, "distributed." #NAME, {__VA_ARGS__});                   \
    try {                                                                    \
      return runSync(a, START(a));                                           \
    } catch (...) {                                                          \
      return a.fail();                                                       \
    }                                                                        \
  }                                                                          \
  napi_value NAME##Async(napi_env env, napi_callback_info info) {            \
    Args a(env, info, "distributed." #NAME, {__VA_ARGS__});                   \
    try {                                                                    \
      return runAsync(a, START(a));                                          \
    } catch (...) {                                                          \
      return a.fail();                                                       \
    }                                                                        \
  }

PRIOR_COLLECTIVE(allReduce, allReduceStart, "tensor", "op")
PRIOR_COLLECTIVE(allGather, allGatherStart, "tensor")
PRIOR_COLLECTIVE(broadcast, broadcastStart, "tensor", "src")
PRIOR_COLLECTIVE(barrier, barrierStart)
#undef PRIOR_COLLECTIVE

const OpEntry kEntries[] = {
    {"distInit", init},
    {"distDestroy", destroy},
    {"distInfo", groupInfo},
    {"distAllReduce", allReduce},
    {"distAllReduceAsync", allReduceAsync},
    {"distAllGather", allGather},
    {"distAllGatherAsync", allGatherAsync},
    {"distBroadcast", broadcast},
    {"distBroadcastAsync", broadcastAsync},
    {"distBarrier", barrier},
    {"distBarrierAsync", barrierAsync},
};

}  // namespace

void registerDistributed(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
