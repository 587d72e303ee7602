#!/usr/bin/env python3
"""Marks an ELF shared library's version need GLIBCXX_3.4.32 as weak, so it loads against an older libstdc++.

TorchSharp 0.107's libLibTorchSharp.so lists GLIBCXX_3.4.32 among the versions it needs from libstdc++.so.6 for
a single symbol that it never calls. Debian 12's libstdc++ only goes up to GLIBCXX_3.4.30, so the dynamic
loader refuses the whole library ("version `GLIBCXX_3.4.32' not found"). Setting VER_FLG_WEAK (0x2) in the
vna_flags of that Vernaux entry turns the missing version into a non-fatal condition; the symbol itself would
still fail to bind if it were ever called, which it is not.

Usage: weaken-glibcxx.py LIBRARY.so [LIBRARY.so ...]

Python 3 standard library only. Idempotent: a library whose entry is already weak, or that does not need
the version at all, is left untouched. A changed library is written to a temporary file beside it and renamed
over it, so a hard link into the NuGet cache is never modified in place.
"""

import os
import struct
import sys
import tempfile

VERSION = b"GLIBCXX_3.4.32"
SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


class ElfError(Exception):
    pass


def weaken(data: bytearray, version: bytes) -> tuple[int, int]:
    """Sets VER_FLG_WEAK on every Vernaux entry naming `version`; returns (entries found, entries changed)."""
    if data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2:
        raise ElfError("not a 64-bit ELF file (EI_CLASS is not ELFCLASS64)")
    if data[5] == 1:
        e = "<"
    elif data[5] == 2:
        e = ">"
    else:
        raise ElfError(f"unknown byte order EI_DATA={data[5]}")

    # Elf64_Ehdr: e_shoff at 0x28, e_shentsize at 0x3A, e_shnum at 0x3C.
    (e_shoff,) = struct.unpack_from(e + "Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from(e + "HH", data, 0x3A)
    if e_shoff == 0 or e_shnum == 0:
        raise ElfError("no section header table")
    if e_shentsize < 64 or e_shoff + e_shnum * e_shentsize > len(data):
        raise ElfError("section header table out of bounds")

    def section(index):
        # Elf64_Shdr: sh_name, sh_type (I I), sh_flags, sh_addr, sh_offset, sh_size (Q Q Q Q), sh_link, sh_info (I I), ...
        base = e_shoff + index * e_shentsize
        _, sh_type, _, _, sh_offset, sh_size, sh_link, sh_info = struct.unpack_from(e + "IIQQQQII", data, base)
        return sh_type, sh_offset, sh_size, sh_link, sh_info

    found = changed = 0
    for index in range(e_shnum):
        sh_type, offset, size, link, info = section(index)
        if sh_type != SHT_GNU_VERNEED:
            continue
        if offset + size > len(data) or link >= e_shnum:
            raise ElfError(".gnu.version_r section out of bounds")
        _, str_offset, str_size, _, _ = section(link)  # the linked string table, .dynstr

        def name_at(name_offset):
            if name_offset >= str_size:
                raise ElfError("version name outside .dynstr")
            start = str_offset + name_offset
            end = data.index(b"\0", start, str_offset + str_size)
            return bytes(data[start:end])

        need = offset
        for _ in range(info):  # sh_info: the number of Verneed entries
            # Elf64_Verneed: vn_version (H), vn_cnt (H), vn_file (I), vn_aux (I), vn_next (I).
            _, vn_cnt, _, vn_aux, vn_next = struct.unpack_from(e + "HHIII", data, need)
            aux = need + vn_aux
            for _ in range(vn_cnt):
                # Elf64_Vernaux: vna_hash (I), vna_flags (H), vna_other (H), vna_name (I), vna_next (I).
                if aux + 16 > offset + size:
                    raise ElfError("Vernaux entry outside .gnu.version_r")
                _, vna_flags, _, vna_name, vna_next = struct.unpack_from(e + "IHHII", data, aux)
                if name_at(vna_name) == version:
                    found += 1
                    if not vna_flags & VER_FLG_WEAK:
                        struct.pack_into(e + "H", data, aux + 4, vna_flags | VER_FLG_WEAK)
                        changed += 1
                if vna_next == 0:
                    break
                aux += vna_next
            if vn_next == 0:
                break
            need += vn_next
    return found, changed


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: weaken-glibcxx.py LIBRARY.so [LIBRARY.so ...]", file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = bytearray(f.read())
            found, changed = weaken(data, VERSION)
        except (OSError, ElfError, struct.error, ValueError) as error:
            print(f"weaken-glibcxx: {path}: {error}", file=sys.stderr)
            status = 1
            continue
        name = VERSION.decode()
        if found == 0:
            print(f"weaken-glibcxx: {path}: does not need {name}; unchanged")
        elif changed == 0:
            print(f"weaken-glibcxx: {path}: {name} already weak; unchanged")
        else:
            directory = os.path.dirname(os.path.abspath(path))
            mode = os.stat(path).st_mode & 0o7777
            fd, temporary = tempfile.mkstemp(prefix=".weaken-", dir=directory)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(temporary, mode)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
            print(f"weaken-glibcxx: {path}: marked {name} weak")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
