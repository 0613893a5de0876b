"""Builders of hostile inputs for the hardening tests (#14): zip bombs, formula workbooks.

Everything large is generated here at test time; nothing big is stored in tests/data.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import openpyxl

HEAD = ["名称", "类型", "乡镇（街道）", "经度", "纬度"]
ROW = ["太平乡儿童之家", "儿童之家", "太平乡", 119.875, 28.545]
_SHEET_OPEN = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_CLOSE = b"</sheetData></worksheet>"


def small_workbook(rows: list[list] | None = None) -> bytes:
    """A valid one-sheet inventory (header + rows) as .xlsx bytes."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEAD)
    for r in rows if rows is not None else [ROW]:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def bomb(path: Path, inflated_mb: int, part: str = "xl/worksheets/sheet1.xml") -> Path:
    """The small workbook with ``part`` replaced by ``inflated_mb`` MB of XML whitespace.

    Whitespace deflates about 1000:1, so a 100 MB bomb is ~100 KB on disk.
    """
    base = small_workbook()
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        if part not in names:
            names.append(part)
        for name in names:
            if name != part:
                dst.writestr(name, src.read(name))
                continue
            with dst.open(name, "w", force_zip64=True) as fh:
                if part.endswith("sharedStrings.xml"):
                    fh.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                             b'spreadsheetml/2006/main">')
                    item = b"<si><t>x</t></si>" * 60_000
                    for _ in range(inflated_mb):
                        fh.write(item)
                    fh.write(b"</sst>")
                else:
                    fh.write(_SHEET_OPEN)
                    for _ in range(inflated_mb):
                        fh.write(chunk)
                    fh.write(_SHEET_CLOSE)
    return path


def understated_bomb(path: Path, inflated_mb: int = 30, declared: int = 500_000) -> Path:
    """A bomb whose zip directory declares ``declared`` bytes for the sheet (it inflates more)."""
    bomb(path, inflated_mb)
    data = bytearray(path.read_bytes())
    target = b"xl/worksheets/sheet1.xml"
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:  # central directory entries
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46:pos + 46 + name_len]) == target:
            extra_len = struct.unpack_from("<H", data, pos + 30)[0]
            extra = pos + 46 + name_len
            if struct.unpack_from("<I", data, pos + 24)[0] == 0xFFFFFFFF:  # zip64: sizes in the extra
                i = extra
                while i < extra + extra_len:
                    tag, size = struct.unpack_from("<HH", data, i)
                    if tag == 1:
                        struct.pack_into("<Q", data, i + 4, declared)
                    i += 4 + size
            else:
                struct.pack_into("<I", data, pos + 24, declared)
        pos += 4
    path.write_bytes(bytes(data))
    return path


def formula_workbook(path: Path) -> Path:
    """Coordinates as formulas saved without cached values (as scripts write them), plus
    ``#N/A`` and ``#VALUE!`` error cells."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["编号", *HEAD])
    ws.append(["A1", *ROW])
    ws.append(["A2", "联城儿童之家", "儿童之家", "联城街道", "=119.8+0.05", "=28.4+0.07"])
    ws.append(["A3", "#N/A", "儿童之家", "太平乡", 119.875, 28.545])
    ws.append(["#VALUE!", "太平乡二号儿童之家", "儿童之家", "太平乡", 119.876, 28.546])
    wb.save(path)  # openpyxl writes "#N/A" as an error cell (t="e") and no cached formula value
    return path
