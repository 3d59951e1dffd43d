// The CSV/TSV reader (see csv_table.h).
#include "tessera/data/csv_table.h"

#include <sstream>
#include <utility>

#include "tessera/core/error.h"

namespace tessera::data {

namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

void check_separator(char separator, const std::string& name) {
  if (separator == '"' || separator == '\n' || separator == '\r') {
    throw Error(name, "a quote or a line break cannot be the field separator");
  }
}

}  // namespace

std::string separator_name(char separator) {
  if (separator == '\t') return "a tab";
  return std::string("'") + separator + "'";
}

CsvReader::CsvReader(const std::string& path, char separator)
    : in_(std::make_unique<std::ifstream>(path, std::ios::binary)), name_(path), separator_(separator) {
  check_separator(separator, name_);
  if (!*in_) throw Error(path, "cannot be opened for reading");
  buffer_.resize(kBufferBytes);
}

CsvReader::CsvReader(std::string text, char separator, std::string name)
    : in_(std::make_unique<std::istringstream>(std::move(text))), name_(std::move(name)), separator_(separator) {
  check_separator(separator, name_);
  buffer_.resize(kBufferBytes);
}

int CsvReader::peek() {
  if (buffer_pos_ == buffer_end_) {
    in_->read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_pos_ = 0;
    buffer_end_ = static_cast<size_t>(in_->gcount());
    if (in_->bad()) throw Error(name_, "read failed");
    if (buffer_end_ == 0) return -1;
  }
  return static_cast<unsigned char>(buffer_[buffer_pos_]);
}

int CsvReader::get() {
  const int c = peek();
  if (c != -1) ++buffer_pos_;
  return c;
}

bool CsvReader::next(std::vector<std::string>& fields) {
  if (!started_) {
    started_ = true;
    peek();  // fills the buffer
    if (buffer_end_ >= 3 && static_cast<unsigned char>(buffer_[0]) == 0xEF &&
        static_cast<unsigned char>(buffer_[1]) == 0xBB && static_cast<unsigned char>(buffer_[2]) == 0xBF) {
      buffer_pos_ = 3;
    }
  }
  // Blank lines hold no record.
  for (int c = peek(); c == '\n' || c == '\r'; c = peek()) {
    get();
    if (c == '\r' && peek() == '\n') get();
    ++line_;
  }
  if (peek() == -1) return false;
  record_line_ = line_;

  size_t count = 0;
  auto start_field = [&]() -> std::string* {
    if (count == fields.size()) fields.emplace_back();
    std::string* field = &fields[count++];
    field->clear();
    return field;
  };
  std::string* field = start_field();
  bool at_field_start = true;
  while (true) {
    const int c = get();
    if (c == -1) break;
    if (c == '"' && at_field_start) {
      at_field_start = false;
      while (true) {
        const int q = get();
        if (q == -1) {
          throw Error(name_ + ":" + std::to_string(record_line_),
                      "a quoted field of this record is not closed before the end of the file (a '\"' inside a "
                      "quoted field is written twice: \"\")");
        }
        if (q == '"') {
          if (peek() != '"') break;  // the closing quote
          get();
        } else if (q == '\n' || (q == '\r' && peek() != '\n')) {
          ++line_;
        }
        field->push_back(static_cast<char>(q));
      }
      continue;
    }
    at_field_start = false;
    if (c == separator_) {
      field = start_field();
      at_field_start = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && peek() == '\n') get();
      ++line_;
      break;
    } else {
      field->push_back(static_cast<char>(c));
    }
  }
  fields.resize(count);

  if (header_fields_ < 0) {
    header_fields_ = static_cast<int64_t>(count);
  } else if (static_cast<int64_t>(count) != header_fields_) {
    throw Error(name_ + ":" + std::to_string(record_line_),
                "this record has " + std::to_string(count) + " fields, the header has " +
                    std::to_string(header_fields_) + " (fields are separated by " + separator_name(separator_) +
                    "; a field that holds one must be quoted with \")");
  }
  return true;
}

CsvTable read_csv_table(const std::string& path, char separator) {
  CsvReader reader(path, separator);
  CsvTable table;
  std::vector<std::string> fields;
  if (!reader.next(table.header)) return table;
  while (reader.next(fields)) {
    table.rows.push_back(fields);
    table.lines.push_back(reader.line());
  }
  return table;
}

}  // namespace tessera::data
