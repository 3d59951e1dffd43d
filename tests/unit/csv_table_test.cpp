// Tests for the CSV/TSV reader: quoting, line ends, byte-order mark, errors, and the
// records Python's csv module reads from the same files.
#include "tessera/data/csv_table.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fixtures/error_of.h"
#include "fixtures/image_files.h"
#include "reference_runner.h"
#include "test_env.h"

namespace {

namespace fs = std::filesystem;
using namespace tessera::data;
using tessera::testing::error_of;
using tessera::testing::scratch_dir;
using tessera::testing::write_text;
using Records = std::vector<std::vector<std::string>>;

// Every record of `text` (the header first) and the line each starts on.
std::pair<Records, std::vector<int64_t>> parse(const std::string& text, char separator = ',') {
  CsvReader reader(text, separator, "table.csv");
  std::pair<Records, std::vector<int64_t>> out;
  std::vector<std::string> fields;
  while (reader.next(fields)) {
    out.first.push_back(fields);
    out.second.push_back(reader.line());
  }
  return out;
}

TEST(CsvTable, QuotedFieldsHoldSeparatorsQuotesAndNewlines) {
  const auto [records, lines] = parse(
      "image,caption\n"
      "a.jpg,\"a cat, a dog\"\n"
      "b.jpg,\"she said \"\"hi\"\"\"\n"
      "c.jpg,\"two\nlines\"\n"
      "\"d,1.jpg\",\"\"\n"
      "e.jpg,plain\n");
  EXPECT_EQ(records, (Records{{"image", "caption"},
                              {"a.jpg", "a cat, a dog"},
                              {"b.jpg", "she said \"hi\""},
                              {"c.jpg", "two\nlines"},
                              {"d,1.jpg", ""},
                              {"e.jpg", "plain"}}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 3, 4, 6, 7}));  // c's caption takes two lines
}

TEST(CsvTable, ByteOrderMarkCrlfLoneCrAndBlankLines) {
  const auto [records, lines] = parse(
      "\xEF\xBB\xBF"
      "filepath\ttitle\r\n"
      "a.png\t\"tab\there\r\nand a CRLF inside\"\r\n"
      "\r\n"
      "b.png\tafter a blank line\r"
      "c.png\tafter a lone CR\n"
      "\n\n",
      '\t');
  EXPECT_EQ(records, (Records{{"filepath", "title"},
                              {"a.png", "tab\there\r\nand a CRLF inside"},
                              {"b.png", "after a blank line"},
                              {"c.png", "after a lone CR"}}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 5, 6}));
}

TEST(CsvTable, QuotesOutsideAFieldStartAreKeptAsPythonKeepsThem) {
  const auto [records, lines] = parse(
      "a,b,c\n"
      "x\"y,\"q\"tail,\n"  // a quote inside an unquoted field; text after a closing quote; a trailing separator
      "  \"sp\",,last");   // spaces before a quote make it ordinary; no final newline
  EXPECT_EQ(records, (Records{{"a", "b", "c"}, {"x\"y", "qtail", ""}, {"  \"sp\"", "", "last"}}));
}

TEST(CsvTable, UnclosedQuoteNamesTheFileAndTheRecordsLine) {
  const std::string message = error_of([] { parse("a,b\n1,2\n3,\"open\n\nstill open"); });
  EXPECT_NE(message.find("table.csv:3"), std::string::npos) << message;
  EXPECT_NE(message.find("not closed before the end of the file"), std::string::npos) << message;
}

TEST(CsvTable, WrongFieldCountNamesTheLine) {
  std::string message = error_of([] { parse("a,b\n1,2\n\"x\ny\",2\n1,2,3\n"); });
  EXPECT_NE(message.find("table.csv:5"), std::string::npos) << message;
  EXPECT_NE(message.find("has 3 fields, the header has 2"), std::string::npos) << message;
  message = error_of([] { parse("a\tb\n1 2\n", '\t'); });
  EXPECT_NE(message.find("table.csv:2"), std::string::npos) << message;
  EXPECT_NE(message.find("separated by a tab"), std::string::npos) << message;
}

TEST(CsvTable, FilesAndTheirErrors) {
  const auto dir = scratch_dir();
  write_text(dir / "t.csv", "x;y\n1;2\n");
  const CsvTable table = read_csv_table((dir / "t.csv").string(), ';');
  EXPECT_EQ(table.header, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(table.rows, (Records{{"1", "2"}}));
  EXPECT_EQ(table.lines, (std::vector<int64_t>{2}));

  write_text(dir / "empty.csv", "");
  EXPECT_TRUE(read_csv_table((dir / "empty.csv").string(), ',').header.empty());

  std::string message = error_of([&] { read_csv_table((dir / "missing.csv").string(), ','); });
  EXPECT_NE(message.find("missing.csv"), std::string::npos) << message;
  message = error_of([&] { read_csv_table((dir / "t.csv").string(), '"'); });
  EXPECT_NE(message.find("cannot be the field separator"), std::string::npos) << message;
}

TEST(CsvTable, MatchesPythonCsvModule) {
  const auto dir = scratch_dir();
  struct File {
    std::string name;
    char separator;
    std::string text;
  };
  // Over 1 MiB, so records, quoted fields and CRLFs straddle the reader's buffer refills.
  std::string large = "id,text,n\r\n";
  for (int i = 0; i < 20000; ++i) {
    large += std::to_string(i) + ",\"row " + std::to_string(i) + ", with \"\"quotes\"\"\r\nand a line\"," +
             std::string(static_cast<size_t>(i % 37), 'x') + "\r\n";
  }
  const std::vector<File> files = {
      {"quoted.csv", ',', "image,caption\na.jpg,\"a cat, a dog\"\nb.jpg,\"she said \"\"hi\"\"\"\n\"d,1.jpg\",\"\"\n"},
      {"bom_crlf.tsv", '\t',
       "\xEF\xBB\xBF"
       "filepath\ttitle\r\na.png\t\"x\r\ny\"\r\n\r\nb.png\tb\rc.png\t\xC3\xA9t\xC3\xA9\n\n"},
      {"odd_quotes.csv", ',', "a,b,c\nx\"y,\"q\"tail,\n  \"sp\",,last"},
      {"large.csv", ',', large},
  };
  std::string args = "csv";
  for (const auto& file : files) {
    write_text(dir / file.name, file.text);
    args += std::string(" '") + (file.separator == '\t' ? "tab" : std::string(1, file.separator)) + "' '" +
            (dir / file.name).string() + "'";
  }
  const auto result = tessera::testing::run_reference_script("torchvision_image_folder.py", args);
  ASSERT_EQ(result.exit_code, 0);
  const auto python =
      nlohmann::json::parse(result.output.substr(result.output.rfind('\n', result.output.size() - 2) + 1));
  ASSERT_EQ(python.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const CsvTable table = read_csv_table((dir / files[i].name).string(), files[i].separator);
    Records ours = {table.header};
    ours.insert(ours.end(), table.rows.begin(), table.rows.end());
    EXPECT_EQ(ours, python[i].get<Records>()) << files[i].name;
  }
}

}  // namespace
