// Writing a file so that readers (and a crash) see the old contents or the new, never half.
#pragma once

#include <filesystem>
#include <string_view>

namespace tessera::core {

// Writes `bytes` to "<path>.tmp.<pid>" in the same folder, fsyncs it and renames it
// over `path`. On failure the temporary is removed, `path` is left as it was, and a
// tessera::Error naming `path` is thrown. Two threads of one process must not write
// the same path at once (they would share the temporary).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// fsyncs the folder `dir`, so the entries renamed or created in it are on disk too. Best
// effort: some file systems refuse fsync on a folder, and an error is ignored.
void sync_folder(const std::filesystem::path& dir);

}  // namespace tessera::core
