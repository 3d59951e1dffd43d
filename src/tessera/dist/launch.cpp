// Spawning and watching the local processes of a job (see launch.h).
#include "tessera/dist/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <map>
#include <thread>

#include "tessera/core/error.h"

extern char** environ;

namespace tessera::dist {
namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_received_signal = 0;
extern "C" void record_signal(int signal) { g_received_signal = signal; }

int status_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
}

// argv / envp as execve wants them, built before fork (the child may only make
// async-signal-safe calls until it execs).
struct ExecArgs {
  std::vector<std::string> storage;
  std::vector<char*> argv, envp;
};

ExecArgs exec_args(const std::string& program, const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  ExecArgs e;
  e.storage.push_back(program);
  e.storage.insert(e.storage.end(), args.begin(), args.end());
  const size_t num_args = e.storage.size();
  for (const auto& [k, v] : env) e.storage.push_back(k + "=" + v);
  for (size_t i = 0; i < e.storage.size(); ++i) (i < num_args ? e.argv : e.envp).push_back(e.storage[i].data());
  e.argv.push_back(nullptr);
  e.envp.push_back(nullptr);
  return e;
}

struct Child {
  int64_t rank = 0;
  pid_t pid = -1;
  bool running = true;
  bool stopped_by_us = false;  // terminated after another rank failed
};

void check_options(const LaunchOptions& o) {
  if (o.nproc < 1) throw Error("--nproc", "must be at least 1, got " + std::to_string(o.nproc));
  if (o.nnodes < 1) throw Error("--nnodes", "must be at least 1, got " + std::to_string(o.nnodes));
  if (o.node_rank < 0 || o.node_rank >= o.nnodes) {
    throw Error("--node-rank", "must be in [0, " + std::to_string(o.nnodes) + "), got " + std::to_string(o.node_rank));
  }
  if (o.master_port < 0 || o.master_port > 65535) {
    throw Error("--master-port", "must be in [1, 65535] (or 0: a free port), got " + std::to_string(o.master_port));
  }
  if (o.nnodes > 1 && o.master_port == 0) {
    throw Error("--master-port", "must be given when the job spans several machines (--nnodes " +
                                     std::to_string(o.nnodes) + "): every machine needs the same one");
  }
}

}  // namespace

std::string LaunchResult::summary() const {
  std::string s;
  for (const auto& f : failures) s += (s.empty() ? "" : "; ") + ("rank " + std::to_string(f.rank) + " " + f.description);
  return s;
}

int64_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("launch", std::string("socket(): ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    throw Error("launch", "could not find a free TCP port: " + reason);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

LaunchResult launch(const std::string& program, const std::vector<std::string>& args, const LaunchOptions& options) {
  check_options(options);
  LaunchResult result;
  result.master_port = options.master_port != 0 ? options.master_port : free_port();
  const int64_t world = options.nnodes * options.nproc;

  std::map<std::string, std::string> base_env;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos) base_env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : options.extra_env) base_env[k] = v;

  std::vector<ExecArgs> execs;
  std::vector<int> log_fds;
  for (int64_t local = 0; local < options.nproc; ++local) {
    const int64_t rank = options.node_rank * options.nproc + local;
    auto env = base_env;
    env["RANK"] = std::to_string(rank);
    env["LOCAL_RANK"] = std::to_string(local);
    env["WORLD_SIZE"] = std::to_string(world);
    env["LOCAL_WORLD_SIZE"] = std::to_string(options.nproc);
    env["MASTER_ADDR"] = options.master_addr;
    env["MASTER_PORT"] = std::to_string(result.master_port);
    execs.push_back(exec_args(program, args, env));
    int fd = -1;
    if (options.log_dir) {
      std::filesystem::create_directories(*options.log_dir);
      const auto path = *options.log_dir / ("rank" + std::to_string(rank) + ".log");
      fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) throw Error(path.string(), std::string("cannot write the rank's log: ") + std::strerror(errno));
    }
    log_fds.push_back(fd);
  }

  // Signals are recorded and passed on by the loop below; the children run in their
  // own process groups, so a Ctrl-C at the terminal reaches them once, through us.
  struct sigaction on_signal{}, old_int{}, old_term{};
  on_signal.sa_handler = record_signal;
  sigemptyset(&on_signal.sa_mask);
  g_received_signal = 0;
  sigaction(SIGINT, &on_signal, &old_int);
  sigaction(SIGTERM, &on_signal, &old_term);

  const pid_t launcher = ::getpid();
  std::vector<Child> children;
  for (int64_t local = 0; local < options.nproc; ++local) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher died: do not train on alone
      if (::getppid() != launcher) ::_exit(128 + SIGTERM);
      if (log_fds[local] >= 0) {
        ::dup2(log_fds[local], STDOUT_FILENO);
        ::dup2(log_fds[local], STDERR_FILENO);
      }
      ::execve(program.c_str(), execs[local].argv.data(), execs[local].envp.data());
      const char message[] = "tessera launch: could not start the program (execve failed)\n";
      [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, message, sizeof(message) - 1);
      ::_exit(127);
    }
    if (pid < 0) {
      const std::string reason = std::strerror(errno);
      for (auto& c : children) ::kill(c.pid, SIGKILL);
      for (auto& c : children) ::waitpid(c.pid, nullptr, 0);
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      throw Error("launch", "could not start rank " + std::to_string(options.node_rank * options.nproc + local) +
                                ": fork(): " + reason);
    }
    children.push_back({options.node_rank * options.nproc + local, pid});
  }
  for (int fd : log_fds) {
    if (fd >= 0) ::close(fd);
  }

  std::optional<Clock::time_point> failed_at, terminated_at;
  bool killed = false;
  while (true) {
    bool any_running = false;
    for (auto& c : children) {
      if (!c.running) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.running = false;
        const int code = status_code(status);
        const bool expected = code == 0 || c.stopped_by_us ||
                              (result.forwarded_signal != 0 && code == 128 + result.forwarded_signal);
        if (!expected) {
          result.failures.push_back({c.rank, code, describe(status)});
          spdlog::error("tessera launch: rank {} (pid {}) {}", c.rank, c.pid, describe(status));
          if (!failed_at) failed_at = Clock::now();
        }
      }
      any_running = any_running || c.running;
    }
    if (!any_running) break;

    if (const int signal = g_received_signal) {
      g_received_signal = 0;
      result.forwarded_signal = signal;
      for (auto& c : children) {
        if (c.running) ::kill(c.pid, signal);
      }
    }
    const auto now = Clock::now();
    if (failed_at && !terminated_at && now - *failed_at >= options.grace) {
      spdlog::error("tessera launch: stopping the ranks still running (SIGTERM)");
      for (auto& c : children) {
        if (c.running) {
          c.stopped_by_us = true;
          ::kill(c.pid, SIGTERM);
        }
      }
      terminated_at = now;
    }
    if (terminated_at && !killed && now - *terminated_at >= options.grace) {
      for (auto& c : children) {
        if (c.running) ::kill(c.pid, SIGKILL);
      }
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);

  if (!result.failures.empty()) {
    result.exit_code = result.failures.front().status;
  } else if (result.forwarded_signal != 0) {
    result.exit_code = 128 + result.forwarded_signal;
  }
  return result;
}

}  // namespace tessera::dist
