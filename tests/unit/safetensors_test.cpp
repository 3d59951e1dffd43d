// Tests for safetensors read/write: round trips, a corpus of malformed files, mutation
// fuzzing, and files exchanged with the Python `safetensors` package.
#include "tessera/core/safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/core/error.h"
#include "test_env.h"

namespace fs = std::filesystem;
using tessera::core::load_safetensors;
using tessera::core::NamedTensors;
using tessera::core::parse_safetensors;
using tessera::core::save_safetensors;
using tessera::core::serialize_safetensors;
using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

namespace {

constexpr const char* kOrigin = "t.safetensors";

std::string le64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// A file with the given header text and data buffer, the length field set to match.
std::string make_file(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

NamedTensors parse(const std::string& bytes) {
  return parse_safetensors(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), kOrigin);
}

// Passes when parsing throws tessera::Error naming the file and saying `needle`.
::testing::AssertionResult rejected(const std::string& bytes, const std::string& needle) {
  try {
    parse(bytes);
    return ::testing::AssertionFailure() << "accepted a file that should be rejected for '" << needle << "'";
  } catch (const tessera::Error& e) {
    if (e.where().rfind(kOrigin, 0) != 0) {
      return ::testing::AssertionFailure() << "where() does not name the file: " << e.what();
    }
    if (std::string(e.what()).find(needle) == std::string::npos) {
      return ::testing::AssertionFailure() << "message lacks '" << needle << "': " << e.what();
    }
    return ::testing::AssertionSuccess() << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something other than tessera::Error: " << e.what();
  }
}

// Same dtype, shape and bytes (bitwise, so NaN and -0.0 count).
::testing::AssertionResult same_tensor(const at::Tensor& got, const at::Tensor& want) {
  if (got.scalar_type() != want.scalar_type() || got.sizes() != want.sizes()) {
    return ::testing::AssertionFailure() << "got " << got.toString() << got.sizes() << ", want "
                                         << want.toString() << want.sizes();
  }
  const at::Tensor a = got.contiguous().cpu(), b = want.contiguous().cpu();
  if (std::memcmp(a.const_data_ptr(), b.const_data_ptr(), a.nbytes()) != 0) {
    return ::testing::AssertionFailure() << "values differ";
  }
  return ::testing::AssertionSuccess();
}

// One tensor of every dtype, plus the shapes and layouts that trip writers up.
Tensors every_dtype() {
  at::manual_seed(0);
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"f32", at::randn({3, 4}, f32)},
      {"f64", at::randn({2, 3}, at::kDouble)},
      {"zero_rows", at::empty({0, 3}, f32)},  // zero-size tensors sit between others
      {"f16", at::randn({5}, at::kHalf)},
      {"bf16", at::randn({2, 2, 2}, at::kBFloat16)},
      {"i64", at::randint(-(int64_t{1} << 40), int64_t{1} << 40, {4}, at::kLong)},
      {"zero_cols", at::empty({2, 0}, at::kLong)},
      {"i32", at::randint(-100000, 100000, {3}, at::kInt)},
      {"i16", at::randint(-30000, 30000, {2, 2}, at::kShort)},
      {"i8", at::randint(-128, 128, {6}, at::kChar)},
      {"u8", at::randint(0, 256, {7}, at::kByte)},
      {"bool", at::randint(0, 2, {9}, at::kLong).to(at::kBool)},
      {"scalar", at::scalar_tensor(3.5, f32)},
      {"scalar_bool", at::scalar_tensor(true, at::kBool)},
      {"transposed", at::randn({4, 3}, f32).t()},
      {"expanded", at::randn({1, 3}, f32).expand({4, 3})},
      {"strided_slice", at::arange(20, at::kLong).slice(0, 5, 15, 2)},
      {"special", at::tensor({inf, -inf, std::nanf(""), -0.0f, 1e-45f}, f32)},
      {"empty_bf16", at::empty({0}, at::kBFloat16)},
  };
}

const std::map<std::string, std::string> kMetadata = {
    {"format", "pt"}, {"arch", "vit_tiny_patch16_224"}, {"note", "ünïcødé ✓"}, {"empty", ""}};

void expect_same(const NamedTensors& got, const Tensors& want) {
  ASSERT_EQ(got.tensors.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got.tensors[i].first, want[i].first) << "file order differs at " << i;
    EXPECT_TRUE(same_tensor(got.tensors[i].second, want[i].second)) << want[i].first;
    EXPECT_TRUE(got.tensors[i].second.is_contiguous()) << want[i].first;
    EXPECT_TRUE(got.tensors[i].second.device().is_cpu()) << want[i].first;
  }
}

// A small valid header body for a tensor, to assemble malformed files from.
std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return "{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

}  // namespace

// --- round trips -------------------------------------------------------------------

TEST(Safetensors, RoundTripEveryDtypeInMemory) {
  const Tensors tensors = every_dtype();
  const std::string bytes = serialize_safetensors(tensors, kMetadata);
  const NamedTensors back = parse(bytes);
  expect_same(back, tensors);
  EXPECT_EQ(back.metadata, kMetadata);
}

TEST(Safetensors, RoundTripThroughFile) {
  const auto dir = tessera::testing::scratch_dir();
  const Tensors tensors = every_dtype();
  save_safetensors(dir / "model.safetensors", tensors, kMetadata);
  const NamedTensors back = load_safetensors(dir / "model.safetensors");
  expect_same(back, tensors);
  EXPECT_EQ(back.metadata, kMetadata);
  // The atomic write leaves nothing else behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(Safetensors, NoTensorsNoMetadata) {
  const std::string bytes = serialize_safetensors({});
  const NamedTensors back = parse(bytes);
  EXPECT_TRUE(back.tensors.empty());
  EXPECT_TRUE(back.metadata.empty());
}

TEST(Safetensors, WriterPadsHeaderAndOrdersData) {
  const Tensors tensors = every_dtype();
  const std::string bytes = serialize_safetensors(tensors, kMetadata);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  const std::string header = bytes.substr(8, n);
  const auto json = nlohmann::ordered_json::parse(header);  // trailing spaces are JSON whitespace
  EXPECT_EQ(header.find_last_not_of(' ') + 1, header.find_last_of('}') + 1);
  // Entries appear in the order given, each starting where the previous one ended.
  uint64_t offset = 0;
  size_t i = 0;
  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") continue;
    ASSERT_LT(i, tensors.size());
    EXPECT_EQ(name, tensors[i].first);
    EXPECT_EQ(value["data_offsets"][0].get<uint64_t>(), offset) << name;
    offset = value["data_offsets"][1].get<uint64_t>();
    ++i;
  }
  EXPECT_EQ(i, tensors.size());
  EXPECT_EQ(bytes.size(), 8 + n + offset);
}

TEST(Safetensors, ParsedTensorsOwnTheirMemory) {
  const Tensors tensors = {{"a", at::arange(16, at::kFloat)}};
  std::string bytes = serialize_safetensors(tensors);
  NamedTensors back = parse(bytes);
  std::fill(bytes.begin(), bytes.end(), '\xff');
  bytes.clear();
  bytes.shrink_to_fit();
  EXPECT_TRUE(same_tensor(back.tensors[0].second, tensors[0].second));
}

TEST(Safetensors, SavesSparseTensorsAsDense) {
  const at::Tensor dense = at::tensor({0.f, 2.f, 0.f, 3.f}).reshape({2, 2});
  const NamedTensors back = parse(serialize_safetensors({{"s", dense.to_sparse()}}));
  EXPECT_TRUE(same_tensor(back.tensors[0].second, dense));
}

TEST(Safetensors, SavesFromGpu_CUDA) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const at::Tensor t = at::randn({3, 5}, at::kHalf);
  const NamedTensors back = parse(serialize_safetensors({{"g", t.cuda().t()}}));
  EXPECT_TRUE(same_tensor(back.tensors[0].second, t.t()));
}

TEST(Safetensors, WriterRejectsWhatTheFormatCannotHold) {
  auto expect_error = [](const Tensors& tensors, const std::map<std::string, std::string>& metadata,
                         const std::string& needle) {
    try {
      serialize_safetensors(tensors, metadata);
      ADD_FAILURE() << "accepted; expected an error saying '" << needle << "'";
    } catch (const tessera::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const at::Tensor t = at::zeros({2});
  expect_error({{"a", t}, {"a", t}}, {}, "duplicate tensor name");
  expect_error({{"__metadata__", t}}, {}, "reserved");
  expect_error({{"c", at::zeros({2}, at::kComplexFloat)}}, {}, "no safetensors equivalent");
  expect_error({{"u", at::Tensor()}}, {}, "undefined");
  expect_error({{"bad\xff", t}}, {}, "not valid UTF-8");
  expect_error({}, {{"k", "v\xc0"}}, "not valid UTF-8");
}

TEST(Safetensors, FailedSaveLeavesNoFile) {
  const auto dir = tessera::testing::scratch_dir();
  const at::Tensor t = at::zeros({2});
  EXPECT_THROW(save_safetensors(dir / "m.safetensors", {{"a", t}, {"a", t}}), tessera::Error);
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(Safetensors, LoadMissingFileNamesIt) {
  const auto path = tessera::testing::scratch_dir() / "absent.safetensors";
  try {
    load_safetensors(path);
    FAIL() << "expected tessera::Error";
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.where(), path.string());
    EXPECT_NE(e.message().find("cannot open"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, LoadErrorsNameThePath) {
  const auto path = tessera::testing::scratch_dir() / "short.safetensors";
  std::ofstream(path, std::ios::binary) << "abc";
  try {
    load_safetensors(path);
    FAIL() << "expected tessera::Error";
  } catch (const tessera::Error& e) {
    EXPECT_EQ(e.where(), path.string());
  }
}

// --- accepted edge cases -----------------------------------------------------------

TEST(Safetensors, AcceptsZeroSizeTensors) {
  const auto back = parse(make_file(
      "{\"z\":" + entry("F32", "[0,3]", "[0,0]") + ",\"y\":" + entry("I64", "[5,0]", "[0,0]") + "}"));
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].first, "y");  // same offset: name order
  EXPECT_EQ(back.tensors[0].second.sizes(), (std::vector<int64_t>{5, 0}));
  EXPECT_EQ(back.tensors[1].second.sizes(), (std::vector<int64_t>{0, 3}));
}

TEST(Safetensors, AcceptsScalars) {
  const double v = -2.25;
  const auto back = parse(make_file("{\"s\":" + entry("F64", "[]", "[0,8]") + "}",
                                    std::string(reinterpret_cast<const char*>(&v), 8)));
  ASSERT_EQ(back.tensors.size(), 1u);
  EXPECT_EQ(back.tensors[0].second.dim(), 0);
  EXPECT_EQ(back.tensors[0].second.item<double>(), v);
}

TEST(Safetensors, AcceptsWhitespacePaddedHeader) {
  const std::string data(8, '\0');
  for (const std::string& header :
       {"{\"a\":" + entry("F32", "[2]", "[0,8]") + "}      ",
        "  \n{ \"a\" : " + entry("F32", "[ 2 ]", "[ 0 , 8 ]") + " }\t\r\n   "}) {
    const auto back = parse(make_file(header, data));
    ASSERT_EQ(back.tensors.size(), 1u);
    EXPECT_EQ(back.tensors[0].second.sizes(), (std::vector<int64_t>{2}));
  }
}

TEST(Safetensors, AcceptsEmptyHeaderObjectAndEmptyMetadata) {
  EXPECT_TRUE(parse(make_file("{}")).tensors.empty());
  EXPECT_TRUE(parse(make_file("{\"__metadata__\":{}}")).metadata.empty());
}

// --- malformed files ---------------------------------------------------------------

TEST(SafetensorsMalformed, TooShortOrEmpty) {
  EXPECT_TRUE(rejected("", "file is empty"));
  EXPECT_TRUE(rejected(std::string("\x02\0\0\0\0", 5), "8-byte header length"));
}

TEST(SafetensorsMalformed, HeaderLengthBeyondFile) {
  EXPECT_TRUE(rejected(le64(1000) + "{}", "header length 1000 exceeds the 2 bytes"));
  EXPECT_TRUE(rejected(le64(3) + "{}", "header length 3 exceeds"));
  EXPECT_TRUE(rejected(le64(~uint64_t{0}) + "{}", "100 MB"));
}

TEST(SafetensorsMalformed, HeaderOver100MB) {
  EXPECT_TRUE(rejected(le64(100'000'001) + "{}", "exceeds the 100 MB limit"));
}

TEST(SafetensorsMalformed, HeaderNotUtf8) {
  const std::string tail = ":" + entry("F32", "[2]", "[0,8]") + "}";
  const std::string data(8, '\0');
  EXPECT_TRUE(rejected(make_file("{\"a\xff\"" + tail, data), "header is not valid UTF-8"));
  EXPECT_TRUE(rejected(make_file("{\"a\xc0\xaf\"" + tail, data), "not valid UTF-8"));      // overlong '/'
  EXPECT_TRUE(rejected(make_file("{\"a\xed\xa0\x80\"" + tail, data), "not valid UTF-8"));  // surrogate
  EXPECT_TRUE(rejected(make_file("{\"a\xe2\x9c\"" + tail, data), "not valid UTF-8"));      // cut short
  EXPECT_TRUE(rejected(make_file("{\"a\xf4\x90\x80\x80\"" + tail, data), "(offset 11)"));  // > U+10FFFF
}

TEST(SafetensorsMalformed, HeaderNotJson) {
  EXPECT_TRUE(rejected(make_file("{\"a\": [}"), "header is not valid JSON"));
  EXPECT_TRUE(rejected(make_file(""), "header is not valid JSON"));
  EXPECT_TRUE(rejected(make_file("{} {}"), "header is not valid JSON"));
  // nlohmann alone would stop at the NUL and accept this.
  EXPECT_TRUE(rejected(make_file(std::string("{}\0{\"hidden\":1}", 15)), "(offset 10): header contains a NUL byte"));
  EXPECT_TRUE(rejected(make_file(std::string(40, '[') + std::string(40, ']')), "nests deeper"));
}

TEST(SafetensorsMalformed, HeaderNotObject) {
  EXPECT_TRUE(rejected(make_file("[1, 2]"), "header must be a JSON object, got array"));
  EXPECT_TRUE(rejected(make_file("\"x\""), "header must be a JSON object, got string"));
}

TEST(SafetensorsMalformed, TensorsSharingOffsets) {
  const std::string header =
      "{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"b\":" + entry("F32", "[2]", "[0,8]") + "}";
  EXPECT_TRUE(rejected(make_file(header, std::string(8, '\0')), "overlap those of tensor 'a'"));
  // Partial overlap, and a zero-size tensor placed inside another's bytes.
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"b\":" +
                                     entry("F32", "[2]", "[4,12]") + "}",
                                 std::string(12, '\0')),
                       "overlap"));
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"z\":" +
                                     entry("F32", "[0]", "[4,4]") + "}",
                                 std::string(8, '\0')),
                       "overlap"));
}

TEST(SafetensorsMalformed, HoleInDataBuffer) {
  const std::string header =
      "{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"b\":" + entry("F32", "[2]", "[12,20]") + "}";
  EXPECT_TRUE(rejected(make_file(header, std::string(20, '\0')), "hole in the data buffer: bytes [8, 12)"));
  // A hole before the first tensor counts too.
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[2]", "[4,12]") + "}", std::string(12, '\0')),
                       "hole"));
}

TEST(SafetensorsMalformed, TrailingBytes) {
  const std::string header = "{\"a\":" + entry("F32", "[2]", "[0,8]") + "}";
  EXPECT_TRUE(rejected(make_file(header, std::string(10, '\0')), "2 trailing bytes"));
  EXPECT_TRUE(rejected(make_file("{}", "x"), "1 trailing bytes"));
}

TEST(SafetensorsMalformed, TwoBytesMissingAtEnd) {
  std::string file = serialize_safetensors({{"a", at::ones({4})}, {"b", at::ones({3}, at::kLong)}});
  file.resize(file.size() - 2);
  EXPECT_TRUE(rejected(file, "tensor 'b'"));
  EXPECT_TRUE(rejected(file, "reach past the end of the data buffer"));
}

TEST(SafetensorsMalformed, ElementCountOverflow) {
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[4294967296,4294967296]", "[0,0]") + "}"),
                       "element count of shape [4294967296,4294967296] overflows int64"));
  // 2^63 elements: fits in uint64, not in the int64 that ATen counts with.
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("U8", "[2,4611686018427387904]", "[0,0]") + "}"),
                       "element count of shape [2,4611686018427387904] overflows int64"));
  // The count fits, the byte count does not.
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("I64", "[2305843009213693952]", "[0,0]") + "}"),
                       "byte size of I64 shape [2305843009213693952] overflows 64 bits"));
  // A zero does not excuse the others: ATen multiplies them for strides.
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[0,4294967296,4294967296]", "[0,0]") + "}"),
                       "overflows int64"));
}

TEST(SafetensorsMalformed, UnknownDtype) {
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F8_E4M3", "[2]", "[0,2]") + "}", "ab"),
                       "unknown dtype \"F8_E4M3\""));
  EXPECT_TRUE(rejected(make_file("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", std::string(8, 0)),
                       "dtype must be a string"));
}

TEST(SafetensorsMalformed, NegativeDim) {
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[2,-1]", "[0,0]") + "}"), "-1 that is negative"));
}

TEST(SafetensorsMalformed, NonIntegerDims) {
  const std::string data(8, '\0');
  for (const char* shape : {"[2.5]", "[2.0]", "[\"2\"]", "[null]", "[true]", "[[2]]", "[1e3]",
                                   "[9223372036854775808]", "[18446744073709551616]"}) {
    EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("U8", shape, "[0,8]") + "}", data), "not an integer"))
        << shape;
  }
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("U8", "8", "[0,8]") + "}", data),
                       "shape must be a list of integers"));
  std::string ones = "[1";
  for (int i = 1; i < 65; ++i) ones += ",1";
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("U8", ones + "]", "[0,1]") + "}", "x"),
                       "shape has 65 dimensions; at most 64"));
}

TEST(SafetensorsMalformed, BadDataOffsets) {
  const std::string data(8, '\0');
  for (const char* offsets : {"[0]", "[0,8,8]", "[-1,8]", "[0,8.0]", "\"0,8\"", "{}", "[0,null]"}) {
    EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[2]", offsets) + "}", data),
                         "data_offsets must be two non-negative integers"))
        << offsets;
  }
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[2]", "[8,0]") + "}", data), "end before they begin"));
  EXPECT_TRUE(rejected(make_file("{\"a\":" + entry("F32", "[3]", "[0,8]") + "}", data),
                       "span 8 bytes but F32 shape [3] needs 12"));
}

TEST(SafetensorsMalformed, BadEntry) {
  const std::string data(8, '\0');
  EXPECT_TRUE(rejected(make_file("{\"a\":5}", data), "entry must be an object"));
  EXPECT_TRUE(rejected(make_file("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", data), "no \"dtype\""));
  EXPECT_TRUE(rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", data), "no \"shape\""));
  EXPECT_TRUE(rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", data), "no \"data_offsets\""));
}

TEST(SafetensorsMalformed, DuplicateNames) {
  const std::string header =
      "{\"a\":" + entry("F32", "[2]", "[0,8]") + ",\"a\":" + entry("F32", "[2]", "[8,16]") + "}";
  EXPECT_TRUE(rejected(make_file(header, std::string(16, '\0')), "duplicate tensor name 'a'"));
  EXPECT_TRUE(rejected(make_file("{\"__metadata__\":{},\"__metadata__\":{}}"), "duplicate"));
  EXPECT_TRUE(rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[0,4]}}",
                                 std::string(4, '\0')),
                       "duplicate key 'dtype'"));
}

TEST(SafetensorsMalformed, BadMetadata) {
  EXPECT_TRUE(rejected(make_file("{\"__metadata__\":{\"epoch\":3}}"), "value for key 'epoch' must be a string"));
  EXPECT_TRUE(rejected(make_file("{\"__metadata__\":{\"k\":null}}"), "must be a string"));
  EXPECT_TRUE(rejected(make_file("{\"__metadata__\":[\"a\"]}"), "__metadata__ must be an object"));
}

TEST(SafetensorsMalformed, BoolBytesOtherThanZeroOrOne) {
  EXPECT_TRUE(rejected(make_file("{\"m\":" + entry("BOOL", "[3]", "[0,3]") + "}", std::string("\1\0\2", 3)),
                       "holds byte 2"));
}

TEST(SafetensorsMalformed, LongOrControlNamesStayOnOneLine) {
  const std::string name = "a\nb" + std::string(200, 'x');
  try {
    parse(make_file("{\"a\\nb" + std::string(200, 'x') + "\":5}"));
    FAIL() << "expected tessera::Error";
  } catch (const tessera::Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find("'a\\x0ab"), std::string::npos) << what;
    EXPECT_LT(what.size(), 250u) << what;
  }
}

// --- mutation fuzzing --------------------------------------------------------------

// Mutates valid files (byte flips, truncation, length-field edits, JSON token edits) and
// asserts the parser only ever answers with tessera::Error. Run it under ASan to catch
// out-of-bounds reads (see tests/fuzz/ for the coverage-guided version).
TEST(SafetensorsFuzz, MutationsOnlyThrowTesseraError) {
  const std::vector<std::string> seeds = {
      serialize_safetensors(every_dtype(), kMetadata),
      serialize_safetensors({{"s", at::scalar_tensor(1.5)}}),
      serialize_safetensors({{"z", at::empty({0, 2})}, {"a", at::arange(3, at::kShort)},
                             {"m", at::ones({2}, at::kBool)}}),
      serialize_safetensors({}, {{"k", "v"}}),
  };
  const std::vector<std::string> tokens = {
      "\"", "{", "}", "[", "]", ",", ":", "-", "-1", "0", "1.5", "1e400", "99999999999999999999",
      "18446744073709551615", "9223372036854775807", "\"F16\"", "\"BOOL\"", "\"U8\"", "null", "true",
      "\"__metadata__\"", "\xff", "\xc3", "\\u0000", "\\ud800", " ", "[]", "{}", "\"shape\"",
      "\"data_offsets\"", "\"dtype\""};

  std::mt19937_64 rng(20240611);
  auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  auto header_len = [](const std::string& f) {
    uint64_t n = 0;
    for (int i = 7; i >= 0 && f.size() >= 8; --i) n = (n << 8) | static_cast<uint8_t>(f[i]);
    return n;
  };
  auto set_header_len = [](std::string& f, uint64_t n) {
    if (f.size() >= 8) f.replace(0, 8, le64(n));
  };
  // Edits through a JSON DOM, so the file gets past the JSON checks and reaches the
  // layout ones (overlaps, holes, duplicates, size mismatches).
  const char* const dtypes[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};
  auto edit_structure = [&](std::string& f) {
    const uint64_t n = header_len(f);
    if (f.size() < 8 || n > f.size() - 8) return;
    auto header = nlohmann::ordered_json::parse(f.substr(8, n), nullptr, /*allow_exceptions=*/false);
    if (!header.is_object()) return;
    std::vector<std::string> names;
    for (const auto& [name, value] : header.items()) {
      if (name != "__metadata__" && value.is_object()) names.push_back(name);
    }
    if (names.empty()) return;
    const std::string a = names[below(names.size())], b = names[below(names.size())];
    auto& entry_a = header[a];
    auto entry_b = header[b];  // a copy; non-const so a missing field reads as null
    bool duplicate = false;
    switch (below(5)) {
      case 0: entry_a["data_offsets"] = entry_b["data_offsets"]; break;
      case 1: {
        const int64_t shift = static_cast<int64_t>(below(17)) - 8;
        auto& offsets = entry_a["data_offsets"];
        if (below(2) == 0 && offsets.is_array() && !offsets.empty() && offsets[0].is_number_integer()) {
          offsets[0] = offsets[0].get<int64_t>() + shift;
        }
        if (offsets.is_array() && offsets.size() > 1 && offsets[1].is_number_integer()) {
          offsets[1] = offsets[1].get<int64_t>() + shift;
        }
        break;
      }
      case 2: entry_a["dtype"] = dtypes[below(std::size(dtypes))]; break;
      case 3: entry_a["shape"] = entry_b["shape"]; break;
      default: duplicate = true; break;
    }
    std::string text = header.dump();
    if (duplicate) {  // rename a to b in the text, which a DOM cannot hold
      const size_t at = text.find("\"" + a + "\":");
      if (at != std::string::npos) text.replace(at + 1, a.size(), b);
    }
    f = le64(text.size()) + text + f.substr(8 + n);
  };

  constexpr int kIterations = 10000;
  int accepted = 0, rejected_count = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int iter = 0; iter < kIterations; ++iter) {
    std::string f = seeds[below(seeds.size())];
    const int edits = 1 + static_cast<int>(below(3));
    for (int k = 0; k < edits; ++k) {
      const uint64_t n = header_len(f);
      const size_t header_end = static_cast<size_t>(std::min<uint64_t>(8 + n, f.size()));
      switch (below(8)) {
        case 0:  // flip bytes anywhere
          for (size_t j = 0, m = 1 + below(4); j < m && !f.empty(); ++j) f[below(f.size())] = static_cast<char>(rng());
          break;
        case 1:  // truncate
          f.resize(below(f.size() + 1));
          break;
        case 2:  // edit the length field
          switch (below(3)) {
            case 0: set_header_len(f, n + below(17) - 8); break;
            case 1: set_header_len(f, rng()); break;
            default: set_header_len(f, below(f.size() + 1)); break;
          }
          break;
        case 3:  // delete a run inside the header, then fix the length field
        case 4: {  // insert a JSON token inside the header, then fix the length field
          if (header_end <= 8) break;
          const size_t pos = 8 + below(header_end - 8);
          size_t delta_removed = 0;
          std::string inserted;
          if (below(2) == 0) {
            delta_removed = std::min(header_end - pos, 1 + below(8));
            f.erase(pos, delta_removed);
          } else {
            inserted = tokens[below(tokens.size())];
            f.insert(pos, inserted);
          }
          set_header_len(f, n - delta_removed + inserted.size());
          break;
        }
        case 6:
        case 7:
          edit_structure(f);
          break;
        default: {  // swap a number in the header for another
          const size_t from = 8 + below(header_end > 8 ? header_end - 8 : 1);
          const size_t d = f.find_first_of("0123456789", from);
          if (d == std::string::npos || d >= header_end) break;
          const size_t e = f.find_first_not_of("0123456789", d);
          const size_t len = (e == std::string::npos ? f.size() : e) - d;
          const std::string number = std::to_string(below(3) == 0 ? rng() : below(64));
          f.replace(d, len, number);
          set_header_len(f, n - len + number.size());
          break;
        }
      }
    }
    try {
      const NamedTensors got = parse(f);
      ++accepted;
      // Whatever is accepted must be well-formed enough to write and read back.
      const NamedTensors again = parse(serialize_safetensors(got.tensors, got.metadata));
      ASSERT_EQ(again.tensors.size(), got.tensors.size()) << "iteration " << iter;
      for (const auto& [name, t] : got.tensors) ASSERT_TRUE(t.is_contiguous() && t.device().is_cpu()) << name;
    } catch (const tessera::Error&) {
      ++rejected_count;
    } catch (const std::exception& e) {
      FAIL() << "iteration " << iter << ": threw something other than tessera::Error: " << e.what();
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ fuzz     ] " << kIterations << " mutations, " << rejected_count << " rejected, "
            << accepted << " accepted, " << seconds << " s\n";
  EXPECT_GT(rejected_count, kIterations / 2);
  EXPECT_GT(accepted, 0);  // some mutations keep the file valid (e.g. flips inside the data)
}

// --- interop with the Python `safetensors` package ---------------------------------

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs tests/reference/safetensors_interop.py. A missing Python fails the test rather than
// skipping it: this is the only evidence that our files match the reference implementation.
::testing::AssertionResult run_interop(const std::string& args) {
  const std::string python = tessera::testing::python_path();
  if (python.empty()) {
    return ::testing::AssertionFailure()
           << "TESSERA_PYTHON is empty: set it to the venv python with torch and safetensors "
              "(ctest sets it; by hand: TESSERA_PYTHON=/root/.cache/tessera/venv/bin/python)";
  }
  const fs::path source = tessera::testing::source_dir();
  if (source.empty()) {
    return ::testing::AssertionFailure() << "TESSERA_SOURCE_DIR is empty: set it to the repository root";
  }
  const fs::path script = source / "tests" / "reference" / "safetensors_interop.py";
  const std::string command = shell_quote(python) + " " + shell_quote(script.string()) + " " + args;
  const auto result = tessera::testing::run_command(command);
  if (result.exit_code != 0) {
    return ::testing::AssertionFailure() << command << "\nexited with " << result.exit_code << ":\n"
                                         << result.output;
  }
  return ::testing::AssertionSuccess();
}

const std::map<std::string, at::ScalarType> kDtypeNames = {
    {"F64", at::kDouble}, {"F32", at::kFloat}, {"F16", at::kHalf}, {"BF16", at::kBFloat16},
    {"I64", at::kLong}, {"I32", at::kInt}, {"I16", at::kShort}, {"I8", at::kChar},
    {"U8", at::kByte}, {"BOOL", at::kBool}};

// Mirror of formula() in tests/reference/safetensors_interop.py.
at::Tensor formula(const std::string& kind, at::ScalarType dtype, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const at::Tensor i = at::arange(n, at::kLong);
  at::Tensor t;
  if (kind == "float") t = (i.to(at::kDouble) - 5) * 0.375;
  if (kind == "int") t = i * 7 - 40;
  if (kind == "uint") t = i * 20;
  if (kind == "bool") t = i.remainder(3).eq(0);
  return t.to(dtype).reshape(shape);
}

// Mirror of formula_tensors() in tests/reference/safetensors_interop.py.
Tensors formula_tensors() {
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"f64", formula("float", at::kDouble, {2, 3})},
      {"f32", formula("float", at::kFloat, {3, 4})},
      {"f16", formula("float", at::kHalf, {12})},
      {"bf16", formula("float", at::kBFloat16, {2, 2, 3})},
      // 3 bytes, so the next tensor's data starts unaligned (the format allows no padding).
      {"odd_u8", formula("uint", at::kByte, {3})},
      {"unaligned_f64", formula("float", at::kDouble, {5})},
      {"i64", formula("int", at::kLong, {2, 6})},
      {"i32", formula("int", at::kInt, {12})},
      {"i16", formula("int", at::kShort, {3, 4})},
      {"i8", formula("int", at::kChar, {4, 3})},
      {"u8", formula("uint", at::kByte, {12})},
      {"bool", formula("bool", at::kBool, {3, 4})},
      {"scalar", formula("float", at::kFloat, {})},
      {"empty", formula("float", at::kFloat, {0, 3})},
      {"transposed", formula("float", at::kFloat, {3, 4}).t()},
      {"special", at::tensor({inf, -inf, std::nanf(""), -0.0f, 1e-45f, 3.4e38f}, at::kFloat)},
      {"i64_extremes", at::tensor({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                                   int64_t{-1}},
                                  at::kLong)},
  };
}

}  // namespace

TEST(SafetensorsInterop, ReadsFileWrittenByPython) {
  const auto dir = tessera::testing::scratch_dir();
  const fs::path file = dir / "python.safetensors", expected = dir / "expected";
  ASSERT_TRUE(run_interop("write " + shell_quote(file.string()) + " " + shell_quote(expected.string())));

  const NamedTensors got = load_safetensors(file);
  std::map<std::string, at::Tensor> by_name(got.tensors.begin(), got.tensors.end());
  std::ifstream manifest(expected / "manifest.txt");
  std::string line;
  size_t count = 0;
  while (std::getline(manifest, line)) {
    std::istringstream fields(line);
    std::string name, dtype, dims;
    ASSERT_TRUE(fields >> name >> dtype >> dims) << line;
    ++count;
    SCOPED_TRACE(name);
    ASSERT_EQ(by_name.count(name), 1u);
    const at::Tensor& t = by_name[name];
    EXPECT_EQ(t.scalar_type(), kDtypeNames.at(dtype));
    std::vector<int64_t> shape;
    if (dims != "-") {
      std::istringstream ds(dims);
      for (std::string d; std::getline(ds, d, ',');) shape.push_back(std::stoll(d));
    }
    EXPECT_EQ(t.sizes().vec(), shape);
    const std::string want = read_text(expected / (name + ".bin"));
    ASSERT_EQ(static_cast<size_t>(t.nbytes()), want.size());
    EXPECT_EQ(std::memcmp(t.const_data_ptr(), want.data(), want.size()), 0) << "values differ";
  }
  EXPECT_EQ(count, got.tensors.size());
  EXPECT_GE(count, 10u);

  const auto metadata = nlohmann::json::parse(read_text(expected / "metadata.json"));
  using StringMap = std::map<std::string, std::string>;
  EXPECT_EQ(got.metadata, metadata.get<StringMap>());
}

TEST(SafetensorsInterop, FileWrittenByTesseraLoadsInPython) {
  const auto dir = tessera::testing::scratch_dir();
  const fs::path file = dir / "tessera.safetensors";
  save_safetensors(file, formula_tensors(), kMetadata);
  EXPECT_TRUE(run_interop("check " + shell_quote(file.string())));
}
