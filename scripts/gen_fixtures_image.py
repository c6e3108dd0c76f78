"""Goldens for test/data/image.test.ts and test/data/dicom.test.ts (run by `npm run fixtures`;
needs Pillow, numpy and torch from the venv).

Writes test/fixtures/data/image/:
  * golden.json.gz: PIL 12 references, each array base64 of its raw little-endian bytes:
      - resize: `Image.open(src).resize((w, h), Image.BILINEAR)` for real X-rays from
        ../shared/data/cxr-notes/images (only the file name is stored; tests re-read the source),
        optionally of a crop box first (to test upscaling without a large output).
      - rotate: torchvision's PIL path of `RandomAffine(degrees)` for a given angle:
        `F.affine` builds `_get_inverse_affine_matrix(center=[w*0.5, h*0.5], angle, [0,0], 1,
        [0,0])` (torchvision >= 0.8, no +0.5 on the centre) and calls
        `img.transform(img.size, Image.AFFINE, matrix, Image.NEAREST, fillcolor=0)`. The matrix
        is re-derived below from torchvision's source, since torchvision's wheel is not
        installable here. Input: the resize output of the named case; flip adds
        `transpose(FLIP_LEFT_RIGHT)` afterwards.
      - normalize: torch's ToTensor + Normalize on every uint8 value, `(v/255 - mean)/std` in
        float32, for both normalisations (pre-training and zero-shot).
      - gray: small synthetic PNG/JPEG files (RGB, RGBA, LA, P, 1/2/4-bit gray, 16-bit RGB,
        16-bit gray, RGB JPEG) with
        `Image.convert('L')` (or, for 16-bit, PIL's own I;16 and F resizes).
  * dicom/*.dcm: tiny Part-10 files written by hand (struct), with expected 16-bit outputs
    computed with numpy: modality rescale, the DICOM linear VOI window (PS3.3 C.11.2.1.2.1) or
    min..max, MONOCHROME1 inversion, then round(y * 65535). Listed in golden.json.gz["dicom"].

Usage: node scripts/python.mjs scripts/gen_fixtures_image.py
"""

import base64
import gzip
import io
import json
import math
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
IMAGES = os.path.join(ROOT, "..", "shared", "data", "cxr-notes", "images")
OUT = os.path.join(ROOT, "test", "fixtures", "data", "image")
PRETRAIN = (0.4755, 0.3011)
ZERO_SHOT = (0.5062731200407803, 0.28946775394688107)


def b64(arr):
    return base64.b64encode(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()).decode()


def inverse_rotation_matrix(angle, cx, cy):
    """torchvision.transforms.functional._get_inverse_affine_matrix with translate 0, scale 1, shear 0."""
    rot = math.radians(angle)
    sx, sy = 0.0, 0.0
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d, -b, 0.0, -c, a, 0.0]
    m = [x / 1.0 for x in m]
    m[2] += m[0] * (-cx - 0.0) + m[1] * (-cy - 0.0)
    m[5] += m[3] * (-cx - 0.0) + m[4] * (-cy - 0.0)
    m[2] += cx
    m[5] += cy
    return m


def torchvision_rotate(img, angle):
    w, h = img.size
    matrix = inverse_rotation_matrix(angle, w * 0.5, h * 0.5)
    return img.transform(img.size, Image.AFFINE, matrix, Image.NEAREST, fillcolor=0)


def resize_cases():
    cases = []
    specs = [
        ("cxr0001.jpg", None, (224, 224)),
        ("cxr0002.jpg", None, (64, 64)),
        ("cxr0003.jpg", None, (37, 53)),
        ("cxr0010.jpg", None, (64, 64)),
        ("cxr0020.jpg", None, (53, 37)),
        ("cxr0010.jpg", (10, 20, 50, 45), (97, 71)),  # upscale both ways
        ("cxr0020.jpg", (100, 90, 180, 190), (150, 50)),  # up in height, down in width
        ("cxr0003.jpg", None, (320, 16)),  # height unchanged: vertical pass skipped
    ]
    for name, crop, (h, w) in specs:
        im = Image.open(os.path.join(IMAGES, name))
        assert im.mode == "L", (name, im.mode)
        if crop is not None:
            im = im.crop(crop)
        out = im.resize((w, h), Image.BILINEAR)
        cases.append({"source": name, "crop": list(crop) if crop else None, "size": [h, w], "data": b64(np.array(out, np.uint8))})
    return cases


def rotate_cases(resized):
    cases = []
    for case_index, angles in [(1, [-5.0, -2.7, 0.0, 1.3, 3.33, 5.0, 45.0, 90.0, -90.0, 180.0]), (2, [-4.1, 2.5, 90.0]), (4, [0.7, -3.9]), (0, [4.2])]:
        h, w = resized[case_index]["size"]
        src = Image.fromarray(np.frombuffer(base64.b64decode(resized[case_index]["data"]), np.uint8).reshape(h, w), "L")
        for angle in angles:
            for flip in [False, True] if case_index == 1 and angle in (1.3, -5.0) else [False]:
                out = torchvision_rotate(src, angle)
                if flip:
                    out = out.transpose(Image.FLIP_LEFT_RIGHT)
                # Cross-check the convention against PIL's own rotate: torchvision's affine angle is
                # clockwise, PIL's rotate counter-clockwise, about the same centre (rotate rounds
                # its matrix to 15 digits, so a few pixels may differ).
                pil = np.array(src.rotate(-angle, Image.NEAREST, fillcolor=0), np.int32)
                ours = np.array(torchvision_rotate(src, angle), np.int32)
                assert np.mean(pil != ours) < 0.02, (angle, np.mean(pil != ours))
                cases.append({"resize": case_index, "angle": angle, "flip": flip, "data": b64(np.array(out, np.uint8))})
    return cases


def normalize_tables():
    v = torch.arange(256, dtype=torch.uint8).float().div(255)
    out = {}
    for name, (mean, std) in [("pretrain", PRETRAIN), ("zeroShot", ZERO_SHOT)]:
        t = (v - torch.tensor(mean, dtype=torch.float32)) / torch.tensor(std, dtype=torch.float32)
        out[name] = b64(t.numpy().astype(np.float32))
    return out


def png_rgb16(arr):
    h, w, _ = arr.shape
    raw = b"".join(b"\0" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def gray_cases():
    rs = np.random.RandomState(7)
    cases = []

    def png(im):
        buf = io.BytesIO()
        im.save(buf, "PNG")
        return buf.getvalue()

    rgb = Image.fromarray(rs.randint(0, 256, (17, 23, 3), dtype=np.uint8), "RGB")
    rgba = Image.fromarray(rs.randint(0, 256, (17, 23, 4), dtype=np.uint8), "RGBA")
    la = Image.fromarray(rs.randint(0, 256, (17, 23, 2), dtype=np.uint8), "LA")
    pal = rgb.quantize(50)
    for name, im in [("rgb.png", rgb), ("rgba.png", rgba), ("la.png", la), ("palette.png", pal)]:
        data = png(im)
        cases.append({"name": name, "file": b64(np.frombuffer(data, np.uint8)), "size": [im.size[1], im.size[0]], "bits": 8, "gray": b64(np.array(Image.open(io.BytesIO(data)).convert("L"), np.uint8))})
    # Low bit depths: PIL opens 2/4-bit gray as "L" scaled to 0..255, 1-bit as "1" (0/255 after convert).
    for bits in (1, 2, 4):
        im = Image.fromarray((rs.randint(0, 2**bits, (9, 13)) * (255 // (2**bits - 1))).astype(np.uint8), "L")
        buf = io.BytesIO()
        if bits == 1:
            im.convert("1").save(buf, "PNG")
        else:
            im.save(buf, "PNG", bits=bits)
        data = buf.getvalue()
        cases.append({"name": f"gray{bits}bit.png", "file": b64(np.frombuffer(data, np.uint8)), "size": [9, 13], "bits": 8, "gray": b64(np.array(Image.open(io.BytesIO(data)).convert("L"), np.uint8))})
    # 16-bit RGB (PIL cannot write it, so by hand): PIL opens it as 8-bit "RGB" (high bytes).
    rgb16 = rs.randint(0, 65536, (6, 7, 3)).astype(np.uint16)
    data = png_rgb16(rgb16)
    opened = Image.open(io.BytesIO(data))
    assert opened.mode == "RGB", opened.mode
    cases.append({"name": "rgb16.png", "file": b64(np.frombuffer(data, np.uint8)), "size": [6, 7], "bits": 8, "gray": b64(np.array(opened.convert("L"), np.uint8))})
    # A colour JPEG: decoder (IDCT, chroma upsampling, YCbCr->RGB) and luma together.
    smooth = np.stack([np.add.outer(np.arange(40) * 5, np.arange(48) * 3) % 256, np.add.outer(np.arange(40) * 2, np.arange(48) * 4) % 256, rs.randint(0, 256, (40, 48))], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(smooth, "RGB").save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    cases.append({"name": "rgb.jpg", "file": b64(np.frombuffer(data, np.uint8)), "size": [40, 48], "bits": 8, "gray": b64(np.array(Image.open(io.BytesIO(data)).convert("L"), np.uint8))})
    # 16-bit gray PNG: PIL opens it as "I;16"; goldens of its I;16 resize and of the float ("F") resize.
    g16 = (np.add.outer(np.arange(30) * 2000, np.arange(26) * 700) + rs.randint(0, 3000, (30, 26))).clip(0, 65535).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(g16).save(buf, "PNG")
    data = buf.getvalue()
    opened = Image.open(io.BytesIO(data))
    assert opened.mode == "I;16", opened.mode
    resized16 = np.array(opened.resize((11, 13), Image.BILINEAR), np.uint16)
    resized_f = np.array(Image.fromarray(g16.astype(np.float32), "F").resize((11, 13), Image.BILINEAR), np.float32)
    cases.append({"name": "gray16.png", "file": b64(np.frombuffer(data, np.uint8)), "size": [30, 26], "bits": 16, "gray": b64(np.array(opened, np.uint16)), "resized": {"size": [13, 11], "i16": b64(resized16), "f": b64(resized_f)}})
    return cases


# ---- DICOM ---------------------------------------------------------------------------------

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG2000 = "1.2.840.10008.1.2.4.90"
LONG_VRS = {"OB", "OW", "OF", "SQ", "UT", "UN"}


def pad(value, vr):
    if isinstance(value, str):
        value = value.encode("ascii")
        if len(value) % 2:
            value += b"\0" if vr == "UI" else b" "
    elif len(value) % 2:
        value += b"\0"
    return value


def element(group, elem, vr, value, syntax):
    value = pad(value, vr)
    big = syntax == EXPLICIT_BE and group != 0x0002
    e = ">" if big else "<"
    if syntax == IMPLICIT_LE and group != 0x0002:
        return struct.pack("<HHI", group, elem, len(value)) + value
    if vr in LONG_VRS:
        return struct.pack(e + "HH", group, elem) + vr.encode() + b"\0\0" + struct.pack(e + "I", len(value)) + value
    return struct.pack(e + "HH", group, elem) + vr.encode() + struct.pack(e + "H", len(value)) + value


def us(v, syntax):
    return struct.pack(">H" if syntax == EXPLICIT_BE else "<H", v)


def write_dicom(path, syntax, rows, cols, photometric, bits_allocated, bits_stored, signed, pixel_bytes, window=None, rescale=None, encapsulated=None, preamble=True):
    meta = b"".join([
        element(0x0002, 0x0001, "OB", b"\0\1", syntax),
        element(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.1.1", syntax),
        element(0x0002, 0x0003, "UI", "1.2.3.4.5.6.7", syntax),
        element(0x0002, 0x0010, "UI", syntax, syntax),
    ])
    meta = element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta)), syntax) + meta
    ds = [
        element(0x0028, 0x0002, "US", us(1, syntax), syntax),
        element(0x0028, 0x0004, "CS", photometric, syntax),
        element(0x0028, 0x0010, "US", us(rows, syntax), syntax),
        element(0x0028, 0x0011, "US", us(cols, syntax), syntax),
        element(0x0028, 0x0100, "US", us(bits_allocated, syntax), syntax),
        element(0x0028, 0x0101, "US", us(bits_stored, syntax), syntax),
        element(0x0028, 0x0102, "US", us(bits_stored - 1, syntax), syntax),
        element(0x0028, 0x0103, "US", us(1 if signed else 0, syntax), syntax),
    ]
    if window is not None:
        ds.append(element(0x0028, 0x1050, "DS", window[0], syntax))
        ds.append(element(0x0028, 0x1051, "DS", window[1], syntax))
    if rescale is not None:
        ds.append(element(0x0028, 0x1052, "DS", rescale[1], syntax))
        ds.append(element(0x0028, 0x1053, "DS", rescale[0], syntax))
    if encapsulated is not None:
        frag = pad(encapsulated, "OB")
        body = struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, len(frag)) + frag + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
        ds.append(struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF) + body)
    else:
        ds.append(element(0x7FE0, 0x0010, "OW" if bits_allocated == 16 else "OB", pixel_bytes, syntax))
    data = (b"\0" * 128 + b"DICM" + meta if preamble else b"") + b"".join(ds)
    with open(path, "wb") as f:
        f.write(data)


def voi(x, center, width):
    """DICOM linear VOI LUT to [0, 1] (PS3.3 C.11.2.1.2.1)."""
    if width == 1:
        return np.where(x <= center - 0.5, 0.0, 1.0)
    y = (x - (center - 0.5)) / (width - 1) + 0.5
    return np.clip(y, 0.0, 1.0)


def expected16(stored, slope, intercept, window, monochrome1):
    x = stored.astype(np.float64) * slope + intercept
    if window is not None:
        y = voi(x, window[0], window[1])
    else:
        lo, hi = x.min(), x.max()
        y = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    if monochrome1:
        y = 1.0 - y
    return np.floor(y * 65535 + 0.5).astype(np.uint16)


def dicom_cases():
    d = os.path.join(OUT, "dicom")
    os.makedirs(d, exist_ok=True)
    rs = np.random.RandomState(3)
    cases = []

    def add(name, syntax, stored, photometric, bits_allocated, bits_stored, signed, window=None, rescale=None, raw=None, preamble=True, window_strings=None):
        rows, cols = stored.shape
        if raw is None:
            dtype = {(8, False): "u1", (16, False): "u2", (16, True): "i2"}[(bits_allocated, signed)]
            order = ">" if syntax == EXPLICIT_BE else "<"
            raw = stored.astype(order + dtype).tobytes()
        win = window_strings if window_strings is not None else (None if window is None else (repr(float(window[0])), repr(float(window[1]))))
        resc = None if rescale is None else (repr(float(rescale[0])), repr(float(rescale[1])))
        write_dicom(os.path.join(d, name), syntax, rows, cols, photometric, bits_allocated, bits_stored, signed, raw, win, resc, preamble=preamble)
        slope, intercept = rescale if rescale is not None else (1.0, 0.0)
        exp = expected16(stored, slope, intercept, window, photometric == "MONOCHROME1")
        cases.append({"file": name, "size": [rows, cols], "expected": b64(exp)})

    add("mono2-u8-explicit-le.dcm", EXPLICIT_LE, rs.randint(10, 200, (6, 5)), "MONOCHROME2", 8, 8, False)
    add("mono1-u16-implicit-le-window.dcm", IMPLICIT_LE, rs.randint(0, 4096, (5, 7)), "MONOCHROME1", 16, 16, False,
        window=(1500.0, 2000.0), window_strings=("1500\\40", "2000\\400"))
    add("mono2-s16-explicit-be-rescale-window.dcm", EXPLICIT_BE, rs.randint(-2000, 2000, (4, 6)), "MONOCHROME2", 16, 16, True,
        window=(40.0, 400.0), rescale=(2.0, -1024.0))
    add("mono2-s16-explicit-le-rescale.dcm", EXPLICIT_LE, rs.randint(-1000, 3000, (7, 3)), "MONOCHROME2", 16, 16, True, rescale=(0.5, 100.0))
    add("mono1-u8-window1.dcm", EXPLICIT_LE, rs.randint(0, 256, (3, 4)), "MONOCHROME1", 8, 8, False, window=(100.0, 1.0))
    # 12 bits stored in 16 allocated, with junk in the unused high bits (overlay bits in old files).
    stored12 = rs.randint(0, 4096, (5, 5))
    junk = stored12 | (rs.randint(0, 16, (5, 5)) << 12)
    add("mono2-u12-junk-high-bits.dcm", EXPLICIT_LE, stored12, "MONOCHROME2", 16, 12, False, raw=junk.astype("<u2").tobytes())
    # Signed 12-bit: sign bit is bit 11.
    s12 = rs.randint(-2048, 2048, (4, 4))
    add("mono2-s12.dcm", EXPLICIT_LE, s12, "MONOCHROME2", 16, 12, True, raw=(s12 & 0x0FFF).astype("<u2").tobytes())
    # No Part-10 preamble (a bare implicit-LE dataset, recognised by the .dcm name).
    add("bare-implicit.dcm", IMPLICIT_LE, rs.randint(0, 1000, (3, 3)), "MONOCHROME2", 16, 16, False, preamble=False)

    # JPEG baseline fragment: expected from PIL's decode of the same bytes.
    pix = (np.add.outer(np.arange(24) * 6, np.arange(16) * 9) % 256).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pix, "L").save(buf, "JPEG", quality=85)
    jpeg = buf.getvalue()
    decoded = np.array(Image.open(io.BytesIO(jpeg)), np.uint8)
    write_dicom(os.path.join(d, "jpeg-baseline-mono1.dcm"), JPEG_BASELINE, 24, 16, "MONOCHROME1", 8, 8, False, None, encapsulated=jpeg)
    cases.append({"file": "jpeg-baseline-mono1.dcm", "size": [24, 16], "expected": b64(expected16(decoded, 1.0, 0.0, None, True))})
    # An unsupported compressed syntax: must be refused, naming the UID.
    write_dicom(os.path.join(d, "jpeg2000.dcm"), JPEG2000, 2, 2, "MONOCHROME2", 8, 8, False, None, encapsulated=b"\xff\x4f\xff\x51junk")
    cases.append({"file": "jpeg2000.dcm", "error": JPEG2000})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    resized = resize_cases()
    golden = {
        "pillow": Image.__version__,
        "resize": resized,
        "rotate": rotate_cases(resized),
        "normalize": normalize_tables(),
        "gray": gray_cases(),
        "dicom": dicom_cases(),
    }
    # mtime=0: the same inputs give the same bytes, so re-running leaves git clean.
    with open(os.path.join(OUT, "golden.json.gz"), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(json.dumps(golden).encode())
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
