"""A glyph-less font for invisible text: any Unicode character, CJK included, nothing drawn.

Text in render mode 3 is never painted, so the font needs no outlines; what a viewer and
``pdftotext`` need is where each character sits (every glyph is ``ADVANCE`` em wide; the writer
stretches each line with ``Tz`` to its box) and which character it is. A Type0 font with
Identity-H encoding takes two-byte codes; we number the document's distinct characters 1, 2, 3...
in order of first use, and the ToUnicode CMap maps each code back to its character (UTF-16, so
characters beyond the BMP survive too). The descendant CIDFontType2 embeds a tiny TrueType font
with one empty glyph (``glyphless_ttf``) that every code maps to, so no viewer has to substitute.
"""
from __future__ import annotations

import struct
from typing import Any

FONT_RESOURCE = "FEdgeOcrText"
FONT_NAME = "EdgeOcrGlyphLess"
UNITS_PER_EM = 1000
ADVANCE_UNITS = 500
ASCENT_UNITS, DESCENT_UNITS = 800, -200
MAX_CODES = 0xFFFF


class GlyphMap:
    """Characters to two-byte codes, shared by all pages of one output file."""

    advance = ADVANCE_UNITS / UNITS_PER_EM
    descent = DESCENT_UNITS / UNITS_PER_EM

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def encode(self, text: str) -> str:
        """``text`` as hex codes for a ``<...> Tj`` string; characters past 65535 distinct ones are dropped."""
        out = []
        for char in text:
            code = self.codes.get(char)
            if code is None:
                if len(self.codes) >= MAX_CODES - 1:
                    continue
                code = self.codes[char] = len(self.codes) + 1
            out.append(f"{code:04X}")
        return "".join(out)

    def to_unicode_cmap(self) -> bytes:
        entries = sorted(self.codes.items(), key=lambda item: item[1])
        blocks = []
        for start in range(0, len(entries), 100):  # a bfchar block holds at most 100 entries
            chunk = entries[start:start + 100]
            lines = [f"<{code:04X}> <{char.encode('utf-16-be').hex().upper()}>" for char, code in chunk]
            blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(lines) + "\nendbfchar")
        return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                + "\n".join(blocks) +
                "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode("ascii")


def _table_checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}L", padded)) & 0xFFFFFFFF


def glyphless_ttf() -> bytes:
    """A valid TrueType font with two empty glyphs (.notdef and the one every code maps to)."""
    glyphs = 2
    tables = {
        # head: version, revision, checksum adjustment (0), magic, flags, unitsPerEm, dates,
        # bbox, macStyle, lowestRecPPEM, direction hint, long loca offsets, glyph data format.
        b"head": struct.pack(">LLLLHHqqhhhhHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0b1011,
                             UNITS_PER_EM, 0, 0, 0, DESCENT_UNITS, ADVANCE_UNITS, ASCENT_UNITS, 0, 8, 2, 1, 0),
        b"hhea": struct.pack(">LhhhHhhhhhhhhhhhH", 0x00010000, ASCENT_UNITS, DESCENT_UNITS, 0, ADVANCE_UNITS,
                             0, 0, ADVANCE_UNITS, 1, 0, 0, 0, 0, 0, 0, 0, glyphs),
        b"maxp": struct.pack(">LHHHHHHHHHHHHHH", 0x00010000, glyphs, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
        b"hmtx": struct.pack(">" + "Hh" * glyphs, *([ADVANCE_UNITS, 0] * glyphs)),
        b"loca": struct.pack(f">{glyphs + 1}L", *([0] * (glyphs + 1))),  # every glyph empty
        b"glyf": b"\0\0\0\0",
        b"post": struct.pack(">LLhhLLLLL", 0x00030000, 0, 0, 0, 0, 0, 0, 0, 0),
        # cmap format 6 with no entries: an embedded CID font is addressed by glyph id, not by cmap.
        b"cmap": struct.pack(">HHHHL", 0, 1, 3, 1, 12) + struct.pack(">HHHHH", 6, 10, 0, 0, 0),
    }
    tags = sorted(tables)
    count = len(tags)
    entry_selector = count.bit_length() - 1
    search_range = (2 ** entry_selector) * 16
    header = struct.pack(">LHHHH", 0x00010000, count, search_range, entry_selector, count * 16 - search_range)
    offset = 12 + 16 * count
    directory, body = b"", b""
    for tag in tags:
        data = tables[tag]
        directory += struct.pack(">4sLLL", tag, _table_checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = header + directory + body
    adjustment = (0xB1B0AFBA - _table_checksum(font)) & 0xFFFFFFFF
    head_at = offset + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[:tags.index(b"head")])
    return font[:head_at + 8] + struct.pack(">L", adjustment) + font[head_at + 12:]


def add_font(pdf: Any, glyphs: GlyphMap) -> Any:
    """The Type0 font object (made indirect in ``pdf``) for the codes ``glyphs`` handed out."""
    import pikepdf

    Name = pikepdf.Name
    font_file = pdf.make_stream(glyphless_ttf())
    font_file.Length1 = len(glyphless_ttf())
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.FontDescriptor, FontName=Name("/" + FONT_NAME), Flags=5,
        FontBBox=[0, DESCENT_UNITS, ADVANCE_UNITS, ASCENT_UNITS], ItalicAngle=0, Ascent=ASCENT_UNITS,
        Descent=DESCENT_UNITS, CapHeight=ASCENT_UNITS, StemV=80, FontFile2=font_file))
    # Every code shows glyph 1 (the empty one): a two-byte big-endian glyph id per code.
    gid_map = pdf.make_stream(b"\0\0" + b"\0\1" * (len(glyphs.codes)))
    descendant = pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name("/" + FONT_NAME),
        CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"),
                                         Supplement=0),
        FontDescriptor=descriptor, DW=ADVANCE_UNITS, CIDToGIDMap=gid_map))
    return pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/" + FONT_NAME), Encoding=Name("/Identity-H"),
        DescendantFonts=[descendant], ToUnicode=pdf.make_stream(glyphs.to_unicode_cmap())))
