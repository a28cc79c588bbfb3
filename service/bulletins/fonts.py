"""The PDF's Chinese font: Noto Sans CJK SC, with a standalone cut of it to the common characters first.

WeasyPrint embeds a subset of every font face a document uses, made per document by HarfBuzz, and it
keeps glyph ids: every glyph id below the highest one used stays in the subset as an empty entry. A
face of Debian's Noto CJK collection (``fonts-noto-cjk``: one 20 MB ``.ttc`` for ten faces, 65,535
glyphs each) therefore costs ~100 ms of subsetting per face and document and ~160 kB per face in the
PDF, whatever the few hundred characters used. Report cards go out by the hundred
(docs/performance.md), so :func:`common_faces` builds, once, a standalone font per weight - the same
face cut to GB 2312 (its 6,763 hanzi) plus Latin, punctuation and symbols, ~14,000 glyphs, 3.5 MB -
and the PDF stylesheet lists it before the full face: every character it has is drawn from it, and
any other (a rare character in a school's name) from the full face behind it, so every character
keeps the outlines and metrics it had. Subsetting then costs a quarter and the PDF is half the size.

The cut is made by HarfBuzz's subsetter (``libharfbuzz-subset``, which WeasyPrint loads anyway; under
a second per face) and kept in the instance folder (``fonts/``) under a name that changes with the
source file, so a font package upgrade builds it again. If anything is missing (fontconfig does not
know the face, the library is not there) the stylesheet names the full face only, as before.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FAMILY = "Noto Sans CJK SC"
COMMON_FAMILY = f"{FAMILY} Common"
WEIGHTS = {"regular": 400, "bold": 700}  # what fonts-noto-cjk ships; CSS 600 resolves to bold
CHARSET_VERSION = "gb2312-1"  # part of the file name: change it when the character set changes

# Beside GB 2312: Latin with accents, general punctuation to math operators (dashes, arrows, −, ×),
# enclosed numbers, box shapes, CJK punctuation, full-width forms.
RANGES = (
    (0x0020, 0x024F),
    (0x2000, 0x22FF),
    (0x2460, 0x24FF),
    (0x25A0, 0x25FF),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


@dataclass(frozen=True)
class Face:
    path: str
    index: int


def charset() -> list[int]:
    """The code points of the common cut, sorted."""
    points = {c for first, last in RANGES for c in range(first, last + 1)}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return sorted(points)


def locate(weight: str) -> Face | None:
    """The file and face index fontconfig gives for the family at ``weight``, if it is that family.

    Asked through libfontconfig (which Pango, hence WeasyPrint, loads anyway) rather than the
    ``fc-match`` program, which the slim image does not have."""
    try:
        from cffi import FFI

        ffi = FFI()
        ffi.cdef(_FC_CDEF)
        fc = ffi.dlopen("libfontconfig.so.1")
    except (ImportError, OSError):
        return None
    pattern = fc.FcNameParse(f"{FAMILY}:{weight}".encode())
    if pattern == ffi.NULL:
        return None
    try:
        fc.FcConfigSubstitute(ffi.NULL, pattern, 0)  # FcMatchPattern, the default configuration
        fc.FcDefaultSubstitute(pattern)
        result = ffi.new("int *")
        match = fc.FcFontMatch(ffi.NULL, pattern, result)
    finally:
        fc.FcPatternDestroy(pattern)
    if match == ffi.NULL:
        return None
    try:
        value = ffi.new("unsigned char **")
        families = []
        while fc.FcPatternGetString(match, b"family", len(families), value) == 0:  # FcResultMatch
            families.append(ffi.string(value[0]).decode())
        if FAMILY not in families:
            return None  # fontconfig's nearest match is another font: the package is not installed
        if fc.FcPatternGetString(match, b"file", 0, value) != 0:
            return None
        path = ffi.string(value[0]).decode()
        index = ffi.new("int *")
        if fc.FcPatternGetInteger(match, b"index", 0, index) != 0:
            index[0] = 0
        return Face(path, int(index[0]))
    finally:
        fc.FcPatternDestroy(match)


_FC_CDEF = """
typedef struct _FcPattern FcPattern;
typedef struct _FcConfig FcConfig;
FcPattern *FcNameParse(const unsigned char *name);
int FcConfigSubstitute(FcConfig *config, FcPattern *p, int kind);
void FcDefaultSubstitute(FcPattern *pattern);
FcPattern *FcFontMatch(FcConfig *config, FcPattern *p, int *result);
int FcPatternGetString(const FcPattern *p, const char *object, int n, unsigned char **s);
int FcPatternGetInteger(const FcPattern *p, const char *object, int n, int *i);
void FcPatternDestroy(FcPattern *p);
"""

_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
hb_blob_t *hb_blob_create_from_file_or_fail(const char *file_name);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
void hb_set_add(hb_set_t *set, uint32_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_unicode_set(hb_subset_input_t *input);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""


def cut(face: Face, codepoints: list[int]) -> bytes:
    """The face as a standalone OpenType font with the glyphs of ``codepoints`` (and their variants)."""
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(_CDEF)
    hb = ffi.dlopen("libharfbuzz.so.0")
    hb_subset = ffi.dlopen("libharfbuzz-subset.so.0")
    blob = hb.hb_blob_create_from_file_or_fail(face.path.encode())
    if blob == ffi.NULL:
        raise OSError(f"cannot read {face.path}")
    source = hb.hb_face_create(blob, face.index)
    subset_input = hb_subset.hb_subset_input_create_or_fail()
    try:
        unicodes = hb_subset.hb_subset_input_unicode_set(subset_input)
        for codepoint in codepoints:
            hb.hb_set_add(unicodes, codepoint)
        result = hb_subset.hb_subset_or_fail(source, subset_input)
        if result == ffi.NULL:
            raise OSError(f"HarfBuzz could not subset {face.path}#{face.index}")
        out = hb.hb_face_reference_blob(result)
        length = ffi.new("unsigned int *")
        data = bytes(ffi.buffer(hb.hb_blob_get_data(out, length), length[0]))
        hb.hb_blob_destroy(out)
        hb.hb_face_destroy(result)
        return data
    finally:
        hb_subset.hb_subset_input_destroy(subset_input)
        hb.hb_face_destroy(source)
        hb.hb_blob_destroy(blob)


def _file_name(weight: str, face: Face) -> str:
    stat = os.stat(face.path)
    key = f"{face.path}#{face.index}:{stat.st_size}:{stat.st_mtime_ns}:{CHARSET_VERSION}"
    return f"noto-sans-cjk-sc-common-{weight}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.otf"


def common_font(directory: Path, weight: str) -> Path | None:
    """The common cut of the face at ``weight`` in ``directory``: built now unless it is there already
    (under a lock, so concurrent workers build it once; written whole or not at all)."""
    face = locate(weight)
    if face is None:
        return None
    target = directory / _file_name(weight, face)
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            data = cut(face, charset())
            partial = target.with_suffix(f".{os.getpid()}.part")
            partial.write_bytes(data)
            os.replace(partial, target)
            log.info("built %s (%d bytes) from %s#%d", target, len(data), face.path, face.index)
    return target


@lru_cache(maxsize=4)
def common_faces(directory: str) -> dict[int, Path]:
    """CSS weight -> the common cut of that weight; empty when either could not be built (then the
    stylesheet uses the full face alone: a regular-only cut would be made bold synthetically)."""
    faces = {}
    for weight, css_weight in WEIGHTS.items():
        try:
            path = common_font(Path(directory), weight)
        except Exception:  # a missing library or a broken font file: the full face still works
            log.warning("no common cut of %s %s; the PDFs embed the full face", FAMILY, weight, exc_info=True)
            return {}
        if path is None:
            return {}
        faces[css_weight] = path
    return faces


def stylesheet(directory: str) -> tuple[str, str]:
    """(``@font-face`` rules, the ``font-family`` value) for the PDF stylesheet."""
    faces = common_faces(directory)
    if not faces:
        return "", f'"{FAMILY}", sans-serif'
    rules = "\n".join(
        f'@font-face {{ font-family: "{COMMON_FAMILY}"; src: url("{path.as_uri()}"); font-weight: {weight}; }}'
        for weight, path in sorted(faces.items())
    )
    return rules, f'"{COMMON_FAMILY}", "{FAMILY}", sans-serif'


def keep_copies_under(font_config: Any, directory: Path) -> None:
    """Have WeasyPrint copy the ``@font-face`` files of ``font_config`` into ``directory``.

    WeasyPrint copies them into a temporary folder that the configuration removes when it is
    collected - which never happens in a process that is killed or ends with ``os._exit`` (a Celery
    pool process): 7 MB left in /tmp each time. Here the folder is named after the process and lies
    under the instance folder, and the folders of processes that are gone are removed first. (If a
    WeasyPrint version has no ``_folder`` attribute any more, it makes its own folder as before.)"""
    directory.mkdir(parents=True, exist_ok=True)
    for folder in directory.iterdir():
        pid = folder.name.partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    if hasattr(font_config, "_folder") and font_config._folder is None:
        font_config._folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=directory))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
