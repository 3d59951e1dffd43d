// Colour adjustments of uint8 images with the semantics of torchvision.transforms.v2
// .functional on uint8 tensors (not PIL's ImageEnhance, which rounds where these
// truncate and takes the contrast mean from PIL's own grey conversion).
//
// Every op computes in float32 as torchvision does and converts back to uint8 as a
// uint8 tensor's .to(torch.uint8) does: clamp to [0, 255], then truncate toward zero.
// A blend is ratio * image + (1 - ratio) * other, with the product by ratio rounded
// first and the rest fused (torch's vectorized add with alpha). The results are
// torchvision's bit for bit (tests/unit/color_ops_test.cpp). Images have 1 or 3
// channels (R, G, B planes); the adjustments work in place and allocate nothing.
//
// For RandAugment's Color / Contrast / Brightness (PIL semantics) see augment_color.h.
#pragma once

#include "tessera/data/image.h"

namespace tessera::data {

// adjust_brightness: v * factor (a blend with black). factor >= 0.
void adjust_brightness(Image& image, double factor);

// adjust_contrast: blend with the mean of the grey image (3 channels: the mean of
// floor(rgb_to_grayscale) in float; 1 channel: the mean of the image). factor >= 0.
void adjust_contrast(Image& image, double factor);

// adjust_saturation: blend each channel with floor(grey) of the same pixel, grey as in
// rgb_to_grayscale. factor >= 0. A 1-channel image is left as it is (as torchvision).
void adjust_saturation(Image& image, double factor);

// adjust_hue: RGB → HSV (v / 255 in float), hue shifted by `hue_factor` modulo 1,
// HSV → RGB, back to uint8 as trunc(x * 255.999) (torchvision's to_dtype). hue_factor
// in [-0.5, 0.5]. A 1-channel image is left as it is.
void adjust_hue(Image& image, double hue_factor);

// rgb_to_grayscale(num_output_channels=1): trunc(0.2989 R + 0.587 G + 0.114 B) into a
// 1-channel `dst` (its buffer reused); a 1-channel `src` is copied.
void rgb_to_grayscale(const Image& src, Image& dst);

}  // namespace tessera::data
