// A decoded image in memory: uint8 pixels, channel-planar (C, H, W), the layout of
// torchvision's uint8 tensors and of the batches the models take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera::data {

struct Image {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  // channels * height * width bytes, plane after plane

  // Sets the size, keeping the buffer's capacity (a worker reuses one Image per sample).
  void resize(int64_t c, int64_t h, int64_t w) {
    channels = c;
    height = h;
    width = w;
    pixels.resize(static_cast<size_t>(c * h * w));
  }
  int64_t plane_size() const { return height * width; }
  uint8_t* plane(int64_t c) { return pixels.data() + c * height * width; }
  const uint8_t* plane(int64_t c) const { return pixels.data() + c * height * width; }
  uint8_t& at(int64_t c, int64_t y, int64_t x) { return pixels[static_cast<size_t>((c * height + y) * width + x)]; }
  uint8_t at(int64_t c, int64_t y, int64_t x) const {
    return pixels[static_cast<size_t>((c * height + y) * width + x)];
  }
};

// Throws c10::Error, the message starting with `op`, unless `image` has 1 or 3 channels
// and exactly channels * height * width bytes of pixels.
void check_image(const Image& image, const char* op);

}  // namespace tessera::data
