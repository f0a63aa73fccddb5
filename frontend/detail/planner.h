// Internal to the frontend: the planner that MakePlan runs (plan.h says what it does). Its
// instruction walk is plan.cc; how stages are resolved, ordered, pruned and linked is
// plan_stages.cc.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "frontend/plan.h"
#include "frontend/shell/lexer.h"

namespace imgbuild::frontend::detail {

// The state a stage's instructions see and change.
struct StageState {
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<std::pair<std::string, std::optional<std::string>>> args;  // declared in this stage
  std::string workdir = "/";
  std::string user;
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  std::map<std::string, size_t> env_index;  // name -> position in env
  std::map<std::string, size_t> arg_use;    // ARG name -> its declaration's entry in Plan::args
  bool env_known = true;                    // false: an image base whose ENV the plan cannot see
  bool cmd_set = false;                     // a CMD earlier in this stage (ENTRYPOINT keeps it)
  EnvList env_list, arg_list;               // snapshots, rebuilt after ENV or ARG changes them

  void SetEnv(const std::string& name, const std::string& value) {
    auto [it, added] = env_index.emplace(name, env.size());
    if (added) {
      env.emplace_back(name, value);
    } else {
      env[it->second].second = value;
    }
    env_list.reset();
    arg_list.reset();
  }
  const std::string* FindEnv(std::string_view name) const {
    auto it = env_index.find(std::string(name));
    return it == env_index.end() ? nullptr : &env[it->second].second;
  }
  void Invalidate() {
    env_list.reset();
    arg_list.reset();
  }
};

class Planner {
 public:
  Planner(Program program, const PlanOptions& options)
      : options_(options),
        target_platform_(options.target_platform.value_or(options.build_platform)) {
    plan_.program = std::move(program);
  }

  Plan Run();

 private:
  [[noreturn]] void Fail(Location loc, const std::string& message);

  std::string SourceLine(int line) const;

  void PlatformArgs();

  std::string Expand(const std::string& word, const shell::Lookup& lookup, Location loc,
                     std::set<std::string>* read = nullptr);

  shell::Lookup GlobalLookup();

  void MetaArgs();

  std::optional<int> FindStage(const std::string& name, int before) const;

  void ResolveBase(const Stage& s);

  int ResolveTarget();

  // Stages ordered so that every stage comes after the stage it is built FROM.
  std::vector<int> BaseOrder();

  [[noreturn]] void CycleError(const std::vector<int>& path);

  // Records a declaration; returns its index in plan_.args.
  size_t AddArgUse(ArgUse use);

  // Marks `line` as a use of the declaration of `name` in `scope` (name -> index in plan_.args).
  void UseArg(const std::map<std::string, size_t>& scope, const std::string& name, int line);

  void WalkStage(int index);

  // Starts the stage from the image's configuration and puts its ONBUILD triggers first.
  void BaseImage(int index, StageState& st, PlannedStage& ps);
  void InsertTriggers(int index, PlannedStage& ps, const std::vector<std::string>& on_build, const std::string& origin);

  shell::Lookup StageLookup(const StageState& st, std::set<std::string>* arg_reads);

  void WalkInstruction(const Stage& stage, int k, StageState& st, PlannedStage& ps);

  void Snapshot(StageState& st, Location where);
  size_t snapshot_entries_ = 0;  // every snapshot's entries, summed: bounded

  void AddSource(const std::string& from, const Stage& stage, const Instruction& instr,
                 PlannedStep& step, PlannedStage& ps, const char* what);

  void AddSecret(const MountSpec& spec, int line);

  void MarkNeeded();

  void CheckCycles();

  void Finish();

  const PlanOptions& options_;
  PlatformSpec target_platform_;
  Plan plan_;
  std::map<std::string, std::string> platform_args_;
  std::map<std::string, std::string> meta_values_;
  std::map<std::string, size_t> meta_use_;  // global ARG name -> its entry in plan_.args
  std::set<std::string> declared_meta_, declared_;
  std::vector<StageState> states_;
  std::vector<std::vector<PlannedStep>> stage_steps_;
  std::vector<std::optional<ParseError>> errors_;
};

}  // namespace imgbuild::frontend::detail
