// CLIP's byte-level BPE tokenizer (see bpe_tokenizer.h).
#include "tessera/text/bpe_tokenizer.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "tessera/core/error.h"
#include "tessera/text/text_clean.h"
#include "tessera/text/unicode.h"

#ifndef TESSERA_CLIP_VOCAB_DEFAULT
#define TESSERA_CLIP_VOCAB_DEFAULT ""  // set by third_party/clip_vocab.cmake
#endif

namespace tessera::text {

namespace {

// open_clip's merges file: a version line, then the merges in rank order; CLIP uses the
// first 49152 - 256 - 2 of them, so that with the 512 byte symbols and the 2 special
// tokens the vocabulary has 49408 entries.
constexpr size_t kNumMerges = 49152 - 256 - 2;
constexpr std::string_view kStartOfText = "<start_of_text>";
constexpr std::string_view kEndOfText = "<end_of_text>";

// GPT-2's reversible byte → character map: printable Latin-1 bytes stand for themselves,
// the other 68 bytes (controls, space, ...) get the characters from U+0100 on, so that no
// symbol contains whitespace. Returns the characters in vocabulary order (the bytes
// that stand for themselves first) with the byte each stands for.
std::vector<std::pair<uint8_t, char32_t>> byte_symbols() {
  std::vector<std::pair<uint8_t, char32_t>> order;
  auto keeps_itself = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE); };
  for (int b = 0; b < 256; ++b) {
    if (keeps_itself(b)) order.emplace_back(static_cast<uint8_t>(b), static_cast<char32_t>(b));
  }
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    if (!keeps_itself(b)) order.emplace_back(static_cast<uint8_t>(b), next++);
  }
  return order;
}

std::string read_gzip(const std::filesystem::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw Error(path.string(), "cannot open the CLIP vocabulary");
  std::string data;
  char buffer[1 << 16];
  int n;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) data.append(buffer, static_cast<size_t>(n));
  int err = 0;
  const char* message = n < 0 ? gzerror(file, &err) : nullptr;
  const std::string what = message ? message : "";
  gzclose(file);
  if (n < 0) throw Error(path.string(), "not a readable gzip file: " + what);
  return data;
}

// Case-insensitive comparison of one character of the lower-cased text with one of a
// special token, as the `regex` module's IGNORECASE does it: after str.lower() the only
// other character that still matches an ASCII letter is the long s (ſ ~ s).
bool same_ignoring_case(char32_t c, char lit) {
  if (c == static_cast<char32_t>(lit)) return true;
  if (lit >= 'a' && lit <= 'z' && c == static_cast<char32_t>(lit - 32)) return true;
  return lit == 's' && c == 0x17F;
}

bool matches_at(std::u32string_view text, size_t i, std::string_view lit) {
  if (text.size() - i < lit.size()) return false;
  for (size_t k = 0; k < lit.size(); ++k) {
    if (!same_ignoring_case(text[i + k], lit[k])) return false;
  }
  return true;
}

// open_clip's pre-tokenisation pattern, applied as `regex.findall` does:
//   <start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+
// (case-insensitive), the first alternative that matches at a position wins.
std::vector<std::u32string_view> pre_tokenize(std::u32string_view text) {
  static constexpr std::string_view kContractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};
  std::vector<std::u32string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    const char32_t c = text[i];
    size_t len = 0;
    if (c == '<') {
      for (auto special : {kStartOfText, kEndOfText}) {
        if (!len && matches_at(text, i, special)) len = special.size();
      }
    } else if (c == '\'') {
      for (auto tail : kContractions) {
        if (!len && matches_at(text, i + 1, tail)) len = 1 + tail.size();
      }
    }
    if (!len) {
      if (is_letter(c)) {
        while (i + len < text.size() && is_letter(text[i + len])) ++len;
      } else if (is_number(c)) {
        len = 1;
      } else if (is_other(c)) {
        while (i + len < text.size() && is_other(text[i + len])) ++len;
      }
    }
    if (len) {
      pieces.push_back(text.substr(i, len));
      i += len;
    } else {
      ++i;  // whitespace (what no alternative matches) separates pieces and is dropped
    }
  }
  return pieces;
}

}  // namespace

std::filesystem::path default_vocab_path() {
  if (const char* env = std::getenv("TESSERA_CLIP_VOCAB"); env && *env) return env;
  return TESSERA_CLIP_VOCAB_DEFAULT;
}

BpeTokenizer::BpeTokenizer(const std::filesystem::path& vocab_path, int64_t context_length)
    : context_length_(context_length) {
  if (context_length < 2) {
    throw Error("BpeTokenizer", "context_length must be at least 2 (start and end token), got " +
                                    std::to_string(context_length));
  }
  if (vocab_path.empty()) {
    throw Error("BpeTokenizer",
                "no CLIP vocabulary: the build found no bpe_simple_vocab_16e6.txt.gz in the open_clip wheel; "
                "set TESSERA_CLIP_VOCAB to the file");
  }
  const std::string data = read_gzip(vocab_path);

  std::vector<std::string> lines;
  for (size_t pos = 0; pos <= data.size();) {
    size_t end = data.find('\n', pos);
    if (end == std::string::npos) end = data.size();
    lines.push_back(data.substr(pos, end - pos));
    pos = end + 1;
  }
  const size_t merges_available = lines.empty() ? 0 : lines.size() - 1;
  const size_t num_merges = std::min(kNumMerges, merges_available);
  if (num_merges == 0) throw Error(vocab_path.string(), "holds no BPE merges");

  auto add_symbol = [this](std::string symbol) {
    const auto id = static_cast<int32_t>(decoder_.size());
    encoder_[symbol] = id;  // a repeated symbol keeps its last id, as open_clip's dict does
    decoder_.push_back(std::move(symbol));
    return id;
  };
  const auto symbols = byte_symbols();
  for (const auto& [byte, ch] : symbols) byte_id_[byte] = add_symbol(encode_utf8(std::u32string(1, ch)));
  for (const auto& [byte, ch] : symbols) byte_end_id_[byte] = add_symbol(encode_utf8(std::u32string(1, ch)) + "</w>");

  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(num_merges);
  for (size_t i = 1; i <= num_merges; ++i) {
    const auto& line = lines[i];
    const size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string::npos) {
      throw Error(vocab_path.string() + " (line " + std::to_string(i + 1) + ")",
                  "a merge is two symbols separated by one space, got '" + line + "'");
    }
    pairs.emplace_back(line.substr(0, space), line.substr(space + 1));
    add_symbol(pairs.back().first + pairs.back().second);
  }
  sot_id_ = add_symbol(std::string(kStartOfText));
  eot_id_ = add_symbol(std::string(kEndOfText));

  merges_.reserve(pairs.size());
  for (size_t rank = 0; rank < pairs.size(); ++rank) {
    const auto& [left, right] = pairs[rank];
    auto l = encoder_.find(left), r = encoder_.find(right);
    if (l == encoder_.end() || r == encoder_.end()) {
      throw Error(vocab_path.string() + " (line " + std::to_string(rank + 2) + ")",
                  "merge of a symbol that no earlier line defines: '" + left + " " + right + "'");
    }
    const uint64_t key = (static_cast<uint64_t>(l->second) << 32) | static_cast<uint32_t>(r->second);
    merges_[key] = Merge{static_cast<int32_t>(rank), encoder_.at(left + right)};
  }
}

void BpeTokenizer::bpe(std::string_view word, std::vector<int64_t>& out) const {
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    const auto b = static_cast<uint8_t>(word[i]);
    symbols.push_back(i + 1 == word.size() ? byte_end_id_[b] : byte_id_[b]);
  }
  std::vector<int32_t> merged;
  while (symbols.size() > 1) {
    // The adjacent pair merged earliest in training, then every occurrence of it, left to right.
    const Merge* best = nullptr;
    uint64_t best_key = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const uint64_t key = (static_cast<uint64_t>(symbols[i]) << 32) | static_cast<uint32_t>(symbols[i + 1]);
      auto it = merges_.find(key);
      if (it != merges_.end() && (!best || it->second.rank < best->rank)) best = &it->second, best_key = key;
    }
    if (!best) break;
    const auto left = static_cast<int32_t>(best_key >> 32), right = static_cast<int32_t>(best_key & 0xFFFFFFFF);
    merged.clear();
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (symbols[i] == left && i + 1 < symbols.size() && symbols[i + 1] == right) {
        merged.push_back(best->result);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols.swap(merged);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

std::vector<int64_t> BpeTokenizer::encode(std::string_view utf8_text) const {
  const std::u32string text = clean_lower(decode_utf8(utf8_text));
  std::vector<int64_t> ids;
  for (auto piece : pre_tokenize(text)) {
    const std::string bytes = encode_utf8(piece);
    // Only the exact special strings map to the special ids (open_clip's BPE cache holds
    // them); a case-insensitive look-alike ("<ſtart_of_text>") is ordinary text.
    if (bytes == kStartOfText) {
      ids.push_back(sot_id_);
    } else if (bytes == kEndOfText) {
      ids.push_back(eot_id_);
    } else {
      bpe(bytes, ids);
    }
  }
  return ids;
}

at::Tensor BpeTokenizer::tokenize(const std::vector<std::string>& utf8_texts, int64_t context_length) const {
  const int64_t length = context_length > 0 ? context_length : context_length_;
  auto result = at::zeros({static_cast<int64_t>(utf8_texts.size()), length}, at::kLong);  // (N, L)
  auto rows = result.accessor<int64_t, 2>();
  for (size_t n = 0; n < utf8_texts.size(); ++n) {
    std::vector<int64_t> ids{sot_id_};
    const auto body = encode(utf8_texts[n]);
    ids.insert(ids.end(), body.begin(), body.end());
    ids.push_back(eot_id_);
    if (static_cast<int64_t>(ids.size()) > length) {
      ids.resize(static_cast<size_t>(length));
      ids.back() = eot_id_;  // a truncated text still ends with the end token (it is what CLIP pools)
    }
    for (size_t k = 0; k < ids.size(); ++k) rows[static_cast<int64_t>(n)][static_cast<int64_t>(k)] = ids[k];
  }
  return result;
}

std::string BpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  static const auto byte_of = [] {
    std::vector<int> table(512, -1);  // byte-map character → byte
    for (const auto& [byte, ch] : byte_symbols()) table[ch] = byte;
    return table;
  }();
  std::string bytes;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) {
      throw Error("BpeTokenizer::decode", "token id " + std::to_string(id) + " is outside the vocabulary of " +
                                              std::to_string(vocab_size()));
    }
    for (char32_t ch : decode_utf8(decoder_[static_cast<size_t>(id)])) {
      bytes.push_back(static_cast<char>(ch < byte_of.size() && byte_of[ch] >= 0 ? byte_of[ch] : '?'));
    }
  }
  std::string text = encode_utf8(decode_utf8(bytes));  // invalid UTF-8 → U+FFFD, as errors="replace"
  std::string out;
  for (size_t pos = 0;;) {
    const size_t hit = text.find("</w>", pos);
    out.append(text, pos, hit == std::string::npos ? std::string::npos : hit - pos);
    if (hit == std::string::npos) break;
    out.push_back(' ');
    pos = hit + 4;
  }
  return out;
}

}  // namespace tessera::text
