// CLIP's byte-level BPE tokenizer (Radford et al., 2021; byte-level BPE as in GPT-2), giving
// the same ids as open_clip.tokenize / open_clip.get_tokenizer('ViT-B-32').
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tessera::text {

// The vocabulary the build found inside the open_clip wheel (bpe_simple_vocab_16e6.txt.gz),
// or the file named by the environment variable TESSERA_CLIP_VOCAB when it is set. Empty
// when neither exists.
std::filesystem::path default_vocab_path();

// Immutable once built: encode / tokenize / decode are safe to call from several threads.
class BpeTokenizer {
 public:
  static constexpr int64_t kDefaultContextLength = 77;

  // Reads the gzip'd merges file open_clip ships. A missing or malformed file is a
  // tessera::Error naming it.
  explicit BpeTokenizer(const std::filesystem::path& vocab_path = default_vocab_path(),
                        int64_t context_length = kDefaultContextLength);

  // Token ids of one text, without start / end tokens and without truncation.
  std::vector<int64_t> encode(std::string_view utf8_text) const;
  // Rows of [start, ids..., end, 0, 0, ...] of context_length (0 = the tokenizer's);
  // a longer text is cut to context_length with the end token kept last. (N, L) int64.
  at::Tensor tokenize(const std::vector<std::string>& utf8_texts, int64_t context_length = 0) const;
  // Ids back to text (word ends become spaces), as open_clip's decode.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t sot_token_id() const { return sot_id_; }
  int64_t eot_token_id() const { return eot_id_; }
  int64_t vocab_size() const { return static_cast<int64_t>(decoder_.size()); }
  int64_t context_length() const { return context_length_; }

 private:
  struct Merge {
    int32_t rank;
    int32_t result;  // id of the merged symbol
  };
  // BPE of one pre-token's UTF-8 bytes into ids.
  void bpe(std::string_view word, std::vector<int64_t>& out) const;

  int64_t context_length_;
  std::vector<std::string> decoder_;                 // id → symbol (byte-encoded characters)
  std::unordered_map<std::string, int32_t> encoder_;  // symbol → id
  std::unordered_map<uint64_t, Merge> merges_;        // (left id << 32 | right id) → merge
  int32_t byte_id_[256];      // id of a lone byte's symbol
  int32_t byte_end_id_[256];  // id of the byte's symbol ending a word ("</w>")
  int32_t sot_id_ = 0, eot_id_ = 0;
};

}  // namespace tessera::text
