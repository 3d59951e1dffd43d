// Labels from the command line (see labels.h).
#include "tessera/serve/labels.h"

#include <fstream>
#include <sstream>

#include "tessera/core/error.h"

namespace tessera::serve {

namespace {
std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}
}  // namespace

std::vector<std::string> read_labels(const std::string& list, const std::string& file) {
  std::vector<std::string> labels;
  if (!list.empty() && !file.empty()) throw Error("--labels", "give --labels or --labels-file, not both");
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw Error(file, "cannot be read (--labels-file)");
    std::string line;
    while (std::getline(in, line)) {
      if (auto label = trim(line); !label.empty()) labels.push_back(std::move(label));
    }
    if (labels.empty()) throw Error(file, "holds no labels (--labels-file: one per line)");
    return labels;
  }
  if (list.empty()) return labels;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto label = trim(item);
    if (label.empty()) throw Error("--labels", "'" + list + "' has an empty label");
    labels.push_back(std::move(label));
  }
  if (!list.empty() && list.back() == ',') throw Error("--labels", "'" + list + "' has an empty label");
  return labels;
}

}  // namespace tessera::serve
