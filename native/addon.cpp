// Module entry: registers every binding table on the exports object.
#include "common.h"

namespace prior {
void registerData(napi_env env, napi_value exports);
void registerRuntime(napi_env env, napi_value exports);
void registerAutograd(napi_env env, napi_value exports);
void registerGeneratedOps(napi_env env, napi_value exports);
void registerProfiler(napi_env env, napi_value exports);
void registerAsync(napi_env env, napi_value exports);
void registerIo(napi_env env, napi_value exports);
void registerOptim(napi_env env, napi_value exports);
void registerDistributed(napi_env env, napi_value exports);
}  // namespace prior

NAPI_MODULE_INIT() {
  prior::registerRuntime(env, exports);
  prior::registerData(env, exports);
  prior::registerAutograd(env, exports);
  prior::registerGeneratedOps(env, exports);
  prior::registerProfiler(env, exports);
  prior::registerAsync(env, exports);
  prior::registerIo(env, exports);
  prior::registerOptim(env, exports);
  prior::registerDistributed(env, exports);
  return exports;
}
