// The name <-> enum tables of the recipe's enums.
#include "tessera/config/names.h"

namespace tessera::config {

template <>
const std::vector<EnumName<Precision>>& enum_names<Precision>() {
  static const std::vector<EnumName<Precision>> table = {
      {"fp32", Precision::FP32}, {"bf16", Precision::BF16}, {"fp16", Precision::FP16}};
  return table;
}

template <>
const std::vector<EnumName<AttentionBackend>>& enum_names<AttentionBackend>() {
  static const std::vector<EnumName<AttentionBackend>> table = {
      {"auto", AttentionBackend::Auto},
      {"flash", AttentionBackend::Flash},
      {"efficient", AttentionBackend::Efficient},
      {"math", AttentionBackend::Math}};
  return table;
}

template <>
const std::vector<EnumName<DeviceKind>>& enum_names<DeviceKind>() {
  static const std::vector<EnumName<DeviceKind>> table = {
      {"auto", DeviceKind::Auto}, {"cpu", DeviceKind::CPU}, {"cuda", DeviceKind::CUDA}};
  return table;
}

template <>
const std::vector<EnumName<DatasetKind>>& enum_names<DatasetKind>() {
  static const std::vector<EnumName<DatasetKind>> table = {
      {"fashion_mnist", DatasetKind::FashionMNIST},
      {"mnist", DatasetKind::MNIST},
      {"cifar10", DatasetKind::CIFAR10},
      {"cifar100", DatasetKind::CIFAR100},
      {"image_folder", DatasetKind::ImageFolder},
      {"image_text", DatasetKind::ImageText}};
  return table;
}

template <>
const std::vector<EnumName<OptimizerKind>>& enum_names<OptimizerKind>() {
  static const std::vector<EnumName<OptimizerKind>> table = {
      {"adamw", OptimizerKind::AdamW}, {"sgd", OptimizerKind::SGD}};
  return table;
}

template <>
const std::vector<EnumName<LrScaling>>& enum_names<LrScaling>() {
  static const std::vector<EnumName<LrScaling>> table = {{"linear", LrScaling::Linear}, {"sqrt", LrScaling::Sqrt}};
  return table;
}

template <>
const std::vector<EnumName<ScheduleKind>>& enum_names<ScheduleKind>() {
  static const std::vector<EnumName<ScheduleKind>> table = {
      {"cosine", ScheduleKind::Cosine}, {"step", ScheduleKind::Step}, {"constant", ScheduleKind::Constant}};
  return table;
}

template <>
const std::vector<EnumName<GlobalPool>>& enum_names<GlobalPool>() {
  static const std::vector<EnumName<GlobalPool>> table = {
      {"token", GlobalPool::Token}, {"avg", GlobalPool::Avg}};
  return table;
}

template <>
const std::vector<EnumName<ProgressMode>>& enum_names<ProgressMode>() {
  static const std::vector<EnumName<ProgressMode>> table = {
      {"auto", ProgressMode::Auto}, {"bar", ProgressMode::Bar}, {"lines", ProgressMode::Lines}};
  return table;
}

template <>
const std::vector<EnumName<MixupMode>>& enum_names<MixupMode>() {
  static const std::vector<EnumName<MixupMode>> table = {
      {"batch", MixupMode::Batch}, {"pair", MixupMode::Pair}, {"elem", MixupMode::Elem}};
  return table;
}

template <>
const std::vector<EnumName<Interpolation>>& enum_names<Interpolation>() {
  static const std::vector<EnumName<Interpolation>> table = {
      {"bilinear", Interpolation::Bilinear}, {"bicubic", Interpolation::Bicubic}, {"nearest", Interpolation::Nearest}};
  return table;
}

template <>
const std::vector<EnumName<NormalizePreset>>& enum_names<NormalizePreset>() {
  static const std::vector<EnumName<NormalizePreset>> table = {{"imagenet", NormalizePreset::ImageNet},
                                                               {"clip", NormalizePreset::Clip},
                                                               {"cifar10", NormalizePreset::Cifar10},
                                                               {"cifar100", NormalizePreset::Cifar100},
                                                               {"half", NormalizePreset::Half}};
  return table;
}

template <>
const std::vector<EnumName<ErasingMode>>& enum_names<ErasingMode>() {
  static const std::vector<EnumName<ErasingMode>> table = {
      {"pixel", ErasingMode::Pixel}, {"rand", ErasingMode::Rand}, {"const", ErasingMode::Const}};
  return table;
}

template <>
const std::vector<EnumName<BadSamplePolicy>>& enum_names<BadSamplePolicy>() {
  static const std::vector<EnumName<BadSamplePolicy>> table = {{"skip", BadSamplePolicy::Skip},
                                                               {"fail", BadSamplePolicy::Fail}};
  return table;
}

template <>
const std::vector<EnumName<DistillType>>& enum_names<DistillType>() {
  static const std::vector<EnumName<DistillType>> table = {
      {"none", DistillType::None}, {"soft", DistillType::Soft}, {"hard", DistillType::Hard}};
  return table;
}

template <>
const std::vector<EnumName<KlNormalization>>& enum_names<KlNormalization>() {
  static const std::vector<EnumName<KlNormalization>> table = {{"sum_over_numel", KlNormalization::SumOverNumel},
                                                               {"batchmean", KlNormalization::BatchMean}};
  return table;
}

template <>
const std::vector<EnumName<DistBackend>>& enum_names<DistBackend>() {
  static const std::vector<EnumName<DistBackend>> table = {
      {"auto", DistBackend::Auto}, {"gloo", DistBackend::Gloo}, {"nccl", DistBackend::Nccl}};
  return table;
}

std::pair<std::vector<double>, std::vector<double>> normalize_preset(NormalizePreset preset) {
  switch (preset) {
    case NormalizePreset::ImageNet:
      return {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
    case NormalizePreset::Clip:
      return {{0.48145466, 0.4578275, 0.40821073}, {0.26862954, 0.26130258, 0.27577711}};
    case NormalizePreset::Cifar10:
      return {{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
    case NormalizePreset::Cifar100:
      return {{0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}};
    case NormalizePreset::Half:
      return {{0.5}, {0.5}};
  }
  return {{0.5}, {0.5}};
}

namespace {

template <typename E>
std::string name_in_table(E value) {
  for (const auto& entry : enum_names<E>()) {
    if (entry.value == value) return entry.name;
  }
  // Only reachable through a cast from an out-of-range integer.
  return "<invalid " + std::to_string(static_cast<int>(value)) + ">";
}

}  // namespace

std::string to_string(Precision value) { return name_in_table(value); }
std::string to_string(AttentionBackend value) { return name_in_table(value); }
std::string to_string(DeviceKind value) { return name_in_table(value); }
std::string to_string(DatasetKind value) { return name_in_table(value); }
std::string to_string(OptimizerKind value) { return name_in_table(value); }
std::string to_string(ScheduleKind value) { return name_in_table(value); }
std::string to_string(LrScaling value) { return name_in_table(value); }
std::string to_string(GlobalPool value) { return name_in_table(value); }
std::string to_string(ProgressMode value) { return name_in_table(value); }
std::string to_string(MixupMode value) { return name_in_table(value); }
std::string to_string(Interpolation value) { return name_in_table(value); }
std::string to_string(NormalizePreset value) { return name_in_table(value); }
std::string to_string(ErasingMode value) { return name_in_table(value); }
std::string to_string(BadSamplePolicy value) { return name_in_table(value); }
std::string to_string(DistillType value) { return name_in_table(value); }
std::string to_string(KlNormalization value) { return name_in_table(value); }
std::string to_string(DistBackend value) { return name_in_table(value); }

}  // namespace tessera::config
