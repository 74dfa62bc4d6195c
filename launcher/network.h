// network.mode filtered, the launcher's side: once the sandbox's pid 1 has its network
// namespace (loopback up), the launcher starts pasta (connectivity, from Debian's passt) and
// our sandbox-net helper (netpolicy/: the nftables egress filter and the resolver, loaded in
// the sandbox's namespaces, which the app cannot change), and only then lets pid 1 go on.
// While the sandbox runs it collects sandbox-net's denial lines (--net-log, `sandbox ps`).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "launcher/spec.h"
#include "launcher/sys.h"

namespace sandbox::launcher {

// pasta's command line for the sandbox whose pid 1 is `pid`: configure the namespace like
// the host's interface, no port forwarding either way except network.publish (host's
// 127.0.0.1 only) and `localhost:PORT` rules (the sandbox's loopback to the host's), and no
// mapping of the gateway address to the host's loopback. Pure.
std::vector<std::string> pasta_argv(const SandboxSpec& spec, pid_t pid, const std::string& pid_file);

class FilteredNetwork {
 public:
  FilteredNetwork() = default;
  FilteredNetwork(const FilteredNetwork&) = delete;
  FilteredNetwork& operator=(const FilteredNetwork&) = delete;
  ~FilteredNetwork();  // stops sandbox-net and pasta, waits for both

  // Starts pasta, then sandbox-net, and waits until the filter is loaded. `record_dir` is the
  // instance record's directory: the denials are also kept there (net.log) for `sandbox ps`.
  // Throws SetupError.
  void start(const SandboxSpec& spec, pid_t pid, const std::string& record_dir);

  // The fd to poll for denial lines (-1 when not started).
  int log_fd() const { return log_.get(); }
  // Reads what is there; returns false at EOF (sandbox-net has ended).
  bool drain();
  unsigned long denials() const { return denials_; }

  void stop();

 private:
  void write_line(const std::string& line);

  pid_t pasta_ = 0;
  pid_t helper_ = 0;
  Fd helper_stdin_;  // closing it tells sandbox-net to exit
  Fd log_;
  Fd log_file_;      // --net-log FILE
  Fd record_log_;    // <record dir>/net.log
  std::string partial_;
  unsigned long denials_ = 0;
};

}  // namespace sandbox::launcher
