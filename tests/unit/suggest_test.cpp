// Tests for the "did you mean" suggestions (src/tessera/core/suggest.h).
#include "tessera/core/suggest.h"

#include <gtest/gtest.h>

namespace tessera::core {
namespace {

TEST(Suggest, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("leraning_rate", "learning_rate"), 1u);  // one transposition
  EXPECT_EQ(edit_distance("ca", "abc"), 2u);  // unrestricted: transpose, then insert
}

TEST(Suggest, ClosestMatch) {
  const std::vector<std::string> keys = {"name", "learning_rate", "weight_decay", "eps"};
  EXPECT_EQ(closest_match("leraning_rate", keys), "learning_rate");
  EXPECT_EQ(closest_match("Learning_Rate", keys), "learning_rate");
  EXPECT_EQ(closest_match("weight_dcay", keys), "weight_decay");
  EXPECT_EQ(closest_match("momentum", keys), std::nullopt);
}

}  // namespace
}  // namespace tessera::core
