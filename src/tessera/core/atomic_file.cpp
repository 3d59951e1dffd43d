// Atomic file replacement: write a temporary next to the target, fsync, rename over it.
#include "tessera/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tessera/core/error.h"

namespace tessera::core {
namespace {

std::string errno_text(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// Closes the descriptor and removes the temporary unless the write went through.
class TempFile {
 public:
  explicit TempFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int& fd() { return fd_; }
  void commit() { committed_ = true; }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

// The rename is only durable once the folder's entry is on disk too. Best effort:
// some file systems refuse fsync on a folder, and the data itself is already safe.
void sync_parent_folder(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  if (parent.empty()) parent = ".";
  sync_folder(parent);
}

}  // namespace

void sync_folder(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  const std::string where = path.string();
  // Same folder as the target, so rename() never crosses file systems.
  std::filesystem::path tmp_path = path;
  tmp_path += ".tmp." + std::to_string(::getpid());

  TempFile tmp(tmp_path);
  tmp.fd() = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (tmp.fd() < 0) {
    const int err = errno;
    // Nothing was created; the destructor's unlink then fails harmlessly.
    throw Error(where, errno_text("cannot create temporary file " + tmp_path.string(), err));
  }

  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(tmp.fd(), p, left);
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      throw Error(where, errno_text("cannot write", err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at empty data.
  if (::fsync(tmp.fd()) != 0) {
    const int err = errno;
    throw Error(where, errno_text("cannot fsync", err));
  }
  const int fd = tmp.fd();
  tmp.fd() = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    throw Error(where, errno_text("cannot close", err));
  }

  if (::rename(tmp_path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    throw Error(where, errno_text("cannot rename " + tmp_path.string() + " over it", err));
  }
  tmp.commit();
  sync_parent_folder(path);
}

}  // namespace tessera::core
