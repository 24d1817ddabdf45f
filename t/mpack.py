# mpack.py: the tests' msgpack encoder and decoder, for the few types
# records use (nil, bool, int, float, str, array, map).  pack() writes the
# shortest forms; pack(v, wide=True) the 32-bit ones only, to check that
# a decoder takes every width.  t/0301 and t/0302 import it.
import struct

def pack(v, wide=False):
    if v is None: return b"\xc0"
    if isinstance(v, bool): return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128 and not wide: return bytes([v])
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float): return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if wide: return b"\xdb" + struct.pack(">I", len(b)) + b
        return (bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xda" + struct.pack(">H", len(b))) + b
    if isinstance(v, list):
        head = b"\xdd" + struct.pack(">I", len(v)) if wide else b"\xdc" + struct.pack(">H", len(v))
        return head + b"".join(pack(x, wide) for x in v)
    if isinstance(v, dict):
        head = b"\xdf" + struct.pack(">I", len(v)) if wide else b"\xde" + struct.pack(">H", len(v))
        return head + b"".join(pack(k, wide) + pack(x, wide) for k, x in v.items())
    raise TypeError(v)

def unpack(b, i=0):
    """The value that starts at b[i], and the index after it."""
    c = b[i]; i += 1
    if c < 0x80: return c, i
    if c >= 0xe0: return c - 256, i
    if c & 0xe0 == 0xa0: n = c & 31; return b[i:i+n].decode(), i + n
    if c & 0xf0 in (0x80, 0x90): n, m = c & 15, c & 0xf0 == 0x80
    elif c in (0xdc, 0xde): n, m = struct.unpack(">H", b[i:i+2])[0], c == 0xde; i += 2
    elif c in (0xdd, 0xdf): n, m = struct.unpack(">I", b[i:i+4])[0], c == 0xdf; i += 4
    elif c == 0xc0: return None, i
    elif c in (0xc2, 0xc3): return c == 0xc3, i
    elif c == 0xcb: return struct.unpack(">d", b[i:i+8])[0], i + 8
    elif c in (0xd9, 0xda, 0xdb):
        k = {0xd9: ">B", 0xda: ">H", 0xdb: ">I"}[c]; w = struct.calcsize(k)
        n = struct.unpack(k, b[i:i+w])[0]; return b[i+w:i+w+n].decode(), i + w + n
    elif c in (0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3):
        f = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q", 0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q"}[c]
        k = struct.calcsize(f); return struct.unpack(f, b[i:i+k])[0], i + k
    else: raise ValueError(hex(c))
    out = {} if m else []
    for _ in range(n):
        if m:
            k, i = unpack(b, i); out[k], i = unpack(b, i)
        else:
            x, i = unpack(b, i); out.append(x)
    return out, i
