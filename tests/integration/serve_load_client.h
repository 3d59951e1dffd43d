// Driving `tessera serve` from tests: start it as a child process (port 0, the port read
// from its "listening on" line), talk raw HTTP/1.1 over loopback sockets (so requests can
// be malformed, cut short or stalled on purpose), load it from many client threads, and
// read its resident memory.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tessera::testing {

using Clock = std::chrono::steady_clock;

// `tessera serve ARGS --port 0` as a child process; its output goes to `log`.
class ServerProcess {
 public:
  ServerProcess(const std::string& cli, const std::vector<std::string>& args, const std::filesystem::path& log)
      : log_(log) {
    // Everything the child needs is made before fork: between fork and exec a child of a
    // threaded process may only make async-signal-safe calls (no allocation).
    std::vector<std::string> all = {cli, "serve", "--port", "0"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fd);
    // The port, from "listening on http://127.0.0.1:PORT" (the model loads first).
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline && port_ < 0 && running()) {
      const auto text = log_text();
      const auto at = text.find("listening on http://");
      if (at != std::string::npos) {
        const auto colon = text.find(':', at + 20);
        const auto end = text.find('\n', colon);
        if (colon != std::string::npos && end != std::string::npos)
          port_ = std::stoi(text.substr(colon + 1, end - colon - 1));
      }
      if (port_ < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~ServerProcess() {
    if (pid_ > 0 && exit_code_ == kRunning) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log_text() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  bool running() {
    if (exit_code_ != kRunning) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  // Sends `sig` and waits (up to `limit`) for the exit; the exit code, or -1 if it did not exit.
  int stop(int sig = SIGTERM, std::chrono::seconds limit = std::chrono::seconds(30)) {
    if (running()) kill(pid_, sig);
    const auto deadline = Clock::now() + limit;
    while (running() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return exit_code_ == kRunning ? -1 : exit_code_;
  }

 private:
  static constexpr int kRunning = -1000;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = -1;
  int exit_code_ = kRunning;
};

// Resident memory of a process, in KiB (VmRSS of /proc/PID/status).
inline int64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

struct HttpResponse {
  int status = 0;                              // 0: no response (connection failed or closed without one)
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

// One blocking loopback connection.
class Connection {
 public:
  explicit Connection(int port, double timeout_s = 30.0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{static_cast<time_t>(timeout_s),
               static_cast<suseconds_t>((timeout_s - static_cast<time_t>(timeout_s)) * 1e6)};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return connected_; }
  bool send_all(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads one response (headers, then Content-Length bytes of body).
  HttpResponse read_response() {
    HttpResponse r;
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return r;
    }
    std::istringstream head(buffer_.substr(0, header_end));
    std::string line;
    std::getline(head, line);
    if (line.size() < 12) return r;
    r.status = std::stoi(line.substr(9, 3));
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    const size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buffer_.size() < header_end + 4 + length) {
      if (!fill()) break;
    }
    r.body = buffer_.substr(header_end + 4, length);
    buffer_.erase(0, std::min(buffer_.size(), header_end + 4 + length));
    return r;
  }

 private:
  bool fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// "POST /v1/predict" with `body` as `content_type`, on a keep-alive connection.
inline std::string predict_request(const std::string& body, const std::string& content_type = "image/png",
                                   const std::string& query = "") {
  return "POST /v1/predict" + query + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::string get_request(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

// One request on a fresh connection.
inline HttpResponse http_exchange(int port, const std::string& request, double timeout_s = 30.0) {
  Connection c(port, timeout_s);
  if (!c.connected() || !c.send_all(request)) return {};
  return c.read_response();
}

// A multipart/form-data body with one file field.
inline std::string multipart_body(const std::string& boundary, const std::string& field, const std::string& filename,
                                  const std::string& bytes) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" + filename +
         "\"\r\nContent-Type: image/png\r\n\r\n" + bytes + "\r\n--" + boundary + "--\r\n";
}

struct LoadResult {
  int64_t ok = 0;
  int64_t failed = 0;  // any status other than 200, or no response
  std::map<int, int64_t> statuses;
  std::vector<double> latencies_ms;        // of the 200s
  std::map<int64_t, int64_t> batch_sizes;  // from the answers' batch_size
  double seconds = 0.0;
  double percentile(double p) const {
    if (latencies_ms.empty()) return 0.0;
    auto sorted = latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    const auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
  }
};

// `clients` threads, each on its own keep-alive connection, sending `request` back to
// back for `duration`.
inline LoadResult run_load(int port, int clients, std::chrono::milliseconds duration, const std::string& request) {
  LoadResult total;
  std::mutex mutex;
  const auto start = Clock::now();
  const auto end = start + duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      LoadResult mine;
      auto connection = std::make_unique<Connection>(port);
      while (Clock::now() < end) {
        const auto sent = Clock::now();
        HttpResponse r;
        if (connection->send_all(request)) r = connection->read_response();
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - sent).count();
        ++mine.statuses[r.status];
        if (r.status == 200) {
          ++mine.ok;
          mine.latencies_ms.push_back(ms);
          const auto j = r.json();
          if (j.is_object() && j.contains("batch_size")) ++mine.batch_sizes[j["batch_size"].get<int64_t>()];
        } else {
          ++mine.failed;
        }
        if (r.status == 0 || r.headers["connection"] == "close") connection = std::make_unique<Connection>(port);
      }
      std::lock_guard<std::mutex> lock(mutex);
      total.ok += mine.ok;
      total.failed += mine.failed;
      for (auto [s, n] : mine.statuses) total.statuses[s] += n;
      for (auto [b, n] : mine.batch_sizes) total.batch_sizes[b] += n;
      total.latencies_ms.insert(total.latencies_ms.end(), mine.latencies_ms.begin(), mine.latencies_ms.end());
    });
  }
  for (auto& t : threads) t.join();
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return total;
}

}  // namespace tessera::testing
