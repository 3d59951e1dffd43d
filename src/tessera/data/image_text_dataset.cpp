// Image-caption pairs from a CSV/TSV table, as open_clip's CsvDataset (see image_text_dataset.h).
#include "tessera/data/image_text_dataset.h"

#include <filesystem>
#include <system_error>

#include "tessera/core/error.h"
#include "tessera/data/csv_table.h"
#include "tessera/data/image_decode.h"

namespace tessera::data {
namespace fs = std::filesystem;

namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "'" : ", '") + name + "'";
  return out;
}

// The position of column `key` in `header`; Error naming the columns there are when
// it is missing or named twice.
size_t find_column(const std::vector<std::string>& header, const std::string& key, const std::string& where,
                   char separator) {
  size_t found = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] != key) continue;
    if (found != header.size()) throw Error(where, "the header names the column '" + key + "' twice");
    found = i;
  }
  if (found != header.size()) return found;
  std::string message = "the header has no column '" + key + "'; its columns are " + quoted_list(header);
  if (header.size() == 1) {
    for (char other : {'\t', ',', ';', '|'}) {
      if (other == separator || header[0].find(other) == std::string::npos) continue;
      message += " (the header is one column that holds " + separator_name(other) + ": are the fields separated by " +
                 separator_name(other) + " rather than " + separator_name(separator) + "?)";
      break;
    }
  }
  throw Error(where, message);
}

std::string slice(const std::string& all, const std::vector<uint64_t>& offsets, int64_t index) {
  const auto i = static_cast<size_t>(index);
  return all.substr(offsets[i], offsets[i + 1] - offsets[i]);
}

}  // namespace

ImageTextDataset::ImageTextDataset(const std::string& csv_path, const std::string& image_key,
                                   const std::string& caption_key, char separator)
    : csv_path_(csv_path) {
  CsvReader reader(csv_path, separator);
  std::vector<std::string> fields;
  if (!reader.next(fields)) {
    throw Error(csv_path, "is empty; expected a header naming the columns '" + image_key + "' and '" + caption_key +
                              "', then one row per image");
  }
  const std::string header_where = csv_path + ":" + std::to_string(reader.line());
  const size_t image_column = find_column(fields, image_key, header_where, separator);
  const size_t caption_column = find_column(fields, caption_key, header_where, separator);

  const fs::path folder = fs::path(csv_path).parent_path();
  path_offsets_.push_back(0);
  caption_offsets_.push_back(0);
  while (reader.next(fields)) {
    // "<csv>:<line>", for the error messages only.
    const auto where = [&] { return csv_path + ":" + std::to_string(reader.line()); };
    const std::string& image = fields[image_column];
    if (image.empty()) throw Error(where(), "the column '" + image_key + "' is empty: no image file named");
    const fs::path path = folder / image;  // an absolute `image` replaces the folder
    std::error_code ec;
    const auto type = fs::status(path, ec).type();
    if (type == fs::file_type::not_found) {
      const bool relative = fs::path(image).is_relative();
      throw Error(where(), "image file not found: " + path.string() +
                               (relative ? " (a relative path is taken from the CSV file's folder)" : ""));
    }
    if (type == fs::file_type::directory) throw Error(where(), path.string() + " is a folder, not an image file");
    if (ec) throw Error(where(), "cannot examine " + path.string() + ": " + ec.message());

    paths_ += path.string();
    path_offsets_.push_back(paths_.size());
    captions_ += fields[caption_column];
    caption_offsets_.push_back(captions_.size());
    line_numbers_.push_back(reader.line());
  }
}

std::string ImageTextDataset::image_path(int64_t index) const { return slice(paths_, path_offsets_, index); }

std::string ImageTextDataset::caption(int64_t index) const { return slice(captions_, caption_offsets_, index); }

std::string ImageTextDataset::describe(int64_t index) const {
  return image_path(index) + " (" + csv_path_ + ":" + std::to_string(line(index)) + ")";
}

int64_t ImageTextDataset::read(int64_t index, Image& image) const {
  read_image_file(image_path(index), image);
  return -1;
}

}  // namespace tessera::data
