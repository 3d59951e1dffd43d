// The one exception type for mistakes a user can fix: a bad recipe, a missing or
// corrupt file, a bad request. The CLI prints what() on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace tessera {

class Error : public std::runtime_error {
 public:
  // `where` names the place: "recipes/a.yaml:12:5", "train-images.gz (offset 16)", ...
  Error(const std::string& where, const std::string& message)
      : std::runtime_error(where.empty() ? message : where + ": " + message),
        where_(where),
        message_(message) {}
  explicit Error(const std::string& message) : Error("", message) {}

  const std::string& where() const { return where_; }
  const std::string& message() const { return message_; }

 private:
  std::string where_;
  std::string message_;
};

}  // namespace tessera
