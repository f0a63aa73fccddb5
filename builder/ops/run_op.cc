#include "builder/ops/run_op.h"

#include "builder/sandbox/emulation.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "builder/ops/metadata_op.h"
#include "builder/rootfs/file_owner.h"
#include "builder/sandbox/run_command.h"
#include "frontend/diagnostics.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

namespace fs = std::filesystem;
using frontend::PlannedStep;

namespace {

// The logs of the last kKeptLogs builds are kept.
constexpr size_t kKeptLogs = 50;
void PruneLogs(const std::string& dir) {
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> builds;
  for (const auto& e : fs::directory_iterator(dir, ec)) builds.emplace_back(e.last_write_time(ec), e.path());
  if (builds.size() < kKeptLogs) return;
  std::sort(builds.begin(), builds.end());
  for (size_t i = 0; i + kKeptLogs <= builds.size(); ++i) fs::remove_all(builds[i].second, ec);
}


std::string MountText(const frontend::MountSpec& m) {
  std::string t = "type=" + std::string(frontend::MountTypeName(m.type)) + ",target=" + m.target;
  if (!m.source.empty()) t += ",source=" + m.source;
  if (!m.from.empty()) t += ",from=" + m.from;
  if (!m.id.empty()) t += ",id=" + m.id;
  if (m.env) t += ",env=" + *m.env;
  t += m.read_only ? ",ro" : ",rw";
  if (m.type == frontend::MountType::kCache) t += ",sharing=" + std::string(frontend::CacheSharingName(m.sharing));
  if (m.required) t += ",required";
  if (m.mode) t += ",mode=" + std::to_string(*m.mode);
  if (m.uid) t += ",uid=" + std::to_string(*m.uid);
  if (m.gid) t += ",gid=" + std::to_string(*m.gid);
  if (m.size) t += ",size=" + std::to_string(*m.size);
  return t;
}



}  // namespace

KeyFields RunKeyFields(const PlannedStep& step, const frontend::RunStep& run, const StepKeyInputs& in) {
  KeyFields f;
  RunCommand cmd = MakeRunCommand(run, step.shell);
  f.emplace_back("command", KeyJson(cmd.argv));
  for (const auto& [name, content] : cmd.scripts) f.emplace_back("script " + name, content);
  std::vector<std::string> args;
  if (step.build_args) {
    for (const std::string& a : *step.build_args) {
      if (!frontend::IsProxyArg(KeyName(a))) args.push_back(a);
    }
  }
  for (const std::string& e : MakeRunEnv(in.config->config.env, args, {}, "")) {
    if (KeyName(e) != "HOME" || !KeyValue(e).empty()) f.emplace_back("env " + KeyName(e), KeyValue(e));
  }
  f.emplace_back("user", in.config->config.user);
  f.emplace_back("workdir", step.workdir);
  f.emplace_back("network", in.network);
  f.emplace_back("security", run.insecure ? "insecure" : "sandbox");
  if (!in.sandbox_options.empty()) f.emplace_back("sandbox options", in.sandbox_options);
  for (size_t i = 0; i < run.mounts.size(); ++i) {
    const frontend::MountSpec& m = run.mounts[i];
    std::string text = MountText(m);
    if (!m.from.empty()) text += " from " + FromKeyText(in, m.from);
    if (auto it = in.mount_inputs.find(i); it != in.mount_inputs.end()) text += " content " + it->second.digest.str();
    f.emplace_back("mount " + std::to_string(i + 1), text);
  }
  return f;
}

// "|2 A=1 B=2 " as BuildKit's history shows the ARGs a RUN sees (proxy ARGs left out).
std::string RunArgsPrefix(const PlannedStep& step) {
  std::vector<std::string> args;
  if (step.build_args) {
    for (const std::string& kv : *step.build_args) {
      if (!frontend::IsProxyArg(kv.substr(0, kv.find('=')))) args.push_back(kv);
    }
  }
  if (args.empty()) return "";
  return "|" + std::to_string(args.size()) + " " + Join(args) + " ";
}

std::string RunOp::LogPath(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  if (log_dir_.empty()) {
    PruneLogs(env_.state.logs());
    log_dir_ = env_.state.logs() + "/" + env_.ws.name();
    layers::MakeDirs(log_dir_);
  }
  return log_dir_ + "/step-" + std::to_string(n) + ".log";
}

const SandboxEtc& RunOp::Etc() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!etc_) etc_ = WriteSandboxEtc(env_.ws.dir() + "/etc", "buildkitsandbox", env_.req.sandbox.extra_hosts);
  return *etc_;
}

// The network a RUN gets: its own --network, else the build's.
std::string EffectiveNetwork(const BuildRequest& req, const frontend::RunStep& run) {
  return run.network == frontend::NetworkMode::kDefault ? req.network : frontend::NetworkModeName(run.network);
}

void RunOp::CheckEntitlements(const PlannedStep& step, const frontend::RunStep& run) const {
  if (run.insecure && !env_.req.allow_insecure) {
    env_.Fail(step, "RUN --security=insecure needs the build to be started with --allow security.insecure");
  }
  // As BuildKit: a Buildfile alone cannot put a step on the host's network (it could reach the
  // host's loopback services, or any network under `build --network=none`).
  if (run.network == frontend::NetworkMode::kHost && !env_.req.allow_network_host && env_.req.network != "host") {
    env_.Fail(step, "RUN --network=host needs the build to be started with --allow network.host");
  }
  if (run.network == frontend::NetworkMode::kHost && env_.req.network == "none") {
    env_.Fail(step, "RUN --network=host is not allowed in a build started with --network=none");
  }
}

std::string RunOp::Exec(const PlannedStep& step, const frontend::RunStep& run, StageImage& img, int n) {
  std::string network = EffectiveNetwork(env_.req, run);
  bool privileged = run.insecure;
  CheckEntitlements(step, run);
  std::vector<std::string> argv = MakeRunCommand(run, step.shell).argv;
  std::string created_by = "RUN " + RunArgsPrefix(step) + ShowCommand(argv) + " # buildkit";
  std::string log = LogPath(n);
  std::string detail;
  LayerStep(env_, img, created_by, [&](const std::string& root) {
    Sources::Keep keep;
    RunStepInput in;
    in.step = &step;
    in.run = &run;
    in.config = &img.config;
    in.rootfs = root;
    in.mounts.cache_dir = env_.state.cache_mounts();
    in.mounts.scratch = env_.ws.dir();
    in.mounts.secrets = &env_.req.secrets;
    in.mounts.ssh = &env_.req.ssh;
    in.mounts.source_root = [&](const std::string& from) {
      return from.empty() ? sources_.FilteredContext() : sources_.Root(from, step.stage, keep);
    };
    in.network = network == "none" ? SandboxNetwork::kNone
                 : network == "host" ? SandboxNetwork::kHost
                                     : SandboxNetwork::kPrivate;
    in.privileged = privileged;
    in.options = &env_.req.sandbox;
    const SandboxEtc& etc = Etc();
    in.hosts_file = etc.hosts;
    in.resolv_file = etc.resolv;
    if (in.network == SandboxNetwork::kPrivate) {
      in.resolv_file = etc.resolv_private;
      in.forward_dns = etc.forward_dns;
    }
    in.hostname_file = etc.hostname;
    in.log_path = log;
    in.on_output = [&](std::string_view d) { env_.Report([&](Status& s) { s.StepOutput(n, d); }); };
    in.cancelled = [this] { return env_.Cancelled(); };
    RunStepResult result;
    try {
      result = executor_.Run(in);
    } catch (const RunMountError& e) {
      env_.Fail(step, e.what());
    } catch (const OwnerError& e) {
      env_.Fail(step, e.what());
    } catch (const layers::SysError& e) {
      env_.Fail(step, e.what());
    } catch (const EmulationError& e) {
      env_.Fail(step, e.what());
    }
    if (result.status.cancelled) throw BuildError(env_.Interrupted() ? "interrupted" : "cancelled: another stage failed");
    if (result.status.exit_code != 0) FailRun(step, result, log);
    detail = "exit code 0";
  });
  return detail;
}

// A failed RUN: the exit code, the step's Buildfile lines and the tail of its output.
void RunOp::FailRun(const PlannedStep& step, const RunStepResult& r, const std::string& log) {
  std::string how = r.status.signal ? "killed by signal " + std::to_string(r.status.signal)
                                    : "exit code: " + std::to_string(r.status.exit_code);
  std::string message = "process \"" + ShowCommand(r.argv) + "\" did not complete successfully: " + how;
  int first = step.location.line;
  std::string msg = frontend::FormatSourceLines(env_.req.buildfile_text, first, std::max(first, env_.Instr(step).end_line));
  if (!r.tail.empty()) {
    msg += "output (last lines):\n";
    size_t p = 0;
    while (p < r.tail.size()) {
      size_t nl = r.tail.find('\n', p);
      if (nl == std::string::npos) nl = r.tail.size();
      msg += "  " + r.tail.substr(p, nl - p) + "\n";
      p = nl + 1;
    }
  }
  msg += "full log: " + log;
  throw StepError(env_.plan.program.file, step.location.line, "RUN", message, msg);
}

}  // namespace imgbuild::builder
