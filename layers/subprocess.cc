#include "layers/subprocess.h"

#include <pthread.h>
#include <signal.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "layers/sys_error.h"

extern char** environ;

namespace imgbuild::layers {
namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw SysError("pipe", "");
  }
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  void Close(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

std::vector<std::string> MergedEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const std::string& x : extra) replaced = replaced || x.substr(0, x.find('=')) == name;
    if (!replaced) out.push_back(kv);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace

ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input,
                         const std::vector<std::string>& env) {
  Pipe in, out, err;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> envs = MergedEnv(env);
  std::vector<char*> envp;
  for (std::string& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw SysError("run", argv[0], rc);
  in.Close(0);
  out.Close(1);
  err.Close(1);
  // Feed the input and read both outputs at once, so neither side can fill a pipe and stall.
  size_t written = 0;
  if (input.empty()) in.Close(1);
  ProgramResult result;
  char buf[8192];
  while (out.fd[0] >= 0 || err.fd[0] >= 0) {
    pollfd fds[3];
    int n = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in.fd[1] >= 0) fds[idx_in = n++] = {in.fd[1], POLLOUT, 0};
    if (out.fd[0] >= 0) fds[idx_out = n++] = {out.fd[0], POLLIN, 0};
    if (err.fd[0] >= 0) fds[idx_err = n++] = {err.fd[0], POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (idx_in >= 0 && fds[idx_in].revents) {
      // A helper that exits without reading its input must not kill imgbuild with SIGPIPE: the
      // signal is blocked in this thread around the write and a pending one taken (EPIPE says it).
      sigset_t pipe_only, before;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipe_only, &before);
      ssize_t w = ::write(in.fd[1], input.data() + written, input.size() - written);
      // (a write cut short by the reader's exit returns what it wrote and still raises SIGPIPE)
      sigset_t pending;
      if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const struct timespec now = {0, 0};
        ::sigtimedwait(&pipe_only, nullptr, &now);
      }
      ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 || written == input.size()) in.Close(1);
    }
    for (auto [idx, pipe, text] : {std::tuple{idx_out, &out, &result.out}, std::tuple{idx_err, &err, &result.err}}) {
      if (idx < 0 || !fds[idx].revents) continue;
      ssize_t r = ::read(pipe->fd[0], buf, sizeof buf);
      if (r > 0) {
        text->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        pipe->Close(0);
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace imgbuild::layers
