// open_clip's caption cleaning before BPE (its tokenizer's 'lower' mode): ftfy.fix_text,
// html.unescape twice, whitespace runs collapsed to one space, str.lower().
#pragma once

#include <string>
#include <string_view>

namespace tessera::text {

// ftfy.fix_text with its default settings, except the mojibake repair (fix_encoding),
// which is a heuristic over many legacy code pages and the identity on text that is not
// mojibake. Everything else is reproduced: HTML entities (unless a line holds '<'), C1
// controls read as Windows-1252, Latin ligatures, full/half-width forms, curly quotes,
// line breaks, terminal escapes, control characters, NFC; repeated until nothing changes.
std::u32string fix_text(std::u32string_view text);

// Python's html.unescape: HTML5 named references (also the legacy ones without ';'),
// decimal and hex references with the HTML5 rules for invalid numbers.
std::u32string html_unescape(std::u32string_view text);

// The whole of open_clip's `_clean_lower`: fix_text, html_unescape twice, strip, split on
// whitespace and join with one space, lower-case.
std::u32string clean_lower(std::u32string_view text);

}  // namespace tessera::text
