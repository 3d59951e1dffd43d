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
      {"cifar100", DatasetKind::CIFAR100}};
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

}  // namespace tessera::config
