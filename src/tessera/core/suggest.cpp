// Damerau-Levenshtein distance and the nearest-candidate search built on it.
#include "tessera/core/suggest.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace tessera::core {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Lowrance-Wagner: row/column 0 hold a sentinel larger than any distance, so a
  // transposition reaching back past the start of a string never wins.
  const std::size_t n = a.size(), m = b.size();
  const std::size_t far = n + m;
  std::vector<std::vector<std::size_t>> d(n + 2, std::vector<std::size_t>(m + 2, 0));
  d[0][0] = far;
  for (std::size_t i = 0; i <= n; ++i) {
    d[i + 1][0] = far;
    d[i + 1][1] = i;
  }
  for (std::size_t j = 0; j <= m; ++j) {
    d[0][j + 1] = far;
    d[1][j + 1] = j;
  }
  // Last row of `a` (1-based) where each character was seen; 0 = not yet.
  std::array<std::size_t, 256> last_row_of{};
  for (std::size_t i = 1; i <= n; ++i) {
    std::size_t last_match_col = 0;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t i1 = last_row_of[static_cast<unsigned char>(b[j - 1])];
      const std::size_t j1 = last_match_col;
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      if (cost == 0) last_match_col = j;
      d[i + 1][j + 1] = std::min({d[i][j] + cost,      // substitute (or match)
                                  d[i + 1][j] + 1,     // insert
                                  d[i][j + 1] + 1,     // delete
                                  d[i1][j1] + (i - i1 - 1) + 1 + (j - j1 - 1)});  // transpose
    }
    last_row_of[static_cast<unsigned char>(a[i - 1])] = i;
  }
  return d[n + 1][m + 1];
}

namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  // Short words get 2 edits, longer ones a third of their length: enough for a
  // typo or two, not so much that unrelated keys are offered.
  const std::size_t threshold = std::max<std::size_t>(2, word.size() / 3);
  const std::string lowered = lowercase(word);
  std::optional<std::string> best;
  std::size_t best_distance = threshold + 1;
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(lowered, lowercase(candidate));
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

}  // namespace tessera::core
