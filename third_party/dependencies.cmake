# The Debian-packaged dependencies (installed by third_party/setup.sh).
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
# cpp-httplib as Debian ships it: httplib.h declares, libcpp-httplib.so implements. Its
# feature macros (pkg-config's cflags) change the classes' layout, so whatever includes
# httplib.h must be compiled with them (see CMakeLists.txt).
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED cpp-httplib)
# OpenCV (libopencv-dev): image decoding (imgcodecs) and pixel operations (imgproc).
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
