// open_clip's text cleaning (see text_clean.h), with ftfy's and Python's html tables
// generated from the Python that runs open_clip.
#include "tessera/text/text_clean.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "tessera/text/unicode.h"

namespace tessera::text {

namespace {

struct Entity {  // name without the '&' (with its ';' where it has one), UTF-8 value
  const char* name;
  const char* value;
};
struct ValueRange {
  char32_t first, last;
  int32_t value;
};
struct Mapping {
  char32_t cp;
  const char32_t* to;
};

// Written at configure time by third_party/gen_unicode_tables.py into the build folder.
#include "html_tables.inc"

// ftfy's fix_latin_ligatures: Latin ligatures and digraph letters it takes apart.
const Mapping kLigatures[] = {
    {0x132, U"IJ"},        {0x133, U"ij"},        {0x149, U"\u02BCn"},    {0x1C4, U"D\u017D"},
    {0x1C5, U"D\u017E"},   {0x1C6, U"d\u017E"},   {0x1C7, U"LJ"},         {0x1C8, U"Lj"},
    {0x1C9, U"lj"},        {0x1CA, U"NJ"},        {0x1CB, U"Nj"},         {0x1CC, U"nj"},
    {0x1F1, U"DZ"},        {0x1F2, U"Dz"},        {0x1F3, U"dz"},         {0xFB00, U"ff"},
    {0xFB01, U"fi"},       {0xFB02, U"fl"},       {0xFB03, U"ffi"},       {0xFB04, U"ffl"},
    {0xFB05, U"\u017Ft"},  {0xFB06, U"st"},
};

const Mapping* find_mapping(const Mapping* begin, const Mapping* end, char32_t c) {
  auto it = std::lower_bound(begin, end, c, [](const Mapping& m, char32_t v) { return m.cp < v; });
  return it != end && it->cp == c ? it : nullptr;
}

// The entity `name` (ASCII, as written after '&') in a sorted table, or nullptr.
template <size_t N>
const Entity* find_entity(const Entity (&table)[N], std::u32string_view name) {
  std::string key;
  for (char32_t c : name) {
    if (c >= 0x80) return nullptr;
    key.push_back(static_cast<char>(c));
  }
  auto it = std::lower_bound(std::begin(table), std::end(table), key,
                             [](const Entity& e, const std::string& k) { return std::strcmp(e.name, k.c_str()) < 0; });
  return it != std::end(table) && key == it->name ? &*it : nullptr;
}

void append_utf8(std::u32string& out, const char* utf8) { out += decode_utf8(utf8); }

bool is_ascii_alnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex_digit(char32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

// What html.unescape makes of &#<number>; (HTML5's rules for numbers that are no character).
void append_charref(std::u32string& out, std::u32string_view digits, int base) {
  uint32_t num = 0;
  for (char32_t c : digits) {
    const uint32_t d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    num = std::min<uint32_t>(num * base + d, 0x110000);  // anything past U+10FFFF reads the same
  }
  auto it = std::upper_bound(std::begin(kCharrefFixups), std::end(kCharrefFixups), num,
                             [](uint32_t v, const ValueRange& r) { return v < r.first; });
  if (it != std::begin(kCharrefFixups) && num <= std::prev(it)->last) {
    if (std::prev(it)->value >= 0) out.push_back(static_cast<char32_t>(std::prev(it)->value));
    return;
  }
  out.push_back(num > 0x10FFFF ? char32_t{0xFFFD} : static_cast<char32_t>(num));
}

// ftfy's unescape_html: only `&name;` / `&#...;` of 1-24 ASCII letters and digits, only
// names that end in ';' (plus all-caps forms of lower-case ones), numbers only when
// html.unescape consumes the whole reference.
std::u32string ftfy_unescape(std::u32string_view s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    size_t j = i + 1;
    if (j < s.size() && s[j] == '#') ++j;
    size_t k = j;
    while (k < s.size() && is_ascii_alnum(s[k])) ++k;
    if (k == j || k - j > 24 || k >= s.size() || s[k] != ';') {
      out.push_back(s[i++]);
      continue;
    }
    const auto match = s.substr(i, k + 1 - i);  // "&...;"
    const auto name = match.substr(1);
    if (const Entity* e = find_entity(kHtml5Entities, name)) {
      append_utf8(out, e->value);
    } else if (const Entity* u = find_entity(kUpperEntities, name)) {
      append_utf8(out, u->value);
    } else if (name[0] == '#') {
      auto unescaped = html_unescape(match);
      out += unescaped.find(';') == std::u32string::npos ? unescaped : std::u32string(match);
    } else {
      out += match;
    }
    i = k + 1;
  }
  return out;
}

// ftfy's remove_terminal_escapes: ESC [ (digits | ;)* letter.
std::u32string remove_terminal_escapes(std::u32string_view s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && (s[j] == ';' || is_decimal_digit(s[j]))) ++j;
      if (j < s.size() && s[j] < 0x80 && (s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'z') {
        i = j + 1;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

// Replaces each character that `table` maps (sorted by code point).
std::u32string translate(std::u32string_view s, const Mapping* begin, const Mapping* end) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    if (const Mapping* m = find_mapping(begin, end, c)) {
      out += m->to;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// ftfy's per-character fixers, one pass each in its order (a fixer may produce what a
// later one rewrites: ŉ → ʼn → 'n).
std::u32string fix_characters(std::u32string_view s) {
  std::u32string text(s);
  for (auto& c : text) {  // fix_c1_controls
    if (c >= 0x80 && c <= 0x9F) c = kC1Cp1252[c - 0x80];
  }
  text = translate(text, std::begin(kLigatures), std::end(kLigatures));  // fix_latin_ligatures
  text = translate(text, std::begin(kWidthMap), std::end(kWidthMap));    // fix_character_width
  for (auto& c : text) {  // uncurl_quotes
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
    if (c >= 0x201C && c <= 0x201F) c = '"';
  }
  std::u32string out;  // fix_line_breaks: \r\n, \r, U+2028, U+2029, U+0085 → \n
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85) c = '\n';
    out.push_back(c);
  }
  return out;
}

// One ftfy segment (a line), fixed until nothing changes, as ftfy's fix_and_explain.
std::u32string fix_segment(std::u32string text, bool unescape) {
  while (true) {
    const std::u32string before = text;
    if (unescape) text = ftfy_unescape(text);
    text = fix_characters(text);
    text = remove_terminal_escapes(text);
    text.erase(std::remove_if(text.begin(), text.end(), is_removed_control), text.end());
    text = nfc(text);
    if (text == before) return text;
  }
}

}  // namespace

std::u32string fix_text(std::u32string_view text) {
  // ftfy works line by line (and at most a million characters at a time); once a line
  // holds '<' the text is taken for HTML and entities are left alone from there on.
  constexpr size_t kMaxSegment = 1000000;
  std::u32string out;
  bool unescape = true;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t newline = text.find(U'\n', pos);
    size_t end = newline == std::u32string_view::npos ? text.size() : newline + 1;
    end = std::min(end, pos + kMaxSegment);
    const auto segment = text.substr(pos, end - pos);
    if (unescape && segment.find(U'<') != std::u32string_view::npos) unescape = false;
    out += fix_segment(std::u32string(segment), unescape);
    pos = end;
  }
  return out;
}

std::u32string html_unescape(std::u32string_view s) {
  if (s.find(U'&') == std::u32string_view::npos) return std::u32string(s);
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    const size_t start = i + 1;
    // &#123; / &#x1F; (the ';' optional)
    if (start < s.size() && s[start] == '#') {
      const bool hex = start + 1 < s.size() && (s[start + 1] == 'x' || s[start + 1] == 'X');
      const size_t first = start + (hex ? 2 : 1);
      size_t k = first;
      while (k < s.size() && (hex ? is_hex_digit(s[k]) : (s[k] >= '0' && s[k] <= '9'))) ++k;
      if (k > first) {
        append_charref(out, s.substr(first, k - first), hex ? 16 : 10);
        i = k < s.size() && s[k] == ';' ? k + 1 : k;
        continue;
      }
      out.push_back(s[i++]);
      continue;
    }
    // &name; — up to 32 characters that are not \t \n \f space < & # ;, then ';' if present.
    size_t k = start;
    while (k < s.size() && k - start < 32 && s[k] != '\t' && s[k] != '\n' && s[k] != '\f' && s[k] != ' ' &&
           s[k] != '<' && s[k] != '&' && s[k] != '#' && s[k] != ';') {
      ++k;
    }
    if (k == start) {
      out.push_back(s[i++]);
      continue;
    }
    if (k < s.size() && s[k] == ';') ++k;
    const auto name = s.substr(start, k - start);
    if (const Entity* e = find_entity(kHtml5Entities, name)) {
      append_utf8(out, e->value);
    } else {
      // The longest prefix (of at least 2 characters) that is an entity, as HTML5 reads
      // the legacy names written without ';' ("&ampx" → "&x").
      size_t x = name.size() - 1;
      const Entity* prefix = nullptr;
      for (; x >= 2 && !prefix; --x) prefix = find_entity(kHtml5Entities, name.substr(0, x));
      if (prefix) {
        append_utf8(out, prefix->value);
        out += name.substr(x + 1);
      } else {
        out.push_back('&');
        out += name;
      }
    }
    i = k;
  }
  return out;
}

std::u32string clean_lower(std::u32string_view text) {
  auto fixed = html_unescape(html_unescape(fix_text(text)));
  // str.strip() then " ".join(text.split()): runs of Python whitespace become one space.
  std::u32string joined;
  size_t i = 0;
  while (i < fixed.size()) {
    while (i < fixed.size() && is_python_space(fixed[i])) ++i;
    const size_t start = i;
    while (i < fixed.size() && !is_python_space(fixed[i])) ++i;
    if (i > start) {
      if (!joined.empty()) joined.push_back(' ');
      joined.append(fixed, start, i - start);
    }
  }
  return python_lower(joined);
}

}  // namespace tessera::text
