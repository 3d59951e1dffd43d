# What third_party/setup.sh installs; sourced by the scripts that need the paths.
# The virtual environment lives outside the clone so every clone on the machine reuses it.
TESSERA_VENV="${TESSERA_VENV:-$HOME/.cache/tessera/venv}"

DEBIAN_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config python3-venv
  libopencv-dev libyaml-cpp-dev libspdlog-dev libgtest-dev libcli11-dev
  nlohmann-json3-dev libcpp-httplib-dev zlib1g-dev
  libgloo-dev  # Gloo's headers for c10d's ProcessGroupGloo (the torch wheel ships none)
  dataset-fashion-mnist
)

# torch carries LibTorch (headers, libraries, share/cmake) for the C++ build; the rest
# are the reference implementations used by tests and benchmarks at run time only.
PYTHON_PACKAGES=(
  torch==2.15.0
  timm==1.0.31
  open_clip_torch==3.3.0
  safetensors==0.8.0
  tensorboard==2.21.0
  numpy
  onnx==1.23.2         # scripts/export_onnx.py
  onnxruntime==1.32.0  # the ONNX export test runs the graphs
)
