// Image-caption pairs listed in a CSV or TSV file, for CLIP training (Radford et al.,
// 2021): open_clip's CsvDataset, which reads the table with pandas.read_csv(sep=...)
// and takes the image path and the caption from the columns named by --csv-img-key
// and --csv-caption-key.
//
//   filepath<TAB>title
//   images/0001.jpg<TAB>a dog on a beach
//   /data/cc3m/0002.jpg<TAB>"a caption with a ""quote"" and a<TAB>tab"
//
// The table is read by CsvReader (csv_table.h). A relative image path is taken from
// the CSV file's folder, not from the current directory (where open_clip looks), so a
// run behaves the same wherever it is started. Captions are kept as written; an empty
// one stays empty (open_clip would train on the text "nan").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/data/dataset.h"

namespace tessera::data {

class ImageTextDataset : public Dataset {
 public:
  // Reads the table and checks every image file exists (one stat per row; CC3M's 3M
  // rows take seconds). Throws tessera::Error at "<csv>:<line>" for a column missing
  // from the header (listing those present), an empty image path or an image file
  // that does not exist, and for the table errors of CsvReader.
  ImageTextDataset(const std::string& csv_path, const std::string& image_key, const std::string& caption_key,
                   char separator = '\t');

  int64_t size() const override { return static_cast<int64_t>(line_numbers_.size()); }
  const std::vector<std::string>& class_names() const override { return no_classes_; }
  // Decodes image `index` as RGB (3, H, W) and returns -1 (no label); BadSample when
  // it does not decode.
  int64_t read(int64_t index, Image& image) const override;
  bool has_captions() const override { return true; }
  std::string caption(int64_t index) const override;
  // "<image path> (<csv>:<line>)"
  std::string describe(int64_t index) const override;

  std::string image_path(int64_t index) const;  // resolved against the CSV's folder
  int64_t line(int64_t index) const { return line_numbers_[static_cast<size_t>(index)]; }

 private:
  std::string csv_path_;
  std::vector<std::string> no_classes_;
  // Paths and captions end to end (sample i at [offsets[i], offsets[i+1])): one
  // allocation each instead of two strings per row.
  std::string paths_;
  std::vector<uint64_t> path_offsets_;
  std::string captions_;
  std::vector<uint64_t> caption_offsets_;
  std::vector<int64_t> line_numbers_;  // the CSV line of each sample, for messages
};

}  // namespace tessera::data
