// What a RUN executes: argv for the exec and shell forms and for heredocs, and its environment.
#include "builder/sandbox/run_command.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

using V = std::vector<std::string>;
const V kSh = {"/bin/sh", "-c"};

frontend::RunStep Shell(const std::string& line, std::vector<frontend::ast::Heredoc> docs = {}) {
  frontend::RunStep r;
  r.cmd = {line};
  r.heredocs = std::move(docs);
  return r;
}

frontend::ast::Heredoc Doc(const std::string& name, const std::string& content) {
  frontend::ast::Heredoc d;
  d.name = name;
  d.content = content;
  return d;
}

TEST(RunCommandTest, ExecAndShellForms) {
  frontend::RunStep exec;
  exec.exec_form = true;
  exec.cmd = {"echo", "$HOME"};
  EXPECT_EQ(MakeRunCommand(exec, kSh).argv, (V{"echo", "$HOME"}));
  EXPECT_EQ(MakeRunCommand(Shell("make all"), kSh).argv, (V{"/bin/sh", "-c", "make all"}));
  EXPECT_EQ(MakeRunCommand(Shell("dir"), {"cmd", "/S", "/C"}).argv, (V{"cmd", "/S", "/C", "dir"}));
}

TEST(RunCommandTest, LoneHeredocIsTheScript) {
  RunCommand c = MakeRunCommand(Shell("<<EOF", {Doc("EOF", "echo a\necho b\n")}), kSh);
  EXPECT_EQ(c.argv, (V{"/bin/sh", "-c", "echo a\necho b\n"}));
  EXPECT_TRUE(c.scripts.empty());
  for (const char* marker : {"<<-EOF", "<<\"EOF\"", "<<'EOF'", "  <<EOF  "}) {
    EXPECT_EQ(MakeRunCommand(Shell(marker, {Doc("EOF", "x\n")}), kSh).argv, (V{"/bin/sh", "-c", "x\n"})) << marker;
  }
  c = MakeRunCommand(Shell("<<EOF", {Doc("EOF", "#!/usr/bin/env python3\nprint(1)\n")}), kSh);
  EXPECT_EQ(c.argv, (V{"/dev/pipes/EOF"}));
  ASSERT_EQ(c.scripts.size(), 1u);
  EXPECT_EQ(c.scripts[0].second, "#!/usr/bin/env python3\nprint(1)\n");
}

TEST(RunCommandTest, HeredocsWithACommandGoToTheShell) {
  RunCommand c = MakeRunCommand(Shell("cat <<A > /a && cat <<B", {Doc("A", "one\n"), Doc("B", "two")}), kSh);
  EXPECT_EQ(c.argv, (V{"/bin/sh", "-c", "cat <<A > /a && cat <<B\none\nA\ntwo\nB"}));
  // A marker that names another heredoc is not "the script".
  c = MakeRunCommand(Shell("<<EOFX", {Doc("EOF", "x\n")}), kSh);
  EXPECT_EQ(c.argv, (V{"/bin/sh", "-c", "<<EOFX\nx\nEOF"}));
}

TEST(RunCommandTest, Environment) {
  // ENV wins over ARG; extra (secrets) wins over both; PATH and HOME only when unset.
  V env = MakeRunEnv({"A=env", "PATH=/bin"}, {"A=arg", "B=arg"}, {"B=secret", "C=secret"}, "/home/app");
  EXPECT_EQ(env, (V{"A=env", "PATH=/bin", "B=secret", "C=secret", "HOME=/home/app"}));
  env = MakeRunEnv({"HOME=/root2"}, {}, {}, "/root");
  EXPECT_EQ(env, (V{"HOME=/root2", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
}

TEST(RunCommandTest, ShowCommand) { EXPECT_EQ(ShowCommand({"/bin/sh", "-c", "a b"}), "/bin/sh -c a b"); }

}  // namespace
}  // namespace imgbuild::builder
