// The one name <-> enum table per recipe enum: how enums are spelled in YAML, on the
// command line and in logs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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
