// Class labels given on the command line: "--labels cat,dog,bird" or a file with one
// label per line (--labels-file), for CLIP zero-shot scoring and for naming a bundle's
// classes.
#pragma once

#include <string>
#include <vector>

namespace tessera::serve {

// The labels of a comma-separated list (each trimmed of surrounding spaces) or, when
// `file` is set, of the file's lines (trimmed; blank lines skipped). Giving both, an
// empty label in the list, or a file that cannot be read is a tessera::Error.
// Neither given: an empty list.
std::vector<std::string> read_labels(const std::string& list, const std::string& file);

}  // namespace tessera::serve
