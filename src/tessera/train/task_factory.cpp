// Building a recipe's task (see task_factory.h).
#include "tessera/train/task_factory.h"

#include "tessera/core/error.h"
#include "tessera/models/clip.h"
#include "tessera/models/clip_pretrained.h"
#include "tessera/models/pretrained.h"
#include "tessera/models/registry.h"
#include "tessera/train/classification_task.h"
#include "tessera/train/contrastive_task.h"
#include "tessera/train/distillation_task.h"
#include "tessera/train/teacher.h"

namespace tessera::train {

namespace {

std::string size_text(int64_t channels, int64_t height, int64_t width) {
  return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

// A model that cannot take the data's images or predict its classes is the recipe's
// mistake: say which key to change.
void check_classifier_fits_data(const models::ImageClassifierImpl& model, const data::Pipeline& data) {
  if (model.img_size() != data.height || model.img_size() != data.width) {
    throw Error("model.img_size", "the model takes " + std::to_string(model.img_size()) + "x" +
                                      std::to_string(model.img_size()) + " images but the data's are " +
                                      std::to_string(data.height) + "x" + std::to_string(data.width) +
                                      "; set model.img_size: " + std::to_string(data.height));
  }
  if (model.in_chans() != data.channels) {
    throw Error("model.in_chans", "the model takes " + std::to_string(model.in_chans()) +
                                      " channels but the data has " + std::to_string(data.channels));
  }
  if (model.num_classes() != data.num_classes) {
    throw Error("model.num_classes", "the model has " + std::to_string(model.num_classes()) +
                                         " outputs but the data has " + std::to_string(data.num_classes) +
                                         " classes");
  }
}

void check_clip_fits_data(const models::ClipImpl& clip, const data::Pipeline& data) {
  const auto& v = clip.options.vision();
  if (v.image_size() != data.height || v.image_size() != data.width || v.in_chans() != data.channels) {
    throw Error("model.vision.image_size", "the image tower takes " +
                                               size_text(v.in_chans(), v.image_size(), v.image_size()) +
                                               " images but the data's are " +
                                               size_text(data.channels, data.height, data.width) +
                                               " (data.image_size, data.channels)");
  }
  if (!data.train->dataset().has_captions()) {
    throw Error("data.dataset", "CLIP trains on image-caption pairs: use data.dataset: image_text");
  }
}

}  // namespace

bool is_clip(const config::ModelConfig& model) { return models::find_model(model.name).family == "clip"; }

data::ModelInput model_input(const config::ModelConfig& model) {
  if (!is_clip(model)) return {model.img_size, model.in_chans};
  const auto options = models::clip_options(model);
  return {options.vision().image_size(), options.vision().in_chans()};
}

config::ModelConfig fill_from_data(config::ModelConfig model, const data::Pipeline& data) {
  if (!model.num_classes && !is_clip(model)) model.num_classes = data.num_classes;
  if (!model.in_chans) model.in_chans = data.channels;
  return model;
}

std::unique_ptr<Task> build_task(const config::RecipeConfig& config, const data::Pipeline& data, c10::Device device,
                                 bool load_pretrained) {
  if (is_clip(config.model)) {
    if (config.distill.type != config::DistillType::None) {
      throw Error("distill.type", "distillation trains image classifiers; a CLIP trains contrastively");
    }
    auto clip = models::create_clip(config.model);
    check_clip_fits_data(*clip, data);
    if (config.model.pretrained && load_pretrained) models::load_clip_pretrained(*clip, *config.model.pretrained);
    auto tokenizer = std::make_shared<const text::BpeTokenizer>();
    return std::make_unique<ContrastiveTask>(config, clip, tokenizer, device);
  }
  if (config.clip.lock_image) throw Error("clip.lock_image", "applies to CLIP models only");
  auto model = models::create(config.model);
  check_classifier_fits_data(*model, data);
  if (config.model.pretrained && load_pretrained) models::load_pretrained(*model, *config.model.pretrained);
  if (config.distill.type == config::DistillType::None) {
    return std::make_unique<ClassificationTask>(config, model, device);
  }
  auto teacher = load_teacher(config.distill, config.model);
  return std::make_unique<DistillationTask>(config, model, teacher, device);
}

}  // namespace tessera::train
