// The distillation teacher named by a recipe's distill section: where its architecture
// and weights come from (a run folder, a bundle folder or a weights file), built and loaded.
#pragma once

#include <filesystem>
#include <string>

#include "tessera/config/recipe.h"
#include "tessera/models/image_classifier.h"

namespace tessera::train {

struct TeacherSource {
  config::ModelConfig model;      // the teacher's model section
  std::filesystem::path weights;  // a safetensors file with timm's names
  std::string origin;             // "run runs/swin", "bundle out/swin", "file t.safetensors", for the log
};

// distill.teacher_weights resolved:
//  - a run folder: its config.yaml's model section, checkpoints/last.safetensors (else the
//    newest complete step checkpoint);
//  - a bundle folder (tessera.json + model.safetensors): tessera.json's model section;
//  - a safetensors file: distill.teacher must say what model it is.
// distill.teacher, when set, is the architecture in every case. A missing path, a run
// without weights or a file without distill.teacher is a tessera::Error naming the key.
TeacherSource resolve_teacher(const config::DistillConfig& distill);

// The teacher built and loaded (models::load_pretrained: timm's names, a DDP prefix
// dropped, pos_embed resampled to another grid). Its num_classes and in_chans default to
// the student's (`student`, already filled from the data). A classifier head that does
// not fit the file is an error: a teacher with a fresh head teaches nothing.
models::ImageClassifier load_teacher(const config::DistillConfig& distill, const config::ModelConfig& student);

}  // namespace tessera::train
