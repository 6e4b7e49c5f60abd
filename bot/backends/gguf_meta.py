"""One string from a GGUF file's metadata, read from its header in pure Python (no weights, no
llama.cpp): what tells a chat model (its `tokenizer.chat_template`) from a base model.

The layout, from the format's specification (ggerganov/ggml docs/gguf.md): "GGUF", a uint32
version, a uint64 tensor count and a uint64 key-value count, then each pair as a key (a uint64
length and UTF-8 bytes), a uint32 value type and the value; a string is a uint64 length and
its bytes, an array a uint32 element type, a uint64 count and the elements. Everything is
little-endian. Keys come before the tensor table, so the weights are never read; the
vocabulary arrays on the way are skipped, not decoded.
"""

from __future__ import annotations

import mmap
import struct

CHAT_TEMPLATE_KEY = "tokenizer.chat_template"  # docs/gguf.md: "a Jinja template ... the input format"
_STRING, _ARRAY = 8, 9
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # type -> bytes
_U64 = struct.Struct("<Q")
_MAX_KEYS = 1 << 20  # a header claiming more is not a GGUF we can read


class _Malformed(Exception):
    """The header does not parse as the specification says."""


class _Reader:
    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data, self.at = data, 0

    def take(self, size: int) -> int:
        start = self.at
        self.at += size
        if size < 0 or self.at > len(self.data):
            raise _Malformed
        return start

    def u32(self) -> int:
        return int(struct.unpack_from("<I", self.data, self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack_from("<Q", self.data, self.take(8))[0])

    def string(self) -> bytes:
        size = self.u64()
        start = self.take(size)
        return bytes(self.data[start:start + size])

    def skip_value(self, kind: int) -> None:
        if kind in _FIXED:
            self.take(_FIXED[kind])
        elif kind == _STRING:
            self.take(self.u64())
        elif kind == _ARRAY:
            element, count = self.u32(), self.u64()
            if element in _FIXED:
                self.take(_FIXED[element] * count)
            elif element == _STRING:  # a vocabulary: 150,000 strings, skipped in a tight loop
                data, at, unpack = self.data, self.at, _U64.unpack_from
                for _ in range(count):
                    at += 8 + unpack(data, at)[0]
                self.take(at - self.at)
            else:
                for _ in range(count):  # strings (the vocabulary) or nested arrays
                    self.skip_value(element)
        else:
            raise _Malformed


def gguf_string(path: str, key: str) -> str | None:
    """The string value of `key` in the GGUF at `path`; None when absent, not a string, or the
    file is no GGUF this reader understands (llama.cpp then says what is wrong with it)."""
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _find(_Reader(data), key.encode("utf-8"))
    except (OSError, ValueError, struct.error, RecursionError, _Malformed, UnicodeDecodeError):
        return None


def _find(reader: _Reader, wanted: bytes) -> str | None:
    if bytes(reader.data[reader.take(4):4]) != b"GGUF" or reader.u32() not in (2, 3):
        return None  # version 1 (uint32 counts) predates chat templates; big-endian files read as huge versions
    reader.u64()  # tensors
    keys = reader.u64()
    if keys > _MAX_KEYS:
        return None
    for _ in range(keys):
        key, kind = reader.string(), reader.u32()
        if key == wanted and kind == _STRING:
            return reader.string().decode("utf-8")
        reader.skip_value(kind)
    return None


def has_chat_template(path: str) -> bool:
    """Whether the GGUF carries a chat template (an instruct or chat model) and not only a vocabulary."""
    return bool((gguf_string(path, CHAT_TEMPLATE_KEY) or "").strip())
