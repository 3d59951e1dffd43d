// The one name <-> enum table per recipe enum: how enums are spelled in YAML, on the
// command line and in logs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/config/recipe.h"

namespace tessera::config {

template <typename E>
struct EnumName {
  const char* name;
  E value;
};

// The table for enum E, in the order choices are listed in messages. Defined in
// names.cpp for each enum of recipe.h.
template <typename E>
const std::vector<EnumName<E>>& enum_names();

template <> const std::vector<EnumName<Precision>>& enum_names<Precision>();
template <> const std::vector<EnumName<AttentionBackend>>& enum_names<AttentionBackend>();
template <> const std::vector<EnumName<DeviceKind>>& enum_names<DeviceKind>();
template <> const std::vector<EnumName<DatasetKind>>& enum_names<DatasetKind>();
template <> const std::vector<EnumName<OptimizerKind>>& enum_names<OptimizerKind>();
template <> const std::vector<EnumName<ScheduleKind>>& enum_names<ScheduleKind>();
template <> const std::vector<EnumName<LrScaling>>& enum_names<LrScaling>();
template <> const std::vector<EnumName<GlobalPool>>& enum_names<GlobalPool>();
template <> const std::vector<EnumName<ProgressMode>>& enum_names<ProgressMode>();
template <> const std::vector<EnumName<MixupMode>>& enum_names<MixupMode>();
template <> const std::vector<EnumName<Interpolation>>& enum_names<Interpolation>();
template <> const std::vector<EnumName<NormalizePreset>>& enum_names<NormalizePreset>();
template <> const std::vector<EnumName<ErasingMode>>& enum_names<ErasingMode>();
template <> const std::vector<EnumName<BadSamplePolicy>>& enum_names<BadSamplePolicy>();
template <> const std::vector<EnumName<DistillType>>& enum_names<DistillType>();
template <> const std::vector<EnumName<KlNormalization>>& enum_names<KlNormalization>();
template <> const std::vector<EnumName<DistBackend>>& enum_names<DistBackend>();

// The YAML spelling of a value: to_string(Precision::BF16) == "bf16".
std::string to_string(Precision value);
std::string to_string(AttentionBackend value);
std::string to_string(DeviceKind value);
std::string to_string(DatasetKind value);
std::string to_string(OptimizerKind value);
std::string to_string(ScheduleKind value);
std::string to_string(LrScaling value);
std::string to_string(GlobalPool value);
std::string to_string(ProgressMode value);
std::string to_string(MixupMode value);
std::string to_string(Interpolation value);
std::string to_string(NormalizePreset value);
std::string to_string(ErasingMode value);
std::string to_string(BadSamplePolicy value);
std::string to_string(DistillType value);
std::string to_string(KlNormalization value);
std::string to_string(DistBackend value);

// The mean and std of a normalization preset (imagenet: timm's IMAGENET_DEFAULT_*;
// clip: open_clip's OPENAI_DATASET_*; cifar10 / cifar100: the training sets' per-channel
// statistics; half: 0.5 / 0.5).
std::pair<std::vector<double>, std::vector<double>> normalize_preset(NormalizePreset preset);

// The value spelled `name` (exact spelling), or nullopt: from_string<Precision>("bf16").
template <typename E>
std::optional<E> from_string(std::string_view name) {
  for (const auto& entry : enum_names<E>()) {
    if (name == entry.name) return entry.value;
  }
  return std::nullopt;
}

// Every spelling of E, in table order: {"fp32", "bf16", "fp16"}.
template <typename E>
std::vector<std::string> names_of() {
  std::vector<std::string> names;
  for (const auto& entry : enum_names<E>()) names.emplace_back(entry.name);
  return names;
}

}  // namespace tessera::config
