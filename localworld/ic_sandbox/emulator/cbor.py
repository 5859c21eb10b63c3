"""A small CBOR (RFC 8949) codec: the subset smithy RPC v2 CBOR bodies use.

Decoding takes every major type, definite and indefinite lengths, half/single/double floats
and tag 1 (epoch seconds, returned as the number, which is how the handlers take
timestamps). Encoding is guided by the botocore output shape so timestamps go out as tag 1,
as smithy RPC v2 CBOR requires. Written here rather than adding a dependency: it is about a
hundred lines, and botocore's own codec checks it in the tests.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


class CborError(ValueError):
    pass


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise CborError("truncated CBOR data")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def argument(self, info: int) -> int | None:
        """The head's argument; None for indefinite length (info 31)."""
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            return int.from_bytes(self.take(size), "big")
        if info == 31:
            return None
        raise CborError(f"reserved additional information {info}")

    def item(self) -> Any:
        head = self.take(1)[0]
        major, info = head >> 5, head & 0x1F
        if major == 7:
            return self._simple(info)
        arg = self.argument(info)
        if major == 0:
            return arg
        if major == 1:
            assert arg is not None
            return -1 - arg
        if major in (2, 3):
            raw = self._string(major, arg)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            if arg is None:
                return list(self._until_break())
            return [self.item() for _ in range(arg)]
        if major == 5:
            if arg is None:
                flat = list(self._until_break())
                return dict(zip(flat[::2], flat[1::2], strict=True))
            return {self.item(): self.item() for _ in range(arg)}
        # major 6: a tag; tag 1 is epoch seconds, others pass their content through
        return self.item()

    def _string(self, major: int, arg: int | None) -> bytes:
        if arg is not None:
            return self.take(arg)
        parts = bytearray()
        while self.data[self.pos] != 0xFF:
            head = self.take(1)[0]
            if head >> 5 != major:
                raise CborError("mixed chunk types in an indefinite-length string")
            size = self.argument(head & 0x1F)
            if size is None:
                raise CborError("nested indefinite-length string")
            parts += self.take(size)
        self.pos += 1
        return bytes(parts)

    def _until_break(self) -> Any:
        while True:
            if self.pos >= len(self.data):
                raise CborError("missing break")
            if self.data[self.pos] == 0xFF:
                self.pos += 1
                return
            yield self.item()

    def _simple(self, info: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        if info < 24:
            return None
        raise CborError(f"unsupported simple value {info}")


def loads(data: bytes) -> Any:
    reader = _Reader(data)
    value = reader.item()
    if reader.pos != len(data):
        raise CborError("trailing bytes after the CBOR item")
    return value


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise CborError("integer too large for CBOR")


def _encode(out: bytearray, value: Any, shape: Shape | None) -> None:
    kind = shape.type_name if shape is not None else None
    if value is None:
        out.append(0xF6)
    elif isinstance(value, bool):
        out.append(0xF5 if value else 0xF4)
    elif kind == "timestamp" and isinstance(value, int | float):
        out += _head(6, 1)
        _encode(out, float(value), None)
    elif isinstance(value, int):
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, float):
        if kind in ("integer", "long") and math.isfinite(value) and value.is_integer():
            _encode(out, int(value), None)
        else:
            out += b"\xfb" + struct.pack(">d", value)
    elif isinstance(value, bytes | bytearray):
        out += _head(2, len(value)) + value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        out += _head(3, len(raw)) + raw
    elif isinstance(value, list | tuple):
        member = shape.member if isinstance(shape, ListShape) else None
        out += _head(4, len(value))
        for item in value:
            _encode(out, item, member)
    elif isinstance(value, dict):
        out += _head(5, len(value))
        for key, item in value.items():
            _encode(out, key, None)
            if isinstance(shape, StructureShape):
                child: Shape | None = shape.members.get(key)
            elif isinstance(shape, MapShape):
                child = shape.value
            else:
                child = None
            _encode(out, item, child)
    else:
        raise CborError(f"cannot encode {type(value).__name__}")


def dumps(value: Any, shape: Shape | None = None) -> bytes:
    out = bytearray()
    _encode(out, value, shape)
    return bytes(out)
