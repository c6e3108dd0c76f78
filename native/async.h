// Ops on a worker thread (the `<op>Async` functions generated for ops.def's `async` flag) and
// the bookkeeping that keeps their inputs safe while they run.
#pragma once

#include "common.h"

#include <functional>

namespace prior {

// Starts `compute` on a libuv worker and returns a Promise of its tensor. `inputs` are "in
// flight" until it settles: dispose() and in-place ops on them (or on any view of their
// storage) throw. Grad mode is the caller's. The error format is the sync op's (`a.op`, args).
napi_value startAsync(const Args& a, std::vector<at::Tensor> inputs, std::function<at::Tensor()> compute);

// Throws when an async op in flight reads `t`'s storage (called before in-place ops).
void checkNotInFlight(const at::Tensor& t);
inline void checkNotInFlight(const std::vector<at::Tensor>& ts) {
  for (const auto& t : ts) checkNotInFlight(t);
}
// Whether this very tensor is an input of an async op in flight (dispose() refuses it).
bool tensorInFlight(const at::Tensor& t);

inline void addInputs(std::vector<at::Tensor>& out, const at::Tensor& t) { out.push_back(t); }
inline void addInputs(std::vector<at::Tensor>& out, const std::optional<at::Tensor>& t) {
  if (t) out.push_back(*t);
}
inline void addInputs(std::vector<at::Tensor>& out, const std::vector<at::Tensor>& ts) { out.insert(out.end(), ts.begin(), ts.end()); }

template <class... Ts>
std::vector<at::Tensor> inputsOf(const Ts&... ts) {
  std::vector<at::Tensor> out;
  (addInputs(out, ts), ...);
  return out;
}

}  // namespace prior
