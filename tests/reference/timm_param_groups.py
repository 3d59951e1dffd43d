"""timm's layer-decay parameter groups, per parameter, as JSON on stdout (run at test time).

Usage: python timm_param_groups.py MODEL LAYER_DECAY WEIGHT_DECAY
Prints {"param name": [lr_scale, weight_decay], ...} from
timm.optim.param_groups_layer_decay(model, weight_decay, model.no_weight_decay(), layer_decay).
"""
import json
import sys

import timm
import torch
from timm.optim._param_groups import param_groups_layer_decay


def main():
    name, layer_decay, weight_decay = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    with torch.device("meta"):  # only names and shapes are needed
        model = timm.create_model(name)
    groups = param_groups_layer_decay(model, weight_decay=weight_decay,
                                      no_weight_decay_list=model.no_weight_decay(), layer_decay=layer_decay)
    by_tensor = {id(p): (g["lr_scale"], g["weight_decay"]) for g in groups for p in g["params"]}
    print(json.dumps({n: by_tensor[id(p)] for n, p in model.named_parameters()}))


if __name__ == "__main__":
    main()
