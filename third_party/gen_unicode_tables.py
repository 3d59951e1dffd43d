"""Writes the Unicode and HTML tables of Tessera's CLIP tokenizer (src/tessera/text/) as C++.

open_clip cleans text with Python (str.lower, str.split, unicodedata NFC through ftfy,
html.unescape) and splits it with the `regex` module's \\p{L} / \\p{N} / \\s. The C++
tokenizer gives the same ids only with the same character facts, so this script asks
the Python that runs open_clip for them and writes them as compact range tables:

  unicode_tables.inc  the character classes of open_clip's pattern (as `regex` sees them),
                      whitespace (str.isspace) and decimal digits (the `re` module's \\d),
                      str.lower's mapping with the Cased / Case_Ignorable sets of its
                      final-sigma rule, and NFC (combining classes, decompositions, compositions)
  html_tables.inc     HTML5 named references (html.entities.html5), the numeric references
                      html.unescape rewrites, and ftfy's width / C1-control tables

Run at CMake configure time (third_party/clip_vocab.cmake) into the build folder; the
output is not committed. Usage: python gen_unicode_tables.py OUT_DIR
"""
import html
import html.entities
import os
import re
import sys
import unicodedata

try:  # the engine open_clip's tokenizer pattern runs on; it knows a newer Unicode than unicodedata
    import regex
except ImportError:  # pragma: no cover - open_clip depends on regex, so the venv has it
    regex = None

MAX_CP = 0x10FFFF
ALL = [c for c in range(MAX_CP + 1) if not 0xD800 <= c <= 0xDFFF]
ALL_TEXT = "".join(map(chr, ALL))


def ranges_of(codepoints):
    """Sorted code points -> [(first, last)] of consecutive runs."""
    out = []
    for c in codepoints:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def class_ranges(char_class, fallback):
    """Code points the character class matches in open_clip's pattern (IGNORECASE)."""
    if regex is not None:
        # ALL_TEXT skips the surrogates, so map string positions back to code points.
        found = regex.finditer(char_class + "+", ALL_TEXT, flags=regex.IGNORECASE)
        return ranges_of([ALL[i] for m in found for i in range(m.start(), m.end())])
    return ranges_of([c for c in ALL if fallback(chr(c))])


def u32(s):
    return 'U"' + "".join("\\U%08X" % ord(ch) for ch in s) + '"'


def utf8(s):
    return '"' + "".join(ch if ch.isalnum() and ord(ch) < 128 else "\\%03o" % b
                         for ch in s for b in ch.encode("utf-8")) + '"'


def emit_ranges(out, name, ranges):
    out.append("inline constexpr Range %s[] = {" % name)
    line = ""
    for a, b in ranges:
        item = "{0x%X, 0x%X}, " % (a, b)
        if len(line) + len(item) > 100:
            out.append("    " + line.rstrip())
            line = ""
        line += item
    if line:
        out.append("    " + line.rstrip())
    out.append("};")


def lower_tables():
    """str.lower as runs {first, last, stride, delta} plus the multi-character results."""
    single, special = [], []
    for c in ALL:
        low = chr(c).lower()
        if low == chr(c):
            continue
        if len(low) == 1:
            single.append((c, ord(low) - c))
        else:
            special.append((c, low))
    runs = []  # [first, last, stride, delta]
    for c, d in single:
        if runs:
            r = runs[-1]
            stride = c - r[1]
            if r[3] == d and (r[0] == r[1] and stride in (1, 2) or r[2] == stride):
                r[1], r[2] = c, stride
                continue
        runs.append([c, c, 1, d])
    return runs, special


def sigma_sets():
    """Cased and Case_Ignorable as str.lower's final-sigma rule sees them, probed through
    str.lower itself. CPython's rule skips ignorable characters on both sides of Σ before
    asking whether the neighbour is cased, so:
      'AXΣ' and 'AΣX' both end Σ as ς  iff  X is ignorable
      'XΣ' ends as ς                    iff  X is cased (and not ignorable)
    The cased bit of an ignorable character never matters, so it is left out."""
    final = "\u03c2"
    cased, ignorable = [], []
    for c in ALL:
        x = chr(c)
        before = ("A" + x + "\u03a3").lower().endswith(final)
        after = ("A\u03a3" + x).lower()[1] == final
        if before and after:
            ignorable.append(c)
        elif (x + "\u03a3").lower().endswith(final):
            cased.append(c)
    return ranges_of(cased), ranges_of(ignorable)


def nfc_tables():
    ccc = []
    for c in ALL:
        k = unicodedata.combining(chr(c))
        if k:
            if ccc and ccc[-1][1] == c - 1 and ccc[-1][2] == k:
                ccc[-1][1] = c
            else:
                ccc.append([c, c, k])
    decomp, comp = [], []
    for c in ALL:
        d = unicodedata.decomposition(chr(c))
        if not d or d.startswith("<"):
            continue
        parts = [int(p, 16) for p in d.split()]
        assert len(parts) in (1, 2), (hex(c), d)
        decomp.append((c, parts[0], parts[1] if len(parts) == 2 else 0))
        # A primary composite is one NFC keeps (composition exclusions, singletons and
        # non-starter decompositions do not survive NFC on their own).
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(c)) == chr(c):
            comp.append((parts[0], parts[1], c))
    comp.sort()
    return ccc, decomp, comp


def write_unicode(out_dir, source):
    out = ["// Generated by third_party/gen_unicode_tables.py; do not edit.",
           "// Python %s, unicodedata %s; the pattern's classes (IGNORECASE) from %s." % (
               sys.version.split()[0], unicodedata.unidata_version, source),
           ""]
    # open_clip compiles its pattern with IGNORECASE, under which `regex` lets a character
    # match a class when any of its case variants does (U+0345 matches [\p{L}] through ι).
    def letter(ch):
        return unicodedata.category(ch)[0] == "L"

    def number(ch):
        return unicodedata.category(ch)[0] == "N"

    emit_ranges(out, "kLetter", class_ranges(r"[\p{L}]", letter))
    emit_ranges(out, "kNumber", class_ranges(r"[\p{N}]", number))
    emit_ranges(out, "kOther", class_ranges(r"[^\s\p{L}\p{N}]",
                                            lambda ch: not (ch.isspace() or letter(ch) or number(ch))))
    emit_ranges(out, "kPythonSpace", ranges_of([c for c in ALL if chr(c).isspace()]))
    emit_ranges(out, "kDecimalDigit", ranges_of([c for c in ALL if re.fullmatch(r"\d", chr(c))]))

    runs, special = lower_tables()
    out.append("inline constexpr LowerRun kLowerRuns[] = {")
    for a, b, s, d in runs:
        out.append("    {0x%X, 0x%X, %d, %d}," % (a, b, s, d))
    out.append("};")
    out.append("inline constexpr Mapping kLowerSpecial[] = {")
    for c, low in special:
        out.append("    {0x%X, %s}," % (c, u32(low)))
    out.append("};")
    cased, ignorable = sigma_sets()
    emit_ranges(out, "kCased", cased)
    emit_ranges(out, "kCaseIgnorable", ignorable)

    ccc, decomp, comp = nfc_tables()
    out.append("inline constexpr ClassRange kCombiningClass[] = {")
    for a, b, k in ccc:
        out.append("    {0x%X, 0x%X, %d}," % (a, b, k))
    out.append("};")
    out.append("inline constexpr Decomposition kDecomposition[] = {")
    for c, a, b in decomp:
        out.append("    {0x%X, 0x%X, 0x%X}," % (c, a, b))
    out.append("};")
    out.append("inline constexpr Composition kComposition[] = {")
    for a, b, c in comp:
        out.append("    {0x%X, 0x%X, 0x%X}," % (a, b, c))
    out.append("};")
    write(os.path.join(out_dir, "unicode_tables.inc"), out)


def numeric_charref_fixups():
    """Numbers whose &#N; html.unescape does not turn into chr(N): value -1 = dropped."""
    fixups = []
    for n in range(MAX_CP + 1):
        got = html.unescape("&#%d;" % n)
        if 0xD800 <= n <= 0xDFFF or got != chr(n):
            value = -1 if got == "" else ord(got)
            if fixups and fixups[-1][1] == n - 1 and fixups[-1][2] == value and value in (-1, 0xFFFD):
                fixups[-1][1] = n
            else:
                fixups.append([n, n, value])
    return fixups


def write_html(out_dir):
    out = ["// Generated by third_party/gen_unicode_tables.py; do not edit.",
           "// Python %s, unicodedata %s." % (sys.version.split()[0], unicodedata.unidata_version), ""]
    html5 = html.entities.html5
    out.append("// html.entities.html5: names (with their ';' where the name has one), sorted.")
    out.append("inline constexpr Entity kHtml5Entities[] = {")
    for name in sorted(html5):
        out.append("    {%s, %s}," % (utf8(name), utf8(html5[name])))
    out.append("};")
    # ftfy also reads all-caps versions of lowercase names that are no entity of their own
    # (&EACUTE; -> É), mapped to the upper-cased character.
    upper = {}
    for name, char in html5.items():
        if name.endswith(";") and name == name.lower():
            entity_upper = "&" + name.upper()
            if html.unescape(entity_upper) == entity_upper:
                upper[name.upper()] = char.upper()
    out.append("// ftfy's extra all-caps names, sorted.")
    out.append("inline constexpr Entity kUpperEntities[] = {")
    for name in sorted(upper):
        out.append("    {%s, %s}," % (utf8(name), utf8(upper[name])))
    out.append("};")
    out.append("// &#N; that html.unescape does not read as chr(N); value -1 = removed.")
    out.append("inline constexpr ValueRange kCharrefFixups[] = {")
    for a, b, v in numeric_charref_fixups():
        out.append("    {0x%X, 0x%X, %d}," % (a, b, v))
    out.append("};")
    # ftfy's fix_character_width: fullwidth / halfwidth forms to their NFKC form, and the
    # ideographic space to a plain space.
    width = [(0x3000, " ")]
    for c in range(0xFF01, 0xFFF0):
        alt = unicodedata.normalize("NFKC", chr(c))
        if alt != chr(c):
            width.append((c, alt))
    out.append("inline constexpr Mapping kWidthMap[] = {")
    for c, s in width:
        out.append("    {0x%X, %s}," % (c, u32(s)))
    out.append("};")
    # ftfy's fix_c1_controls: U+0080..U+009F read as Windows-1252 bytes, where that code
    # page defines the byte (else the character stays).
    c1 = []
    for b in range(0x80, 0xA0):
        try:
            c1.append(ord(bytes([b]).decode("cp1252")))
        except UnicodeDecodeError:
            c1.append(b)
    out.append("inline constexpr char32_t kC1Cp1252[32] = {")
    out.append("    " + ", ".join("0x%X" % c for c in c1) + ",")
    out.append("};")
    write(os.path.join(out_dir, "html_tables.inc"), out)


def write(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    source = "regex %s" % regex.__version__ if regex is not None else "unicodedata categories (no regex module)"
    write_unicode(out_dir, source)
    write_html(out_dir)


if __name__ == "__main__":
    main()
