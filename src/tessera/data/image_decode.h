// Decoding image files (JPEG, PNG, BMP, WebP, TIFF, PPM/PGM) into channel-planar RGB
// with OpenCV, the way torchvision's ImageFolder loader sees them (PIL's
// Image.open(f).convert("RGB")), and reading an image's size from its header alone.
//
// What comes out matches PIL's convert("RGB"): EXIF orientation is ignored (PIL's
// open does not apply it), alpha is dropped (not composited), gray is copied into
// three equal channels, palette images are expanded, and 16-bit PNGs keep the high
// byte of each sample (v >> 8), as PIL does for 16-bit RGB, RGBA and gray+alpha.
// One difference: PIL turns a 16-bit *gray* PNG ("I;16") into RGB by clamping each
// sample to 255, which whitens the picture; Tessera keeps the high byte there too.
// JPEG pixels come from the system's libjpeg-turbo, PIL's from its bundled one; with
// the same default IDCT and upsampling they agree exactly on the files tested (4:4:4,
// 4:2:2, 4:2:0, progressive, gray); other builds may differ by a level or two.
//
// The functions are safe to call from many threads at once (the loader's workers). The
// first decode sets OpenCV, process-wide, to run each call on the calling thread
// (cv::setNumThreads(0)): the workers are the parallelism (see image_decode.cpp).
// OpenCV's decoders print a line to stderr for some broken files ("libpng error: ...");
// the BadSample thrown is what counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "tessera/data/image.h"

namespace tessera::data {

// Bounds checked before anything is decoded, so that a small file claiming a huge
// picture (a 20000x20000 PNG header is 33 bytes) cannot make a server allocate it.
struct DecodeLimits {
  int64_t max_pixels = 0;  // width * height above this is refused; 0: only OpenCV's own limit (2^30)
};

// Decodes the encoded image `data[0, size)` into `out` as 3-channel RGB, (3, H, W),
// reusing out's buffer. `where` names the image in messages (its path, "request body").
// Throws BadSample naming `where` and the reason when the bytes are empty, not an
// image, truncated (a JPEG without its end marker, as PIL refuses them too), corrupt,
// or larger than limits.max_pixels (read from the header, before decoding).
void decode_image(const uint8_t* data, size_t size, Image& out, const std::string& where,
                  const DecodeLimits& limits = {});

// Reads the file at `path` and decodes it as decode_image does. A file that cannot be
// opened or read is a BadSample too (the loader may skip it), naming the path.
void read_image_file(const std::string& path, Image& out, const DecodeLimits& limits = {});

// The (width, height) an image's header declares, read without decoding: PNG (IHDR),
// JPEG (the first SOF segment), BMP, WebP (VP8, VP8L, VP8X) and GIF. nullopt for
// other formats and for headers that are cut short or inconsistent.
std::optional<std::pair<int64_t, int64_t>> peek_image_size(const uint8_t* data, size_t size);

}  // namespace tessera::data
