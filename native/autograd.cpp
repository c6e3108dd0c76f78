// Autograd entry points: backward, grad, grad mode, tensor hooks and custom functions whose
// backward is written in TypeScript.
#include "common.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <thread>
#include <type_traits>

namespace prior {
namespace {

using torch::autograd::variable_list;


// A JS function kept alive from C++ (a hook or a custom backward). The reference is
// released with the owner; napi_delete_reference is GC-safe, so a finalizer may do it.
struct JsCallback {
  napi_env env;
  napi_ref ref = nullptr;
  std::thread::id thread = std::this_thread::get_id();
  JsCallback(napi_env e, napi_value fn) : env(e) { napi_create_reference(env, fn, 1, &ref); }
  ~JsCallback() {
    if (ref && std::this_thread::get_id() == thread) napi_delete_reference(env, ref);
  }
  JsCallback(const JsCallback&) = delete;
  JsCallback& operator=(const JsCallback&) = delete;

  // Calls the function with tensor handles; returns its result, throwing (with the JS
  // exception left pending) when it threw.
  napi_value call(const char* what, const variable_list& tensors) const {
    TORCH_CHECK(std::this_thread::get_id() == thread, what,
                ": a TypeScript callback cannot run on libtorch's autograd worker threads (a CUDA backward, or "
                "a backward nested in backward past libtorch's reentrant depth); only the JS thread can call back into JS");
    napi_value fn, global, result;
    napi_get_reference_value(env, ref, &fn);
    napi_get_global(env, &global);
    std::vector<napi_value> argv;
    for (const auto& t : tensors) {
      if (t.defined()) {
        argv.push_back(wrapTensor(env, t));
      } else {
        napi_value u;
        napi_get_null(env, &u);
        argv.push_back(u);
      }
    }
    if (napi_call_function(env, global, fn, argv.size(), argv.data(), &result) != napi_ok) {
      throw std::runtime_error(std::string(what) + ": the TypeScript callback threw");
    }
    return result;
  }
};

napi_value backward(napi_env env, napi_callback_info info) {
  Args a(env, info, "backward", {"self", "gradient", "retainGraph", "createGraph", "inputs"});
  try {
    at::Tensor self = a.tensor(0);
    TORCH_CHECK(self.requires_grad(), "the tensor does not require grad and has no grad_fn ", describeTensor(self),
                " (set requiresGrad on a leaf it depends on)");
    variable_list grads;
    if (a.has(1)) grads.push_back(a.tensor(1));
    else TORCH_CHECK(self.numel() == 1, "grad can be implicitly created only for scalar outputs; pass a gradient for ",
                     describeTensor(self));
    std::optional<bool> retain = a.has(2) ? std::optional<bool>(a.boolean(2)) : std::nullopt;
    bool create = a.has(3) && a.boolean(3);
    variable_list inputs = a.has(4) ? a.tensorList(4) : variable_list{};
    torch::autograd::backward({self}, grads, retain, create, inputs);
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// grad(outputs, inputs, gradOutputs?, retainGraph?, createGraph?, allowUnused?) -> (Tensor|null)[]
napi_value grad(napi_env env, napi_callback_info info) {
  Args a(env, info, "autograd.grad", {"outputs", "inputs", "gradOutputs", "retainGraph", "createGraph", "allowUnused"});
  try {
    variable_list outputs = a.tensorList(0);
    variable_list inputs = a.tensorList(1);
    variable_list gradOutputs;
    if (a.has(2)) {
      auto list = a.optTensorList(2);
      for (size_t i = 0; i < list.size(); ++i) {
        std::optional<at::Tensor> g = list.get(i);
        gradOutputs.push_back(g.has_value() ? *g : at::Tensor());
      }
    }
    std::optional<bool> retain = a.has(3) ? std::optional<bool>(a.boolean(3)) : std::nullopt;
    bool create = a.has(4) && a.boolean(4);
    bool allowUnused = a.has(5) && a.boolean(5);
    variable_list result = torch::autograd::grad(outputs, inputs, gradOutputs, retain, create, allowUnused);
    napi_value arr;
    napi_create_array_with_length(env, result.size(), &arr);
    for (size_t i = 0; i < result.size(); ++i) {
      napi_value v;
      if (result[i].defined()) v = wrapTensor(env, result[i]);
      else napi_get_null(env, &v);
      napi_set_element(env, arr, i, v);
    }
    return arr;
  } catch (...) {
    return a.fail();
  }
}

napi_value getGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, "grad", {"self"});
  try {
    const at::Tensor& g = a.tensor(0).grad();
    if (!g.defined()) {
      napi_value n;
      napi_get_null(env, &n);
      return n;
    }
    return wrapTensor(env, g, Ownership::Borrowed);  // the parameter owns its gradient
  } catch (...) {
    return a.fail();
  }
}

napi_value setGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, "grad", {"self", "grad"});
  try {
    at::Tensor self = a.tensor(0);
    if (a.has(1)) {
      at::Tensor g = a.tensor(1);
      // As PyTorch's `.grad =` setter: the engine would accumulate into a mismatched grad.
      TORCH_CHECK(g.sizes() == self.sizes() && g.scalar_type() == self.scalar_type() && g.device() == self.device(),
                  "assigned grad ", describeTensor(g), " must match the tensor ", describeTensor(self),
                  " in shape, dtype and device");
      self.mutable_grad() = g;
    } else {
      self.mutable_grad().reset();
    }
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

napi_value retainGrad(napi_env env, napi_callback_info info) {
  Args a(env, info, "retainGrad", {"self"});
  try {
    a.tensor(0).retain_grad();
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// autogradMeta(t) -> [requiresGrad, isLeaf, gradFnName|null]
napi_value autogradMeta(napi_env env, napi_callback_info info) {
  Args a(env, info, "autogradMeta", {"self"});
  try {
    at::Tensor t = a.tensor(0);
    napi_value arr, v;
    napi_create_array_with_length(env, 3, &arr);
    napi_get_boolean(env, t.requires_grad(), &v);
    napi_set_element(env, arr, 0, v);
    napi_get_boolean(env, t.is_leaf(), &v);
    napi_set_element(env, arr, 1, v);
    auto fn = t.grad_fn();
    if (fn) napi_create_string_utf8(env, fn->name().c_str(), NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    napi_set_element(env, arr, 2, v);
    return arr;
  } catch (...) {
    return a.fail();
  }
}

napi_value isGradEnabled(napi_env env, napi_callback_info info) {
  Args a(env, info, "isGradEnabled", {});
  return a.ret(c10::GradMode::is_enabled());
}

napi_value setGradEnabled(napi_env env, napi_callback_info info) {
  Args a(env, info, "setGradEnabled", {"enabled"});
  try {
    c10::GradMode::set_enabled(a.boolean(0));
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// registerHook(t, fn) -> hook id. fn(grad) may return a replacement gradient or nothing.
napi_value registerHook(napi_env env, napi_callback_info info) {
  Args a(env, info, "registerHook", {"self", "hook"});
  try {
    at::Tensor t = a.tensor(0);
    napi_valuetype type;
    napi_typeof(env, a.argv[1], &type);
    if (type != napi_function) throw ArgError("argument 'hook' must be a function");
    TORCH_CHECK(t.requires_grad(), "cannot register a hook on a tensor that does not require grad ", describeTensor(t));
    auto cb = std::make_shared<JsCallback>(env, a.argv[1]);
    unsigned id = t.register_hook([cb](const at::Tensor& g) -> at::Tensor {
      // A hook that removes itself destroys this closure while it runs (libtorch resets the
      // std::function): from here on, touch only this local reference, never the capture.
      std::shared_ptr<JsCallback> self = cb;
      napi_value r = self->call("tensor hook", {g});
      TensorCell* cell = cellOf(self->env, r);
      if (cell && !cell->disposed) return cell->tensor;
      napi_valuetype rt;
      napi_typeof(self->env, r, &rt);
      TORCH_CHECK(rt == napi_undefined || rt == napi_null, "tensor hook must return a Tensor or nothing");
      return at::Tensor();
    });
    return a.ret(static_cast<double>(id));
  } catch (...) {
    return a.fail();
  }
}

napi_value removeHook(napi_env env, napi_callback_info info) {
  Args a(env, info, "removeHook", {"self", "id"});
  try {
    a.tensor(0).remove_hook(static_cast<unsigned>(a.int64(1)));
    return a.undefined();
  } catch (...) {
    return a.fail();
  }
}

// The graph node of a custom function: its backward calls the TypeScript backward with
// the output gradients and expects one gradient (or null) per input.
struct JsFunctionNode final : torch::autograd::Node {
  std::shared_ptr<JsCallback> backwardFn;
  std::string label;
  size_t numInputs;
  JsFunctionNode(torch::autograd::edge_list&& next, std::shared_ptr<JsCallback> fn, std::string name, size_t n)
      : Node(std::move(next)), backwardFn(std::move(fn)), label(std::move(name)), numInputs(n) {}

  std::string name() const override { return label + "Backward"; }

  variable_list apply(variable_list&& grads) override {
    napi_env env = backwardFn->env;
    napi_value r = backwardFn->call(label.c_str(), grads);
    bool isArr = false;
    napi_is_array(env, r, &isArr);
    variable_list out(numInputs);
    // A lone Tensor or null stands for [gradient] when the function has one input.
    if (!isArr) {
      TORCH_CHECK(numInputs == 1, label, ": backward must return an array with one gradient (Tensor or null) per input (",
                  numInputs, "), got a single value");
      out[0] = gradientAt(env, r, 0);
      return out;
    }
    uint32_t n;
    napi_get_array_length(env, r, &n);
    TORCH_CHECK(n == numInputs, label, ": backward returned ", n, " gradients for ", numInputs, " inputs");
    for (uint32_t i = 0; i < n; ++i) {
      napi_value e;
      napi_get_element(env, r, i, &e);
      out[i] = gradientAt(env, e, i);
    }
    return out;
  }

  // One returned gradient: a live Tensor, or null/undefined for none (an undefined tensor).
  at::Tensor gradientAt(napi_env env, napi_value v, uint32_t i) const {
    TensorCell* cell = cellOf(env, v);
    if (cell && !cell->disposed) return cell->tensor;
    napi_valuetype type;
    napi_typeof(env, v, &type);
    TORCH_CHECK(type == napi_null || type == napi_undefined, label, ": backward result ", i, " must be a Tensor or null");
    return at::Tensor();
  }
};

// Graph nodes are held by std::shared_ptr before torch 2.10 and by c10::intrusive_ptr after.
using NodePtr = std::invoke_result_t<torch::autograd::function_constructor, torch::autograd::edge_list&&>;
template <class Ptr, class... A>
Ptr makeNode(A&&... args) {
  if constexpr (std::is_same_v<Ptr, std::shared_ptr<torch::autograd::Node>>) {
    return std::make_shared<JsFunctionNode>(std::forward<A>(args)...);
  } else {
    return c10::make_intrusive<JsFunctionNode>(std::forward<A>(args)...);
  }
}

// attachFunction(name, inputs, outputs, backward) -> outputs wired into the graph.
// The TS side ran the forward under noGrad; this records one node for all outputs.
napi_value attachFunction(napi_env env, napi_callback_info info) {
  Args a(env, info, "Function.apply", {"name", "inputs", "outputs", "backward"});
  try {
    std::string name = a.string(0);
    variable_list inputs = a.tensorList(1);
    variable_list outputs = a.tensorList(2);
    napi_valuetype type;
    napi_typeof(env, a.argv[3], &type);
    if (type != napi_function) throw ArgError("argument 'backward' must be a function");
    for (auto& o : outputs) {
      for (const auto& in : inputs) {
        // A forward that returns an input (or a view of one) must not rewrite that input's history.
        if (o.is_same(in) || o.is_view() || (o.has_storage() && in.has_storage() && o.is_alias_of(in))) {
          o = o.clone();
          break;
        }
      }
    }
    auto cb = std::make_shared<JsCallback>(env, a.argv[3]);
    size_t n = inputs.size();
    // wrap_outputs ignores grad mode: under noGrad, record nothing (outputs do not require grad).
    if (!c10::GradMode::is_enabled()) inputs.clear();
    variable_list wired = torch::autograd::wrap_outputs(inputs, std::move(outputs), [&](torch::autograd::edge_list&& next) {
      return makeNode<NodePtr>(std::move(next), cb, name, n);
    });
    return a.ret(std::vector<at::Tensor>(wired.begin(), wired.end()));
  } catch (...) {
    return a.fail();
  }
}

const OpEntry kEntries[] = {
    {"backward", backward},         {"autogradGrad", grad},           {"getGrad", getGrad},
    {"setGrad", setGrad},           {"retainGrad", retainGrad},       {"autogradMeta", autogradMeta},
    {"isGradEnabled", isGradEnabled}, {"setGradEnabled", setGradEnabled}, {"registerHook", registerHook},
    {"removeHook", removeHook},     {"attachFunction", attachFunction},
};

}  // namespace

void registerAutograd(napi_env env, napi_value exports) { defineAll(env, exports, kEntries, std::size(kEntries)); }

}  // namespace prior
