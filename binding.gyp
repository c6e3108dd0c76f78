# The alternate build: the same sources as CMakeLists.txt, by node-gyp (`npm run build:gyp`,
# which generates native/generated/ first). libtorch comes from scripts/libtorch.mjs, as in the
# CMake build. Linux only, like the libtorch wheels it links.
{
  "variables": {
    "torch_lib": "<!(node scripts/libtorch.mjs --field lib)",
    "torch_cxx11_abi": "<!(node scripts/libtorch.mjs --field cxx11Abi)",
    "torch_cuda": "<!(node scripts/libtorch.mjs --field cuda)",
    "torch_nccl_include": "<!(node scripts/libtorch.mjs --field ncclInclude)",
  },
  "targets": [
    {
      "target_name": "prior_native",
      "sources": [
        "native/addon.cpp",
        "native/handle.cpp",
        "native/data.cpp",
        "native/runtime.cpp",
        "native/autograd.cpp",
        "native/profiler.cpp",
        "native/async.cpp",
        "native/io.cpp",
        "native/optim.cpp",
        "native/distributed.cpp",
        "<!@(ls -1 native/generated/*.cpp)",
      ],
      # The space-separated field splits into one include dir per word.
      # native/gloo_decls after libtorch's folders: it stands in for gloo's headers where the wheel
      # lacks them (see its README); only native/distributed.cpp includes them.
      "include_dirs": ["<!@(node scripts/libtorch.mjs --field include)", "native/gloo_decls"],
      # Basic (GC-time) finalizers need the experimental Node-API version: both macros are required.
      "defines": ["NAPI_EXPERIMENTAL", "NAPI_VERSION=2147483647", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      # node's common.gypi turns off exceptions and RTTI; libtorch needs both, and the binding
      # turns C++ exceptions into JS errors.
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-Wall", "-Wno-unused-parameter", "-Wno-unused-variable", "-fvisibility=hidden"],
      "libraries": [
        "-L<(torch_lib)",
        # libtorch's folder is baked in: nothing needs LD_LIBRARY_PATH.
        "-Wl,-rpath,<(torch_lib)",
        "-ltorch",
        "-ltorch_cpu",
        "-lc10",
      ],
      "conditions": [
        ["torch_cxx11_abi=='true'", {"defines": ["_GLIBCXX_USE_CXX11_ABI=1"]}, {"defines": ["_GLIBCXX_USE_CXX11_ABI=0"]}],
        # Linked unconditionally so that the CUDA hooks register when the addon loads.
        ["torch_cuda=='true'", {"libraries": ["-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda", "-Wl,--as-needed"]}],
        # c10d's NCCL backend (native/c10d_compat.h) where libtorch.mjs found its headers.
        ["torch_nccl_include!=''", {"include_dirs": ["<!@(node scripts/libtorch.mjs --field ncclInclude)"], "defines": ["PRIOR_WITH_NCCL=1"]}],
      ],
    }
  ],
}
