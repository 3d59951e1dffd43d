// A small counter-based random generator (splitmix64) for shuffling and augmentation.
//
// Why not std::mt19937 + std::uniform_int_distribution or at::Generator: the
// loader needs one independent stream per (seed, epoch, sample position), made
// cheaply on any worker thread, and the numbers must be the same on every
// platform and standard library so a resumed or re-run training sees identical
// batches. splitmix64 is a few multiplies per draw, and hashing the counters
// into its state gives a fresh stream per sample.
#pragma once

#include <cstdint>

namespace tessera::data {

class SampleRng {
 public:
  // What a stream is used for, so shuffle and augmentation never share numbers.
  enum class Stream : uint64_t { Shuffle = 1, Augment = 2, Mixup = 3 };

  explicit SampleRng(uint64_t state) : state_(state) {}

  // The stream for one (seed, purpose, epoch, position in the epoch). It depends
  // on nothing else, in particular not on which thread draws from it.
  static SampleRng derive(uint64_t seed, Stream stream, uint64_t epoch, uint64_t position) {
    uint64_t h = mix(seed);
    h = mix(h ^ static_cast<uint64_t>(stream));
    h = mix(h ^ epoch);
    h = mix(h ^ position);
    return SampleRng(h);
  }

  uint64_t next() {
    state_ += kGolden;
    return mix_state(state_);
  }

  // Uniform in [0, n), n > 0. Multiply-shift (Lemire) without the rejection
  // step: the bias is below n / 2^64, far under anything a crop offset can show.
  int64_t below(int64_t n) {
    const unsigned __int128 wide = static_cast<unsigned __int128>(next()) * static_cast<uint64_t>(n);
    return static_cast<int64_t>(wide >> 64);
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  bool bernoulli(double p) { return uniform() < p; }

 private:
  static constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

  // splitmix64's output function: a bijective avalanche of the 64-bit state.
  static uint64_t mix_state(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static uint64_t mix(uint64_t x) { return mix_state(x + kGolden); }

  uint64_t state_;
};

}  // namespace tessera::data
