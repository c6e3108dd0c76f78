// The gloo names that ProcessGroupGloo.hpp's declarations and inline bodies mention, declared
// and never defined here (see README.md). Nothing in the addon may call into them: the inline
// bodies that would (ProcessGroupGloo::setTimeout, GlooStore's overrides) are virtual, their
// vtables live in libtorch_cpu, and the addon never constructs a GlooStore.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace gloo {

class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);  // named by ProcessGroupGloo::setTimeout

 private:
  Context() = delete;
};

namespace rendezvous {
// The base of ProcessGroupGloo::GlooStore: its overrides need these virtuals declared.
class Store {
 public:
  virtual ~Store();
  virtual void set(const std::string& key, const std::vector<char>& data) = 0;
  virtual std::vector<char> get(const std::string& key) = 0;
  virtual void wait(const std::vector<std::string>& keys) = 0;
  virtual void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) = 0;
};
}  // namespace rendezvous

namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport

}  // namespace gloo
