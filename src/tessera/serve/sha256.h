// SHA-256 (FIPS 180-4), for the checksum a bundle records of its weights file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace tessera::serve {

// Incremental hashing: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The 64 lowercase hex digits of the digest. Finishes the hash: no update() after it.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> block_{};
  size_t block_used_ = 0;
  uint64_t total_bytes_ = 0;
};

// The hex SHA-256 of a whole file, read in chunks. A file that cannot be read is a
// tessera::Error naming it.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace tessera::serve
