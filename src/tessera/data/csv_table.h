// A reader for CSV and TSV files (RFC 4180, with any one-character separator), as
// pandas.read_csv(sep=...) and Python's csv module read them with their defaults.
//
// A record ends at "\n", "\r\n" or "\r". A field that starts with '"' is quoted: it
// may hold separators, newlines and quotes written twice (""); whatever follows its
// closing quote up to the separator is kept as written (as Python and pandas do). A
// '"' inside an unquoted field is an ordinary character. A UTF-8 byte-order mark at
// the start is skipped, and so are blank lines (as pandas' skip_blank_lines does).
// Fields are not trimmed, and nothing is turned into NaN: "NA" stays "NA" and an empty
// field stays empty (pandas would give NaN for both).
//
// Every record must have as many fields as the first (the header): anything else, and
// a quoted field still open at the end of the file, is a tessera::Error at
// "<file>:<line>".
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace tessera::data {

// Reads records one at a time, so a file of millions of rows is never held whole.
class CsvReader {
 public:
  // Opens the file at `path`; throws tessera::Error when it cannot be opened.
  CsvReader(const std::string& path, char separator);
  // Reads `text` instead of a file; `name` stands for the file in messages.
  CsvReader(std::string text, char separator, std::string name);

  // The next record's fields into `fields` (its strings' buffers reused); false at the
  // end of the input. The first record is the header.
  bool next(std::vector<std::string>& fields);
  // The line on which the record last returned by next() starts, counting from 1.
  int64_t line() const { return record_line_; }
  const std::string& name() const { return name_; }

 private:
  int get();   // the next byte, or -1 at the end
  int peek();  // the next byte without taking it, or -1

  std::unique_ptr<std::istream> in_;
  std::string name_;
  char separator_;
  std::vector<char> buffer_;
  size_t buffer_pos_ = 0;
  size_t buffer_end_ = 0;
  int64_t line_ = 1;         // the line the next byte is on
  int64_t record_line_ = 0;  // the line the last record started on
  int64_t header_fields_ = -1;
  bool started_ = false;  // the byte-order mark has been looked for
};

// A whole table in memory: for small files (tests, metadata), not for datasets.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as many fields as the header
  std::vector<int64_t> lines;                  // the line each row starts on
};

// "a tab", "','": a separator as messages name it.
std::string separator_name(char separator);

// Reads every record of the file at `path`. Errors as for CsvReader.
CsvTable read_csv_table(const std::string& path, char separator);

}  // namespace tessera::data
