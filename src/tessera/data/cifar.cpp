// The CIFAR-10 / CIFAR-100 binary readers (see cifar.h).
#include "tessera/data/cifar.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tessera/core/error.h"

namespace tessera::data {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kImageBytes = 3 * 32 * 32;

std::string how_to_get(const std::string& dataset) {
  const std::string kind = dataset == "CIFAR-10" ? "cifar10" : "cifar100";
  return "`bash data/prepare_cifar.sh " + kind + "` (in the Tessera folder) downloads and checks " + dataset +
         " into data/, or set data.root to a folder holding its binary files";
}

std::vector<char> read_whole_file(const fs::path& path, const std::string& dataset) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path.string(), "file not found; " + how_to_get(dataset));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot be opened for reading");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path.string(), "read failed");
  return bytes;
}

// One class name per line; blank lines (the official files end with some) are skipped.
std::vector<std::string> read_names(const fs::path& path, size_t expected, const std::string& dataset) {
  const std::vector<char> bytes = read_whole_file(path, dataset);
  std::vector<std::string> names;
  std::string line;
  auto flush = [&] {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
    line.clear();
  };
  for (char ch : bytes) {
    if (ch == '\n') {
      flush();
    } else {
      line += ch;
    }
  }
  flush();
  if (names.size() != expected) {
    throw Error(path.string(), "names " + std::to_string(names.size()) + " classes, expected " +
                                   std::to_string(expected) + " (one name per line)");
  }
  return names;
}

// The records of several files, in file order. `label_byte` picks which of the
// record's leading label bytes is the label.
struct RecordLayout {
  int64_t label_bytes;  // 1 for CIFAR-10, 2 for CIFAR-100 (coarse, fine)
  int64_t label_byte;   // which of them to use
  int64_t num_classes;
};

CifarSplit read_records(const std::vector<fs::path>& files, const RecordLayout& layout,
                        std::vector<std::string> names, const std::string& dataset) {
  const int64_t record_bytes = layout.label_bytes + kImageBytes;
  std::vector<std::vector<char>> contents;
  int64_t total = 0;
  for (const auto& file : files) {
    contents.push_back(read_whole_file(file, dataset));
    const auto size = static_cast<int64_t>(contents.back().size());
    if (size == 0) throw Error(file.string(), "is empty; " + how_to_get(dataset));
    if (size % record_bytes != 0) {
      throw Error(file.string(), "is truncated or not a " + dataset + " file: " + std::to_string(size) +
                                     " bytes is not a whole number of " + std::to_string(record_bytes) +
                                     "-byte records (record " + std::to_string(size / record_bytes) +
                                     " is incomplete)");
    }
    total += size / record_bytes;
  }

  CifarSplit split;
  split.images = at::empty({total, 3, 32, 32}, at::kByte);
  split.labels = at::empty({total}, at::kLong);
  auto* images = split.images.data_ptr<uint8_t>();
  auto* labels = split.labels.data_ptr<int64_t>();
  int64_t n = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    const auto* data = reinterpret_cast<const uint8_t*>(contents[f].data());
    const int64_t records = static_cast<int64_t>(contents[f].size()) / record_bytes;
    for (int64_t r = 0; r < records; ++r, ++n) {
      const uint8_t* record = data + r * record_bytes;
      const int64_t label = record[layout.label_byte];
      if (label >= layout.num_classes) {
        throw Error(files[f].string(), "record " + std::to_string(r) + " has label " + std::to_string(label) +
                                           ", outside the " + std::to_string(layout.num_classes) + " classes");
      }
      labels[n] = label;
      std::memcpy(images + n * kImageBytes, record + layout.label_bytes, kImageBytes);
    }
  }
  split.class_names = std::move(names);
  return split;
}

}  // namespace

CifarSplit read_cifar10(const std::string& root, bool train) {
  const fs::path dir(root);
  std::vector<fs::path> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
  } else {
    files.push_back(dir / "test_batch.bin");
  }
  auto names = read_names(dir / "batches.meta.txt", 10, "CIFAR-10");
  return read_records(files, {1, 0, 10}, std::move(names), "CIFAR-10");
}

CifarSplit read_cifar100(const std::string& root, bool train, bool coarse_labels) {
  const fs::path dir(root);
  const size_t classes = coarse_labels ? 20 : 100;
  auto names = read_names(dir / (coarse_labels ? "coarse_label_names.txt" : "fine_label_names.txt"), classes,
                          "CIFAR-100");
  return read_records({dir / (train ? "train.bin" : "test.bin")},
                      {2, coarse_labels ? 0 : 1, static_cast<int64_t>(classes)}, std::move(names), "CIFAR-100");
}

}  // namespace tessera::data
