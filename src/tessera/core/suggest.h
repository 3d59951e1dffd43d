// Near-miss suggestions for misspelled keys and enum values ("did you mean ...?"),
// by Damerau-Levenshtein edit distance.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::core {

// Insertions, deletions, substitutions and transpositions of adjacent characters
// needed to turn `a` into `b` (the unrestricted Damerau-Levenshtein distance).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` (ignoring case), if it is within max(2, len/3)
// edits of it; ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// "a, b, c": for messages that list the valid choices.
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace tessera::core
