// The Unicode facts CLIP's tokenizer depends on, as Python sees them: UTF-8 <-> code
// points, the character classes of open_clip's pattern, str.isspace, str.lower and NFC.
// The tables come from the Python that runs open_clip (third_party/gen_unicode_tables.py).
#pragma once

#include <string>
#include <string_view>

namespace tessera::text {

// UTF-8 → code points. Bytes that are not valid UTF-8 become U+FFFD, one per maximal
// invalid subsequence (Python never sees such text: its strings are code points).
std::u32string decode_utf8(std::string_view bytes);
// Code points → UTF-8. Surrogates and values past U+10FFFF are written as U+FFFD.
std::string encode_utf8(std::u32string_view text);

// The classes of open_clip's pre-tokenisation pattern as the `regex` module matches them
// under the pattern's IGNORECASE flag, where a character belongs to a class when one of
// its case variants does (U+0345 counts as a letter through ι).
bool is_letter(char32_t c);  // [\p{L}]
bool is_number(char32_t c);  // [\p{N}]
bool is_other(char32_t c);   // [^\s\p{L}\p{N}]
// str.isspace(): what str.split() and str.strip() cut on.
bool is_python_space(char32_t c);
// The `re` module's \d on str patterns (Unicode decimal digits).
bool is_decimal_digit(char32_t c);

// str.lower(): full lower-case mapping (İ → i + combining dot) with Σ → ς at the end of
// a word, as CPython does.
std::u32string python_lower(std::u32string_view text);

// unicodedata.normalize("NFC", text).
std::u32string nfc(std::u32string_view text);

}  // namespace tessera::text
