// Broadcasting rank 0's replica (see broadcast.h).
#include "tessera/dist/broadcast.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "tessera/core/error.h"

namespace tessera::dist {
namespace {

// One number per tensor that changes with its name, dtype or shape (FNV-1a).
int64_t signature(const std::string& name, const at::Tensor& t) {
  uint64_t h = 1469598103934665603ULL;
  auto add = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ULL;
    }
  };
  for (const char c : name) add(static_cast<unsigned char>(c));
  add(static_cast<uint64_t>(t.scalar_type()));
  for (const int64_t d : t.sizes()) add(static_cast<uint64_t>(d));
  return static_cast<int64_t>(h >> 1);
}


// Sends rank `root`'s `tensors` to every rank, in flat buckets of about bucket_bytes
// (consecutive tensors of one dtype). Every rank passes tensors of the same shapes and
// dtypes in the same order, on group.device().
void broadcast_tensors(ProcessGroup& group, const std::vector<at::Tensor>& tensors, int64_t root,
                       int64_t bucket_bytes, const std::string& what) {
  TORCH_CHECK(bucket_bytes > 0, "broadcast_tensors: bucket_bytes must be positive, got ", bucket_bytes);
  at::NoGradGuard no_grad;
  size_t begin = 0;
  int64_t bucket = 0;
  while (begin < tensors.size()) {
    size_t end = begin;
    int64_t bytes = 0;
    while (end < tensors.size() && tensors[end].scalar_type() == tensors[begin].scalar_type() &&
           (end == begin || bytes < bucket_bytes)) {
      bytes += static_cast<int64_t>(tensors[end].nbytes());
      ++end;
    }
    std::vector<at::Tensor> flat_parts;
    for (size_t i = begin; i < end; ++i) flat_parts.push_back(tensors[i].detach().reshape(-1));
    at::Tensor flat = at::cat(flat_parts);
    group.broadcast(flat, root, fmt::format("broadcast of {} (bucket {})", what, bucket)).wait();
    if (group.rank() != root) {
      int64_t offset = 0;
      for (size_t i = begin; i < end; ++i) {
        const int64_t n = tensors[i].numel();
        tensors[i].detach().copy_(flat.narrow(0, offset, n).view(tensors[i].sizes()));
        offset += n;
      }
    }
    begin = end;
    ++bucket;
  }
}

// Checks that every rank has the same named tensors (names, dtypes and shapes, in
// order) as rank 0; a rank whose replica differs throws a tessera::Error that names its
// first differing tensor, and every other rank throws too, so none waits forever.
void check_same_tensors(ProcessGroup& group, const std::vector<std::pair<std::string, at::Tensor>>& named) {
  const c10::Device device = group.device();
  at::Tensor count = at::tensor({static_cast<int64_t>(named.size())}, at::kLong).to(device);
  group.broadcast(count, 0, "broadcast of rank 0's tensor count").wait();
  const int64_t root_count = count.item<int64_t>();

  // Rank 0's signatures, in a buffer of rank 0's length on every rank.
  std::vector<int64_t> mine(named.size());
  for (size_t i = 0; i < named.size(); ++i) mine[i] = signature(named[i].first, named[i].second);
  std::vector<int64_t> buffer(static_cast<size_t>(root_count), 0);
  const int64_t common = std::min<int64_t>(root_count, static_cast<int64_t>(mine.size()));
  std::copy(mine.begin(), mine.begin() + common, buffer.begin());
  at::Tensor theirs = at::tensor(buffer, at::kLong).to(device);
  if (root_count > 0) group.broadcast(theirs, 0, "broadcast of rank 0's tensor shapes").wait();
  theirs = theirs.cpu();
  const int64_t* root_signatures = theirs.data_ptr<int64_t>();

  std::string problem;
  for (int64_t i = 0; i < common && problem.empty(); ++i) {
    if (root_signatures[i] != mine[i]) {
      const auto& [name, t] = named[i];
      problem = fmt::format("tensor {} here is '{}' ({}, {}), rank 0 has another name, dtype or shape there", i,
                            name, c10::toString(t.scalar_type()), fmt::join(t.sizes(), "x"));
    }
  }
  if (problem.empty() && root_count != static_cast<int64_t>(mine.size())) {
    problem = fmt::format("{} parameters and buffers here, {} on rank 0", mine.size(), root_count);
  }
  // Everyone learns whether anyone differs, so no rank goes on to wait for the others.
  const double differing = group.sum({problem.empty() ? 0.0 : 1.0}, "all-reduce of the replica check")[0];
  if (!problem.empty()) {
    throw Error(fmt::format("rank {}", group.rank()),
                "the model differs from rank 0's: " + problem + "; every rank must build it from the same recipe");
  }
  if (differing > 0) {
    throw Error(fmt::format("rank {}", group.rank()),
                fmt::format("{} rank(s) built a model that differs from rank 0's (see their errors)", differing));
  }
}

}  // namespace

void broadcast_module(ProcessGroup& group, const torch::nn::Module& module, int64_t bucket_bytes) {
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& p : module.named_parameters()) named.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) named.emplace_back(b.key(), b.value());
  check_same_tensors(group, named);
  std::vector<at::Tensor> tensors;
  for (const auto& [name, t] : named) tensors.push_back(t);
  broadcast_tensors(group, tensors, 0, bucket_bytes, "rank 0's parameters and buffers");
}

}  // namespace tessera::dist
