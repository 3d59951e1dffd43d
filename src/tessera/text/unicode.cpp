// Unicode facts for the CLIP tokenizer (see unicode.h), read from generated tables.
#include "tessera/text/unicode.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace tessera::text {

namespace {

struct Range {
  char32_t first, last;
};
struct LowerRun {  // every stride-th code point of [first, last] lower-cases to itself + delta
  char32_t first, last;
  int32_t stride, delta;
};
struct Mapping {
  char32_t cp;
  const char32_t* to;
};
struct ClassRange {
  char32_t first, last;
  int32_t combining_class;
};
struct Decomposition {  // canonical, one level deep; second == 0 for a singleton
  char32_t cp, first, second;
};
struct Composition {  // sorted by (first, second)
  char32_t first, second, composite;
};

// Written at configure time by third_party/gen_unicode_tables.py into the build folder.
#include "unicode_tables.inc"

template <typename T, size_t N>
const T* find_range(const T (&table)[N], char32_t c) {
  auto it = std::upper_bound(std::begin(table), std::end(table), c,
                             [](char32_t v, const T& r) { return v < r.first; });
  if (it == std::begin(table)) return nullptr;
  --it;
  return c <= it->last ? &*it : nullptr;
}

template <size_t N>
bool in_ranges(const Range (&table)[N], char32_t c) {
  return find_range(table, c) != nullptr;
}

bool is_cased(char32_t c) { return in_ranges(kCased, c); }
bool is_case_ignorable(char32_t c) { return in_ranges(kCaseIgnorable, c); }

// CPython's Final_Sigma test: a cased letter before Σ, and none after it, looking past
// case-ignorable characters (apostrophes, combining marks, ...) on both sides.
bool is_final_sigma(std::u32string_view text, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(text[j - 1])) --j;
  if (j == 0 || !is_cased(text[j - 1])) return false;
  size_t k = i + 1;
  while (k < text.size() && is_case_ignorable(text[k])) ++k;
  return k == text.size() || !is_cased(text[k]);
}

void append_lower(std::u32string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  for (const auto& m : kLowerSpecial) {
    if (m.cp == c) {
      out += m.to;
      return;
    }
  }
  if (const auto* run = find_range(kLowerRuns, c); run && (c - run->first) % run->stride == 0) {
    out.push_back(static_cast<char32_t>(static_cast<int64_t>(c) + run->delta));
    return;
  }
  out.push_back(c);
}

// ---- NFC (Unicode Standard Annex #15) ----------------------------------------------

// Hangul syllables are composed and decomposed by arithmetic, not by table.
constexpr char32_t kHangulBase = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr int32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr int32_t kHangulCount = kHangulLCount * kHangulVCount * kHangulTCount;

int32_t combining_class(char32_t c) {
  if (c < 0x300) return 0;
  const auto* r = find_range(kCombiningClass, c);
  return r ? r->combining_class : 0;
}

void decompose(char32_t c, std::u32string& out) {
  if (c >= kHangulBase && c < kHangulBase + kHangulCount) {
    const int32_t s = static_cast<int32_t>(c - kHangulBase);
    out.push_back(kHangulL + s / (kHangulVCount * kHangulTCount));
    out.push_back(kHangulV + (s % (kHangulVCount * kHangulTCount)) / kHangulTCount);
    if (s % kHangulTCount) out.push_back(kHangulT + s % kHangulTCount);
    return;
  }
  auto it = std::lower_bound(std::begin(kDecomposition), std::end(kDecomposition), c,
                             [](const Decomposition& d, char32_t v) { return d.cp < v; });
  if (it == std::end(kDecomposition) || it->cp != c) {
    out.push_back(c);
    return;
  }
  decompose(it->first, out);
  if (it->second) decompose(it->second, out);
}

// The primary composite of (a, b), or 0.
char32_t compose(char32_t a, char32_t b) {
  if (a >= kHangulL && a < kHangulL + kHangulLCount && b >= kHangulV && b < kHangulV + kHangulVCount) {
    return kHangulBase + ((a - kHangulL) * kHangulVCount + (b - kHangulV)) * kHangulTCount;
  }
  if (a >= kHangulBase && a < kHangulBase + kHangulCount && (a - kHangulBase) % kHangulTCount == 0 &&
      b > kHangulT && b < kHangulT + kHangulTCount) {
    return a + (b - kHangulT);
  }
  auto it = std::lower_bound(std::begin(kComposition), std::end(kComposition), std::make_pair(a, b),
                             [](const Composition& c, const std::pair<char32_t, char32_t>& v) {
                               return std::make_pair(c.first, c.second) < v;
                             });
  return it != std::end(kComposition) && it->first == a && it->second == b ? it->composite : 0;
}

}  // namespace

std::u32string decode_utf8(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = 0;
    char32_t c = 0;
    // The second byte's range excludes overlong forms, surrogates and values past U+10FFFF.
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, c = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, c = b & 0x07;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    }
    if (len == 0) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    int k = 1;
    for (; k < len && i + k < n; ++k) {
      const unsigned char t = s[i + k];
      if (t < (k == 1 ? lo : 0x80) || t > (k == 1 ? hi : 0xBF)) break;
      c = (c << 6) | (t & 0x3F);
    }
    if (k == len) {
      out.push_back(c);
    } else {
      out.push_back(0xFFFD);  // the valid prefix of a truncated sequence counts as one error
    }
    i += k;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = 0xFFFD;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool is_letter(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return in_ranges(kLetter, c);
}

bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return in_ranges(kNumber, c);
}

bool is_other(char32_t c) { return in_ranges(kOther, c); }
bool is_python_space(char32_t c) { return in_ranges(kPythonSpace, c); }
bool is_decimal_digit(char32_t c) { return in_ranges(kDecimalDigit, c); }

std::u32string python_lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == 0x3A3) {
      out.push_back(is_final_sigma(text, i) ? 0x3C2 : 0x3C3);
    } else {
      append_lower(out, text[i]);
    }
  }
  return out;
}

std::u32string nfc(std::u32string_view text) {
  // Below U+0300 nothing decomposes into something that does not compose back.
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; })) return std::u32string(text);

  std::u32string d;
  d.reserve(text.size());
  for (char32_t c : text) decompose(c, d);
  // Canonical order: each run of non-starters sorted (stably) by combining class.
  for (size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0) ++j;
    std::stable_sort(d.begin() + i, d.begin() + j,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Canonical composition: join each character to the last starter unless a character
  // in between blocks it (a starter, or one of the same or a higher class).
  std::u32string out;
  out.reserve(d.size());
  size_t starter = std::u32string::npos;
  int32_t last_class = 0;
  for (char32_t c : d) {
    const int32_t cc = combining_class(c);
    if (starter != std::u32string::npos) {
      const bool adjacent = out.size() == starter + 1;
      if (adjacent || (last_class != 0 && last_class < cc)) {
        if (char32_t composite = compose(out[starter], c)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = out.size();
    out.push_back(c);
    last_class = cc;
  }
  return out;
}

}  // namespace tessera::text
