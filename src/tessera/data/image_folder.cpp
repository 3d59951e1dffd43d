// The class-per-subfolder image dataset, listed as torchvision's ImageFolder lists it (see image_folder.h).
#include "tessera/data/image_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "tessera/core/error.h"
#include "tessera/core/suggest.h"
#include "tessera/data/image_decode.h"

namespace tessera::data {
namespace fs = std::filesystem;

namespace {

// One folder below a class folder: its path relative to the class folder ("" for the
// class folder itself, "/sub", "/sub/deeper") and the names of its non-folder entries.
struct Folder {
  std::string relative;
  std::vector<std::string> files;
};

struct FileId {
  dev_t device;
  ino_t inode;
  bool operator==(const FileId&) const = default;
};

// The file name endings ImageFolder keeps (torchvision's IMG_EXTENSIONS).
const std::vector<std::string>& image_folder_extensions() {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".png",  ".ppm", ".bmp",
                                                      ".pgm", ".tif",  ".tiff", ".webp"};
  return extensions;
}

bool has_image_extension(const std::string& name) {
  // Python's name.lower().endswith(ext); the endings are ASCII, so ASCII lower-casing is the same test.
  for (const auto& ext : image_folder_extensions()) {
    if (name.size() < ext.size()) continue;
    bool match = true;
    for (size_t i = 0; i < ext.size() && match; ++i) {
      char c = name[name.size() - ext.size() + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      match = c == ext[i];
    }
    if (match) return true;
  }
  return false;
}

// Lists `dir` into `folders` and descends into its subfolders, following symlinks as
// os.walk(followlinks=True) does, but never into a folder that is one of its own
// ancestors (`ancestors`: the folders on the way down, by device and inode).
void walk(const fs::path& dir, const std::string& relative, std::vector<FileId>& ancestors,
          std::vector<Folder>& folders) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) return;  // vanished while listing
  const FileId id{info.st_dev, info.st_ino};
  if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end()) return;  // a symlink loop

  Folder folder{relative, {}};
  std::vector<std::string> subfolders;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw Error(dir.string(), "cannot be listed: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    std::string name = it->path().filename().string();
    // is_directory follows symlinks; a broken link is a file, as for os.walk.
    if (it->is_directory(type_ec)) {
      subfolders.push_back(std::move(name));
    } else {
      folder.files.push_back(std::move(name));
    }
  }
  if (ec) throw Error(dir.string(), "cannot be listed: " + ec.message());
  folders.push_back(std::move(folder));

  ancestors.push_back(id);
  for (const auto& name : subfolders) walk(dir / name, relative + "/" + name, ancestors, folders);
  ancestors.pop_back();
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(const std::string& root) : root_(root) {
  // os.path.join(root, class) adds no second '/' after a root that ends in one.
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  const std::string expected_layout =
      "an image folder holds one subfolder per class with the images below it, e.g. " + root_ + "/cat/001.jpg";
  std::error_code ec;
  if (!fs::exists(root_, ec)) throw Error(root_, "image folder not found; " + expected_layout);
  if (!fs::is_directory(root_, ec)) throw Error(root_, "is not a folder; " + expected_layout);

  fs::directory_iterator it(root_, ec);
  if (ec) throw Error(root_, "cannot be listed: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) class_names_.push_back(it->path().filename().string());
  }
  if (ec) throw Error(root_, "cannot be listed: " + ec.message());
  if (class_names_.empty()) throw Error(root_, "has no class folders; " + expected_layout);
  std::sort(class_names_.begin(), class_names_.end());

  std::vector<std::string> empty_classes;
  offsets_.push_back(0);
  for (size_t label = 0; label < class_names_.size(); ++label) {
    const std::string& name = class_names_[label];
    std::vector<Folder> folders;
    std::vector<FileId> ancestors;
    walk(fs::path(root_) / name, "", ancestors, folders);
    std::sort(folders.begin(), folders.end(), [](const Folder& a, const Folder& b) { return a.relative < b.relative; });
    const size_t before = labels_.size();
    for (auto& folder : folders) {
      std::sort(folder.files.begin(), folder.files.end());
      for (const auto& file : folder.files) {
        if (!has_image_extension(file)) continue;
        relative_paths_ += name;
        relative_paths_ += folder.relative;
        relative_paths_ += '/';
        relative_paths_ += file;
        offsets_.push_back(relative_paths_.size());
        labels_.push_back(static_cast<int32_t>(label));
      }
    }
    if (labels_.size() == before) empty_classes.push_back(root_ + "/" + name);
  }
  if (!empty_classes.empty()) {
    throw Error(empty_classes.front(),
                "class folder has no image file (" + core::join(image_folder_extensions(), " ") +
                    "); every class needs one, as for torchvision's ImageFolder. Empty: " + core::join(empty_classes));
  }
}

std::string ImageFolderDataset::relative_path(int64_t index) const {
  const auto i = static_cast<size_t>(index);
  return relative_paths_.substr(offsets_[i], offsets_[i + 1] - offsets_[i]);
}

std::string ImageFolderDataset::path(int64_t index) const { return root_ + "/" + relative_path(index); }

int64_t ImageFolderDataset::read(int64_t index, Image& image) const {
  read_image_file(path(index), image);
  return labels_[static_cast<size_t>(index)];
}

}  // namespace tessera::data
