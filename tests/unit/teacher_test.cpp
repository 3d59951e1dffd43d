// The distillation teacher from each place distill.teacher_weights may name: a run folder
// (architecture from its config.yaml), a bundle folder (from tessera.json), a weights file
// (from distill.teacher); and the mistakes: a missing path, a file without an
// architecture, a run without weights, a teacher for other classes.
#include <gtest/gtest.h>

#include <fstream>

#include "fixtures/error_of.h"
#include "fixtures/tiny_classifier.h"
#include "test_env.h"
#include "tessera/config/load.h"
#include "tessera/models/registry.h"
#include "tessera/train/checkpoint.h"
#include "tessera/train/teacher.h"

namespace tessera::train {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

config::ModelConfig teacher_model() { return testing::tiny_classifier_config(); }

// The student's filled model section: the teacher defaults to its classes and channels.
config::ModelConfig student_model() {
  config::ModelConfig m;
  m.name = "deit_tiny_distilled_patch16_224";
  m.num_classes = 3;
  m.in_chans = 1;
  return m;
}

// Weights of a freshly built teacher, saved to `path`; returns the model.
models::ImageClassifier saved_teacher(const fs::path& path) {
  at::manual_seed(5);
  auto model = models::create(teacher_model());
  fs::create_directories(path.parent_path());
  save_weights(*model, path);
  return model;
}

void expect_same_weights(models::ImageClassifierImpl& a, models::ImageClassifierImpl& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(at::equal(item.value(), pb[item.key()])) << item.key();
}

config::DistillConfig distill_from(const fs::path& where) {
  config::DistillConfig d;
  d.type = config::DistillType::Hard;
  d.teacher_weights = where.string();
  return d;
}

TEST(Teacher, FromARunFolder) {
  const auto run = testing::scratch_dir() / "runs" / "teacher";
  const auto model = saved_teacher(run / "checkpoints" / "last.safetensors");
  config::RecipeConfig recipe;
  recipe.model = teacher_model();
  std::ofstream(run / "config.yaml") << config::to_yaml(recipe);
  const auto source = resolve_teacher(distill_from(run));
  EXPECT_EQ(source.model.name, "vit");
  EXPECT_EQ(source.model.embed_dim, 16);
  EXPECT_EQ(source.weights, run / "checkpoints" / "last.safetensors");
  auto teacher = load_teacher(distill_from(run), student_model());
  expect_same_weights(*teacher, *model);

  // The teacher's classes must be the student's.
  auto other = student_model();
  other.num_classes = 5;
  recipe.model.num_classes.reset();  // from the student, then the file's head does not fit
  std::ofstream(run / "config.yaml") << config::to_yaml(recipe);
  const auto message = error_of([&] { load_teacher(distill_from(run), other); });
  EXPECT_NE(message.find("does not fit the student's 5 classes"), std::string::npos) << message;
}

TEST(Teacher, FromABundleFolder) {
  const auto bundle = testing::scratch_dir() / "bundle";
  const auto model = saved_teacher(bundle / "model.safetensors");
  std::ofstream(bundle / "tessera.json")
      << R"({"format": "tessera-bundle", "model": {"name": "vit", "img_size": 8, "patch_size": 4, "in_chans": 1,)"
         R"( "num_classes": 3, "embed_dim": 16, "depth": 1, "num_heads": 2}})";
  auto teacher = load_teacher(distill_from(bundle), student_model());
  expect_same_weights(*teacher, *model);
  EXPECT_EQ(resolve_teacher(distill_from(bundle)).origin, "bundle " + bundle.string());
}

TEST(Teacher, FromAWeightsFileWithItsArchitecture) {
  const auto file = testing::scratch_dir() / "teacher.safetensors";
  const auto model = saved_teacher(file);
  auto distill = distill_from(file);
  auto message = error_of([&] { resolve_teacher(distill); });
  EXPECT_NE(message.find("distill.teacher: is needed with a weights file"), std::string::npos) << message;
  distill.teacher = teacher_model();
  distill.teacher->num_classes.reset();  // taken from the student
  auto teacher = load_teacher(distill, student_model());
  expect_same_weights(*teacher, *model);
}

TEST(Teacher, MissingPlacesAreExplained) {
  const auto dir = testing::scratch_dir();
  auto message = error_of([&] { resolve_teacher(distill_from(dir / "nowhere")); });
  EXPECT_NE(message.find("distill.teacher_weights: no such file or folder"), std::string::npos) << message;
  message = error_of([&] { resolve_teacher(distill_from(dir)); });
  EXPECT_NE(message.find("neither a run folder"), std::string::npos) << message;
  const auto run = dir / "empty_run";
  fs::create_directories(run);
  std::ofstream(run / "config.yaml") << "model: {name: vit}\n";
  message = error_of([&] { resolve_teacher(distill_from(run)); });
  EXPECT_NE(message.find("run folder without weights"), std::string::npos) << message;
}

}  // namespace
}  // namespace tessera::train
