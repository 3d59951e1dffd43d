// A folder of images sorted into one subfolder per class, read as torchvision's
// datasets.ImageFolder reads it: the same classes, labels and samples in the same order.
//
//   root/cat/001.jpg, root/cat/more/002.png, root/dog/a.jpeg, ...
//
// Classes are the immediate subfolders of root (symlinks to folders included, hidden
// ones too, as os.scandir + is_dir finds them), sorted by name in byte order (Python's
// sorted() on str for UTF-8 names); a class's label is its position in that order.
// The samples are, class after class, every file below the class folder (symlinked
// folders followed) whose name ends, ignoring ASCII case, in one of .jpg .jpeg .png
// .ppm .bmp .pgm .tif .tiff .webp; within a class, folders come in the order of their
// full path strings and files by name within a folder, which is the order of
// torchvision's sorted(os.walk(...)) + sorted(fnames).
//
// Where Tessera departs from torchvision, on purpose:
//  - a folder that cannot be listed is an error (os.walk skips it silently);
//  - a symlink back to one of its own ancestor folders is not followed (os.walk
//    follows it until the path is too long, repeating the samples below it);
//  - names that are not valid UTF-8 sort by bytes, not as Python's surrogate escapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/data/dataset.h"

namespace tessera::data {

class ImageFolderDataset : public Dataset {
 public:
  // Lists root's classes and samples (no image is opened). Throws tessera::Error when
  // root is missing or not a folder, has no class folder, or has a class folder with
  // no image file (torchvision refuses those too), naming the folders.
  explicit ImageFolderDataset(const std::string& root);

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  // Decodes sample `index` as RGB (3, H, W); BadSample when the file does not decode.
  int64_t read(int64_t index, Image& image) const override;
  std::string describe(int64_t index) const override { return path(index); }

  std::string path(int64_t index) const;           // root + "/" + relative_path(index)
  std::string relative_path(int64_t index) const;  // "<class>/<subfolders>/<file>"
  int64_t label(int64_t index) const { return labels_[static_cast<size_t>(index)]; }

 private:
  std::string root_;
  std::vector<std::string> class_names_;
  // The relative paths of all samples end to end, sample i at [offsets_[i], offsets_[i+1]):
  // ImageNet's 1.28M paths take 40 MB this way instead of ~130 MB as strings.
  std::string relative_paths_;
  std::vector<uint64_t> offsets_;
  std::vector<int32_t> labels_;
};

}  // namespace tessera::data
