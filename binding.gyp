# The alternate build: the same sources as CMakeLists.txt, by node-gyp (`npm run build:gyp`,
# which generates native/generated/ first). libtorch comes from scripts/libtorch.mjs, as in the
# CMake build. Linux only, like the libtorch wheels it links.
{
  "variables": {
    "torch_lib": "<!(node scripts/libtorch.mjs --field lib)",
    "torch_cxx11_abi": "<!(node scripts/libtorch.mjs --field cxx11Abi)",
    "torch_cuda": "<!(node scripts/libtorch.mjs --field cuda)",
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
        "<!@(ls -1 native/generated/*.cpp)",
      ],
      # The space-separated field splits into one include dir per word.
      "include_dirs": ["<!@(node scripts/libtorch.mjs --field include)"],
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
      ],
    }
  ],
}
