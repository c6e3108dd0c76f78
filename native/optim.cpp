// Optimizer and mixed-precision natives that ops.def cannot express safely:
//  - fused Adam/AdamW/SGD steps: libtorch's CPU kernels index grads and states by the param's
//    element count without checking shapes, so the lists are validated here first;
//  - autocast scopes: the thread-local state torch.autocast's __enter__/__exit__ toggle.
#include "common.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/_fused_sgd.h>

namespace prior {
namespace {

// Every tensor of `list` must match its param in shape, dtype and device (as the kernels assume).
void checkLike(const char* what, const std::vector<at::Tensor>& list, const std::vector<at::Tensor>& params) {
  TORCH_CHECK(list.size() == params.size(), what, ": expected ", params.size(), " tensors (one per param), got ", list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const at::Tensor& t = list[i];
    const at::Tensor& p = params[i];
    TORCH_CHECK(t.sizes() == p.sizes() && t.scalar_type() == p.scalar_type() && t.device() == p.device(), what, "[", i,
                "] is ", describeTensor(t), " but its param is ", describeTensor(p));
  }
}

void checkSteps(const std::vector<at::Tensor>& steps, const std::vector<at::Tensor>& params) {
  TORCH_CHECK(steps.size() == params.size(), "state_steps: expected ", params.size(), " tensors, got ", steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    TORCH_CHECK(steps[i].numel() == 1 && steps[i].scalar_type() == at::kFloat && steps[i].device() == params[i].device(),
                "state_steps[", i, "] must be a one-element float32 tensor on the param's device, got ", describeTensor(steps[i]));
  }
}

// A null `grads` argument means the params' own .grad: read here, so that the step makes no JS
// handles for them (each handle would report its grad's bytes to V8 and provoke GCs).
std::vector<at::Tensor> gradsArg(const Args& a, size_t i, const std::vector<at::Tensor>& params) {
  if (a.has(i)) return a.tensorList(i);
  std::vector<at::Tensor> grads;
  for (size_t k = 0; k < params.size(); ++k) {
    TORCH_CHECK(params[k].grad().defined(), "params[", k, "] has no gradient");
    grads.push_back(params[k].grad());
  }
  return grads;
}

std::vector<double> hyper(const Args& a, size_t i, size_t n) {
  std::vector<double> h = a.floatList(i);
  TORCH_CHECK(h.size() == n, "expected ", n, " hyperparameters, got ", h.size());
  return h;
}

// fusedAdam(params, grads|null, expAvgs, expAvgSqs, maxExpAvgSqs, steps, [lr, beta1, beta2, weightDecay, eps],
//           amsgrad, decoupled): AdamW when `decoupled`, else Adam. Updates everything in place.
napi_value fusedAdam(napi_env env, napi_callback_info info) {
  Args a(env, info, "fusedAdam", {"params", "grads", "exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs", "state_steps", "hyper", "amsgrad", "decoupled"});
  try {
    auto params = a.tensorList(0);
    auto grads = gradsArg(a, 1, params);
    auto expAvgs = a.tensorList(2);
    auto expAvgSqs = a.tensorList(3);
    auto maxExpAvgSqs = a.tensorList(4);
    auto steps = a.tensorList(5);
    auto h = hyper(a, 6, 5);
    bool amsgrad = a.boolean(7);
    bool decoupled = a.boolean(8);
    checkLike("grads", grads, params);
    checkLike("exp_avgs", expAvgs, params);
    checkLike("exp_avg_sqs", expAvgSqs, params);
    if (amsgrad) checkLike("max_exp_avg_sqs", maxExpAvgSqs, params);
    else TORCH_CHECK(maxExpAvgSqs.empty(), "max_exp_avg_sqs must be empty without amsgrad");
    checkSteps(steps, params);
    // Explicit overload: the (double lr) one. grad_scale/found_inf stay unset (GradScaler unscales first).
    using Fn = void (*)(at::TensorList, at::TensorList, at::TensorList, at::TensorList, at::TensorList, at::TensorList, double, double,
                        double, double, double, bool, bool, const std::optional<at::Tensor>&, const std::optional<at::Tensor>&);
    Fn call = decoupled ? static_cast<Fn>(&at::_fused_adamw_) : static_cast<Fn>(&at::_fused_adam_);
    call(params, grads, expAvgs, expAvgSqs, maxExpAvgSqs, steps, h[0], h[1], h[2], h[3], h[4], amsgrad, false, std::nullopt, std::nullopt);
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// fusedSgd(params, grads|null, momentumBuffers, [weightDecay, momentum, lr, dampening], nesterov, isFirstStep).
napi_value fusedSgd(napi_env env, napi_callback_info info) {
  Args a(env, info, "fusedSgd", {"params", "grads", "momentum_buffers", "hyper", "nesterov", "is_first_step"});
  try {
    auto params = a.tensorList(0);
    auto grads = gradsArg(a, 1, params);
    auto bufs = a.tensorList(2);
    auto h = hyper(a, 3, 4);
    checkLike("grads", grads, params);
    if (h[1] != 0) checkLike("momentum_buffers", bufs, params);
    else TORCH_CHECK(bufs.empty(), "momentum_buffers must be empty without momentum");
    at::_fused_sgd_(params, grads, bufs, h[0], h[1], h[2], h[3], a.boolean(4), false, a.boolean(5));
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// hasGrad(params) -> boolean[]: which params have a gradient, without wrapping the gradients.
napi_value hasGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, "hasGrad", {"params"});
  try {
    auto params = a.tensorList(0);
    napi_value out, v;
    napi_create_array_with_length(env, params.size(), &out);
    for (size_t k = 0; k < params.size(); ++k) {
      napi_get_boolean(env, params[k].grad().defined(), &v);
      napi_set_element(env, out, static_cast<uint32_t>(k), v);
    }
    return out;
  } catch (...) {
    return a.fail();
  }
}

at::DeviceType autocastDevice(const Args& a, size_t i) {
  std::string s = a.string(i);
  if (s == "cpu") return at::kCPU;
  if (s == "cuda") return at::kCUDA;
  throw ArgError("autocast device type must be 'cpu' or 'cuda', got '" + s + "'");
}

// autocastEnter(deviceType, dtype, enabled, cacheEnabled) -> [prevEnabled, prevDtype, prevCacheEnabled],
// the state autocastExit restores (torch.autocast.__enter__).
napi_value autocastEnter(napi_env env, napi_callback_info info) {
  Args a(env, info, "autocastEnter", {"device_type", "dtype", "enabled", "cache_enabled"});
  try {
    at::DeviceType dev = autocastDevice(a, 0);
    at::ScalarType dtype = a.dtype(1);
    bool enabled = a.boolean(2);
    bool cache = a.boolean(3);
    bool prevEnabled = at::autocast::is_autocast_enabled(dev);
    at::ScalarType prevDtype = at::autocast::get_autocast_dtype(dev);
    bool prevCache = at::autocast::is_autocast_cache_enabled();
    at::autocast::set_autocast_enabled(dev, enabled);
    at::autocast::set_autocast_dtype(dev, dtype);
    at::autocast::increment_nesting();
    at::autocast::set_autocast_cache_enabled(cache);
    napi_value out, v;
    napi_create_array_with_length(env, 3, &out);
    napi_get_boolean(env, prevEnabled, &v);
    napi_set_element(env, out, 0, v);
    napi_create_string_utf8(env, dtypeName(prevDtype), NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, out, 1, v);
    napi_get_boolean(env, prevCache, &v);
    napi_set_element(env, out, 2, v);
    return out;
  } catch (...) {
    return a.fail();
  }
}

// autocastExit(deviceType, prevEnabled, prevDtype, prevCacheEnabled) (torch.autocast.__exit__):
// the outermost exit drops the cache of casted weights.
napi_value autocastExit(napi_env env, napi_callback_info info) {
  Args a(env, info, "autocastExit", {"device_type", "prev_enabled", "prev_dtype", "prev_cache_enabled"});
  try {
    at::DeviceType dev = autocastDevice(a, 0);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(dev, a.boolean(1));
    at::autocast::set_autocast_dtype(dev, a.dtype(2));
    at::autocast::set_autocast_cache_enabled(a.boolean(3));
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value isAutocastEnabled(napi_env env, napi_callback_info info) {
  Args a(env, info, "isAutocastEnabled", {"device_type"});
  try {
    return a.ret(at::autocast::is_autocast_enabled(autocastDevice(a, 0)));
  } catch (...) {
    return a.fail();
  }
}

const OpEntry kEntries[] = {
    {"fusedAdam", fusedAdam},         {"fusedSgd", fusedSgd},         {"autocastEnter", autocastEnter},
    {"autocastExit", autocastExit},   {"isAutocastEnabled", isAutocastEnabled}, {"hasGrad", hasGrad},
};

}  // namespace

void registerOptim(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
