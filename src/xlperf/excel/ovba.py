"""MS-OVBA 2.4.1 compression (VBA 源码压缩), the LZ77 variant used for VBA module and ``dir`` streams.

A CompressedContainer is the signature byte ``0x01`` followed by chunks of at most 4096 decompressed
bytes.  Each chunk has a 2-byte header (size - 3, signature ``0b011``, compressed flag) and either
token sequences (a flag byte, then 8 literals or 2-byte copy tokens) or 4096 raw bytes.

:func:`compress` follows the spec's matching rule exactly (longest match, nearest on ties); a hash
chain of 3-byte prefixes only skips candidates that cannot match.  Aspose, which wrote the VBA in
xlwings' shipped workbooks, takes the farthest of equally long matches: same chunk sizes, same
decoded bytes, different copy-token offsets.  A chunk that does not compress is stored raw only if
it is a full 4096 bytes, since the spec pads a short raw chunk with zeros.
"""

from __future__ import annotations

_CHUNK = 4096


def compress(data: bytes) -> bytes:
    """Compress *data* into an MS-OVBA CompressedContainer (压缩)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start : start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) <= _CHUNK:
            out += (0xB000 | (len(body) - 1)).to_bytes(2, "little") + body
        elif len(chunk) == _CHUNK:
            out += (0x3FFF).to_bytes(2, "little") + chunk
        else:
            raise ValueError(
                "incompressible final chunk: MS-OVBA pads raw chunks to 4096 bytes, which would corrupt it"
            )
    return bytes(out)


def decompress(data: bytes) -> bytes:
    """Decompress an MS-OVBA CompressedContainer (解压); raise ``ValueError`` if it is malformed."""
    if not data or data[0] != 0x01:
        raise ValueError("not an MS-OVBA compressed container (signature byte must be 0x01)")
    out = bytearray()
    pos = 1
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError(f"truncated chunk header at offset {pos}")
        header = int.from_bytes(data[pos : pos + 2], "little")
        if (header >> 12) & 0b111 != 0b011:
            raise ValueError(f"bad chunk signature at offset {pos}")
        end = pos + (header & 0x0FFF) + 3
        if end > len(data):
            raise ValueError(f"chunk at offset {pos} runs past the end of the data")
        if header & 0x8000:
            _decompress_chunk(data[pos + 2 : end], out)
        elif end - pos == _CHUNK + 2:
            out += data[pos + 2 : end]
        else:
            raise ValueError(f"raw chunk at offset {pos} is not 4096 bytes")
        pos = end
    return bytes(out)


def _split(position: int) -> int:
    """Bits of a copy token used for the offset at *position* within the chunk (CopyToken Help)."""
    return max((position - 1).bit_length(), 4)


def _compress_chunk(chunk: bytes) -> bytes:
    out = bytearray()
    chains: dict[bytes, list[int]] = {}
    pos = indexed = 0
    while pos < len(chunk):
        flag_at = len(out)
        out.append(0)
        for bit in range(8):
            if pos >= len(chunk):
                break
            for i in range(indexed, pos):
                chains.setdefault(chunk[i : i + 3], []).append(i)
            indexed = pos
            offset, length = _longest_match(chunk, pos, chains)
            if length:
                bits = _split(pos)
                length = min(length, (0xFFFF >> bits) + 3)
                out += (((offset - 1) << (16 - bits)) | (length - 3)).to_bytes(2, "little")
                out[flag_at] |= 1 << bit
                pos += length
            else:
                out.append(chunk[pos])
                pos += 1
    return bytes(out)


def _longest_match(chunk: bytes, pos: int, chains: dict[bytes, list[int]]) -> tuple[int, int]:
    """Offset and length of the longest earlier match (nearest on ties), or ``(0, 0)`` if under 3 bytes."""
    end = len(chunk)
    best_len = best_at = 0
    for candidate in reversed(chains.get(chunk[pos : pos + 3], ())):
        if best_len and chunk[candidate + best_len] != chunk[pos + best_len]:
            continue
        length = 0
        while pos + length < end and chunk[candidate + length] == chunk[pos + length]:
            length += 1
        if length > best_len:
            best_len, best_at = length, candidate
            if pos + length == end:
                break
    return (pos - best_at, best_len) if best_len >= 3 else (0, 0)


def _decompress_chunk(body: bytes, out: bytearray) -> None:
    start = len(out)
    i = 0
    while i < len(body):
        flags = body[i]
        i += 1
        for bit in range(8):
            if i >= len(body):
                break
            if not flags >> bit & 1:
                out.append(body[i])
                i += 1
                continue
            if i + 2 > len(body):
                raise ValueError("truncated copy token")
            token = int.from_bytes(body[i : i + 2], "little")
            i += 2
            bits = _split(len(out) - start)
            length = (token & (0xFFFF >> bits)) + 3
            source = len(out) - (token >> (16 - bits)) - 1
            if source < start:
                raise ValueError("copy token points before the start of its chunk")
            for k in range(length):
                out.append(out[source + k])
