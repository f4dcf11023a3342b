"""Provenance for every output: an XMP packet that says what was done, by what, from what.

Archives must never mistake a colourised image for an original. Every file ColorStudio writes
carries:

* IPTC ``Iptc4xmpExt:DigitalSourceType`` = compositeWithTrainedAlgorithmicMedia;
* ``xmpMM:DerivedFrom`` with the original's file name and SHA-256;
* an ``xmpMM:History`` entry (action, software agent with version, time), appended to the
  original's own history;
* the model (id, version, weights SHA-256), the preprocessing steps, and the number of hints with
  the SHA-256 of their sidecar, in ColorStudio's own namespace;
* the original's EXIF, IPTC and XMP descriptive metadata (dates, captions, creator, rights,
  camera, GPS), without the tags that describe the old pixels (size, orientation, compression).

The packet is built here (plain XML, so the structure is exactly what the XMP spec asks for) and
embedded with exiv2 (`pyexiv2`), which writes it where each format keeps it: PNG iTXt
``XML:com.adobe.xmp``, JPEG APP1, WebP ``XMP `` chunk, TIFF tag 700. Everything works on bytes
in memory, never on paths, so unicode file names and atomic writes are the caller's business.
No Qt, no torch.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .errors import ColorStudioError

log = logging.getLogger(__name__)

DIGITAL_SOURCE_TYPE = ("http://cv.iptc.org/newscodes/digitalsourcetype/"
                       "compositeWithTrainedAlgorithmicMedia")
NS_CS = "https://colorstudio.app/ns/provenance/1.0/"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "xmpMM": "http://ns.adobe.com/xap/1.0/mm/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "stEvt": "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#",
    "stRef": "http://ns.adobe.com/xap/1.0/sType/ResourceRef#",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "Iptc4xmpCore": "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
    "colorstudio": NS_CS,
}
MAX_XMP_BYTES = 4 * 1024 * 1024  # an original's XMP larger than this is not carried over
MAX_INFO_BYTES = 2 * 1024 * 1024 * 1024  # `colorstudio info` reads the whole file

for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

# Properties of the original's XMP that describe the old pixels or the old file's identity:
# they are replaced (ours) or dropped (no longer true), never copied.
_DROP = {
    (NS["xmpMM"], n) for n in ("DerivedFrom", "DocumentID", "InstanceID", "OriginalDocumentID",
                                "History", "Ingredients", "Pantry", "Manifest")
} | {
    (NS["tiff"], n) for n in ("ImageWidth", "ImageLength", "BitsPerSample", "Compression",
                               "PhotometricInterpretation", "Orientation", "SamplesPerPixel",
                               "PlanarConfiguration", "YCbCrSubSampling", "YCbCrPositioning")
} | {
    (NS["exif"], n) for n in ("PixelXDimension", "PixelYDimension", "ColorSpace",
                               "ComponentsConfiguration")
} | {
    (NS["Iptc4xmpExt"], "DigitalSourceType"), (NS["xmp"], "ModifyDate"),
    (NS["xmp"], "MetadataDate"), (NS["photoshop"], "ICCProfile"),
    (NS["photoshop"], "ColorMode"),
}

# EXIF carried over: the descriptive tags, never the ones about the old pixels or thumbnails.
_EXIF_KEEP_GROUPS = ("Exif.Image.", "Exif.Photo.", "Exif.GPSInfo.")
_EXIF_DROP = {
    "Exif.Image." + n for n in (
        "ImageWidth", "ImageLength", "BitsPerSample", "Compression", "PhotometricInterpretation",
        "Orientation", "SamplesPerPixel", "StripOffsets", "StripByteCounts", "RowsPerStrip",
        "PlanarConfiguration", "TileWidth", "TileLength", "TileOffsets", "TileByteCounts",
        "ExtraSamples", "SampleFormat", "Predictor", "XMLPacket", "IPTCNAA", "InterColorProfile",
        "ExifTag", "GPSTag", "ImageResources", "NewSubfileType", "SubfileType", "SubIFDs",
        "JPEGInterchangeFormat", "JPEGInterchangeFormatLength", "YCbCrCoefficients",
        "YCbCrSubSampling", "YCbCrPositioning", "TransferFunction", "WhitePoint",
        "PrimaryChromaticities", "ReferenceBlackWhite", "ColorMap", "FillOrder",
        "ProcessingSoftware", "Software", "MinSampleValue", "MaxSampleValue", "HostComputer",
        "PrintImageMatching", "DNGPrivateData", "InteroperabilityTag")
} | {
    "Exif.Photo." + n for n in (
        "PixelXDimension", "PixelYDimension", "ColorSpace", "ComponentsConfiguration",
        "MakerNote", "InteroperabilityTag", "CompressedBitsPerPixel", "Gamma", "OffsetSchema")
}


class MetadataError(ColorStudioError):
    """Metadata could not be written or read (one user-facing line)."""


def _exiv2() -> Any:
    import pyexiv2

    pyexiv2.set_log_level(4)  # exiv2 would print warnings about odd files to stderr
    return pyexiv2


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hints_digest(hints_json: dict[str, Any]) -> str:
    """SHA-256 of hints that have no sidecar file (drawn in the GUI): canonical JSON."""
    return sha256_bytes(json.dumps(hints_json, sort_keys=True, separators=(",", ":"))
                        .encode("utf-8"))


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Provenance:
    """What was done to make an output. All strings; hashes are lowercase hex SHA-256."""

    source_name: str
    source_sha256: str
    model_id: str
    model_version: str
    weights_sha256: str
    steps: tuple[str, ...] = ()
    hints_count: int = 0
    hints_sha256: str = ""
    hints_source: str = ""  # the sidecar's file name, or "in-app" for hints drawn in the GUI
    software: str = ""
    when: str = field(default_factory=now_iso)
    instance_id: str = field(default_factory=lambda: f"xmp.iid:{uuid.uuid4()}")
    document_id: str = field(default_factory=lambda: f"xmp.did:{uuid.uuid4()}")
    source_document_id: str = ""  # the original's xmpMM:DocumentID, when it had one
    badge: bool = False
    strength: float = 0.5  # colour strength: 0 cautious .. 0.5 the model's own .. 1 vivid
    hint_spread: float = 0.5  # how far the hints reached: 0 local .. 0.5 the default .. 1 wide
    reference_name: str = ""  # a colour photo whose colours guided the result
    reference_sha256: str = ""

    def __post_init__(self) -> None:
        if not self.software:
            from .. import __version__

            object.__setattr__(self, "software", f"ColorStudio {__version__}")


@dataclass
class OriginalMetadata:
    """Descriptive metadata of an original, ready to be carried over to its output."""

    exif: dict[str, Any] = field(default_factory=dict)
    iptc: dict[str, Any] = field(default_factory=dict)
    xmp: str = ""
    document_id: str = ""
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading originals

def read_original_metadata(data: bytes, name: str = "") -> OriginalMetadata:
    """EXIF/IPTC/XMP of an original (its file bytes). Never raises: problems become notes."""
    meta = OriginalMetadata()
    try:
        pyexiv2 = _exiv2()
        with pyexiv2.ImageData(data) as im:
            exif = _read_block(im.read_exif, "EXIF", name, meta.notes) or {}
            iptc = _read_block(im.read_iptc, "IPTC", name, meta.notes) or {}
            xmp = _read_block(im.read_raw_xmp, "XMP", name, meta.notes) or ""
    except Exception:  # noqa: BLE001 - formats exiv2 does not know (GIF, BMP): nothing to carry
        return meta
    meta.exif = {k: v for k, v in exif.items()
                 if k.startswith(_EXIF_KEEP_GROUPS) and k not in _EXIF_DROP
                 and isinstance(v, (str, list)) and len(str(v)) < 64 * 1024
                 and not (k == "Exif.Image.ImageDescription" and str(v).startswith('{"shape"'))}
    meta.iptc = {k: v for k, v in iptc.items() if k.startswith("Iptc.Application2.")}
    if xmp and len(xmp.encode("utf-8", "replace")) <= MAX_XMP_BYTES:
        meta.xmp = xmp
        meta.document_id = _xmp_simple(xmp, NS["xmpMM"], "DocumentID") or ""
    elif xmp:
        meta.notes.append(f"{name}: XMP larger than {MAX_XMP_BYTES} bytes not carried over")
    return meta


def _read_block(read: Any, what: str, name: str, notes: list[str]) -> Any:
    try:
        return read()
    except Exception:  # noqa: BLE001 - a broken block is dropped, never fatal
        notes.append(f"{name}: unreadable {what} not carried over")
        return None


def _parse_xmp(xmp: str | bytes) -> ET.Element | None:
    """Parse an XMP packet defensively: size-limited, no DTDs (expat fetches no entities)."""
    if isinstance(xmp, bytes):
        xmp = xmp.decode("utf-8", "replace")
    if not xmp or len(xmp) > MAX_XMP_BYTES or "<!DOCTYPE" in xmp or "<!ENTITY" in xmp:
        return None
    start = xmp.find("<x:xmpmeta")
    if start < 0:
        start = xmp.find("<rdf:RDF")
    end_tag = "</x:xmpmeta>" if xmp.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = xmp.rfind(end_tag)
    if start < 0 or end < 0:
        return None
    try:
        return ET.fromstring(xmp[start:end + len(end_tag)])
    except ET.ParseError:
        return None


def _descriptions(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{{{NS['rdf']}}}Description"))


def _xmp_simple(xmp: str, ns: str, name: str) -> str | None:
    root = _parse_xmp(xmp)
    if root is None:
        return None
    for d in _descriptions(root):
        v = d.get(f"{{{ns}}}{name}")
        if v is not None:
            return v
        el = d.find(f"{{{ns}}}{name}")
        if el is not None and el.text:
            return el.text.strip()
    return None


def _split_tag(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


# --------------------------------------------------------------------------- building the packet

def build_xmp(prov: Provenance, original_xmp: str = "") -> str:
    """The XMP packet of an output: our provenance plus the original's descriptive XMP."""
    carried: list[str] = []
    old_history: list[str] = []
    root = _parse_xmp(original_xmp) if original_xmp else None
    if root is not None:
        for d in _descriptions(root):
            for attr, value in d.attrib.items():
                ns, local = _split_tag(attr)
                if not ns or ns in (NS["rdf"], NS_CS) or (ns, local) in _DROP:
                    continue
                el = ET.Element(attr)
                el.text = value
                carried.append(ET.tostring(el, encoding="unicode"))
            for child in d:
                ns, local = _split_tag(child.tag)
                if (ns, local) == (NS["xmpMM"], "History"):
                    old_history += [ET.tostring(li, encoding="unicode")
                                    for li in child.iter(f"{{{NS['rdf']}}}li")
                                    if _is_event(li)]
                    continue
                if ns == NS_CS or (ns, local) in _DROP:
                    continue
                child.tail = None
                carried.append(ET.tostring(child, encoding="unicode"))
    e = escape
    steps = "".join(f"<rdf:li>{e(s)}</rdf:li>" for s in prov.steps)
    params = f"colourised with {prov.model_id} {prov.model_version}"
    if prov.hints_count:
        params += f" and {prov.hints_count} colour hints"
    if prov.reference_name:
        params += f", guided by the colours of {prov.reference_name}"
    source_doc = prov.source_document_id or f"urn:sha256:{prov.source_sha256}"
    ours = f"""
   <Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>
   <xmpMM:DocumentID>{e(prov.document_id)}</xmpMM:DocumentID>
   <xmpMM:InstanceID>{e(prov.instance_id)}</xmpMM:InstanceID>
   <xmpMM:DerivedFrom rdf:parseType="Resource">
    <stRef:filePath>{e(prov.source_name)}</stRef:filePath>
    <stRef:documentID>{e(source_doc)}</stRef:documentID>
    <colorstudio:SHA256>{e(prov.source_sha256)}</colorstudio:SHA256>
   </xmpMM:DerivedFrom>
   <xmpMM:History>
    <rdf:Seq>{''.join(old_history)}
     <rdf:li rdf:parseType="Resource">
      <stEvt:action>derived</stEvt:action>
      <stEvt:parameters>{e(params)}</stEvt:parameters>
      <stEvt:softwareAgent>{e(prov.software)}</stEvt:softwareAgent>
      <stEvt:when>{e(prov.when)}</stEvt:when>
      <stEvt:instanceID>{e(prov.instance_id)}</stEvt:instanceID>
     </rdf:li>
    </rdf:Seq>
   </xmpMM:History>
   <xmp:ModifyDate>{e(prov.when)}</xmp:ModifyDate>
   <xmp:MetadataDate>{e(prov.when)}</xmp:MetadataDate>
   <colorstudio:SourceName>{e(prov.source_name)}</colorstudio:SourceName>
   <colorstudio:SourceSHA256>{e(prov.source_sha256)}</colorstudio:SourceSHA256>
   <colorstudio:ModelID>{e(prov.model_id)}</colorstudio:ModelID>
   <colorstudio:ModelVersion>{e(prov.model_version)}</colorstudio:ModelVersion>
   <colorstudio:WeightsSHA256>{e(prov.weights_sha256)}</colorstudio:WeightsSHA256>
   <colorstudio:Preprocessing><rdf:Seq>{steps}</rdf:Seq></colorstudio:Preprocessing>
   <colorstudio:HintsCount>{int(prov.hints_count)}</colorstudio:HintsCount>
   <colorstudio:HintsSHA256>{e(prov.hints_sha256)}</colorstudio:HintsSHA256>
   <colorstudio:HintsSource>{e(prov.hints_source)}</colorstudio:HintsSource>
   <colorstudio:VisibleBadge>{'True' if prov.badge else 'False'}</colorstudio:VisibleBadge>
   <colorstudio:ColourStrength>{float(prov.strength):.2f}</colorstudio:ColourStrength>
   <colorstudio:HintSpread>{float(prov.hint_spread):.2f}</colorstudio:HintSpread>
   <colorstudio:ReferenceName>{e(prov.reference_name)}</colorstudio:ReferenceName>
   <colorstudio:ReferenceSHA256>{e(prov.reference_sha256)}</colorstudio:ReferenceSHA256>"""
    xmlns = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p not in ("x", "rdf"))
    body = "\n   ".join(carried)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="{e(prov.software)}">\n'
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
        f'  <rdf:Description rdf:about="" {xmlns}>{ours}\n   {body}\n'
        "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>')


def _is_event(li: ET.Element) -> bool:
    return any(_split_tag(c.tag)[0] == NS["stEvt"] for c in li) or any(
        _split_tag(a)[0] == NS["stEvt"] for a in li.attrib)


# --------------------------------------------------------------------------- embedding

def embed(data: bytes, xmp: str, original: OriginalMetadata | None = None,
          icc_profile: bytes | None = None, name: str = "") -> bytes:
    """Encoded image bytes -> the same image with XMP (+ carried EXIF/IPTC, ICC) embedded.

    The pixels are not touched. Carried EXIF/IPTC that exiv2 refuses are dropped tag by tag
    (never the whole write); a failure to embed the XMP itself is a `MetadataError`, because an
    output without provenance must not be written.
    """
    try:
        pyexiv2 = _exiv2()
        with pyexiv2.ImageData(data) as im:
            if icc_profile:
                try:
                    im.modify_icc(icc_profile)
                except Exception:  # noqa: BLE001 - the encoder may already have embedded it
                    log.info("%s: exiv2 could not embed the ICC profile", name)
            if original is not None:
                _modify_each(im.modify_exif, original.exif, "exif" in _access(im))
                _modify_each(im.modify_iptc, original.iptc, "iptc" in _access(im))
            im.modify_raw_xmp(xmp)
            return im.get_bytes()
    except MetadataError:
        raise
    except Exception as exc:  # noqa: BLE001 - exiv2 raises RuntimeError and friends
        raise MetadataError(f"{name}: cannot embed the provenance metadata ({exc})") from exc


def _access(im: Any) -> set[str]:
    try:
        return {k for k, v in im.get_access_mode().items() if "write" in str(v)}
    except Exception:  # noqa: BLE001
        return set()


def _modify_each(modify: Any, tags: dict[str, Any], writable: bool) -> None:
    if not tags or not writable:
        return
    try:
        modify(tags)
        return
    except Exception:  # noqa: BLE001 - one odd tag: retry one by one and drop the odd ones
        pass
    for k, v in tags.items():
        try:
            modify({k: v})
        except Exception:  # noqa: BLE001
            log.info("metadata tag %s not carried over", k)


# --------------------------------------------------------------------------- reading back

@dataclass
class FileMetadata:
    """What `colorstudio info` shows: the provenance and the carried-over metadata."""

    path: Path
    mime: str = ""
    width: int = 0
    height: int = 0
    provenance: dict[str, Any] = field(default_factory=dict)
    descriptive: dict[str, Any] = field(default_factory=dict)
    exif: dict[str, Any] = field(default_factory=dict)
    iptc: dict[str, Any] = field(default_factory=dict)
    icc: str = ""

    @property
    def is_colorstudio_output(self) -> bool:
        return self.provenance.get("DigitalSourceType") == DIGITAL_SOURCE_TYPE and bool(
            self.provenance.get("ModelID"))


_CS_FIELDS = ("SourceName", "SourceSHA256", "ModelID", "ModelVersion", "WeightsSHA256",
              "HintsCount", "HintsSHA256", "HintsSource", "VisibleBadge", "ColourStrength",
              "HintSpread", "ReferenceName", "ReferenceSHA256")
_DESCRIPTIVE = [
    ("dc", "title"), ("dc", "description"), ("dc", "creator"), ("dc", "rights"),
    ("dc", "subject"), ("photoshop", "DateCreated"), ("photoshop", "Credit"),
    ("photoshop", "Source"), ("xmp", "CreateDate"), ("exif", "DateTimeOriginal"),
    ("xmpRights", "UsageTerms"), ("Iptc4xmpCore", "Location"),
]


def read_file_metadata(path: Path | str) -> FileMetadata:
    """Read an image file's provenance and metadata. Errors: `MetadataError` (one line)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_INFO_BYTES:
            raise MetadataError(f"{path.name}: file is too large to inspect")
        data = path.read_bytes()
    except OSError as exc:
        raise MetadataError(f"{path.name}: cannot open ({exc.strerror or exc})") from exc
    if not data:
        raise MetadataError(f"{path.name}: the file is empty (0 bytes)")
    return read_metadata_bytes(data, path)


def read_metadata_bytes(data: bytes, path: Path | str = "") -> FileMetadata:
    path = Path(path)
    out = FileMetadata(path)
    try:
        pyexiv2 = _exiv2()
        with pyexiv2.ImageData(data) as im:
            out.mime = im.get_mime_type()
            out.width, out.height = im.get_pixel_width(), im.get_pixel_height()
            xmp = _try(im.read_raw_xmp) or ""
            out.exif = _try(im.read_exif) or {}
            out.iptc = _try(im.read_iptc) or {}
            icc = _try(im.read_icc) or b""
    except Exception as exc:  # noqa: BLE001 - not an image exiv2 knows
        raise MetadataError(f"{path.name}: not an image with readable metadata ({exc})") from exc
    if icc:
        out.icc = _icc_description(icc)
    root = _parse_xmp(xmp) if xmp else None
    if root is not None:
        out.provenance, out.descriptive = _provenance_from_xmp(root)
    out.exif = {k: v for k, v in out.exif.items() if k not in _EXIF_DROP and len(str(v)) < 512}
    return out


def _try(fn: Any) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001
        return None


def _icc_description(icc: bytes) -> str:
    try:
        import io

        from PIL import ImageCms

        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.getProfileDescription(prof).strip() or f"{len(icc)} bytes"
    except Exception:  # noqa: BLE001
        return f"{len(icc)} bytes (unreadable)"


def _text(el: ET.Element | None) -> Any:
    """A property's value: simple text, a list for Seq/Bag, the x-default for Alt."""
    if el is None:
        return None
    lis = list(el.iter(f"{{{NS['rdf']}}}li"))
    if lis:
        alt = el.find(f"{{{NS['rdf']}}}Alt")
        vals = [(li.text or "").strip() for li in lis]
        return vals[0] if alt is not None else vals
    return (el.text or "").strip()


def _struct(el: ET.Element) -> dict[str, str]:
    """An XMP struct in either serialisation (fields as attributes or as child elements)."""
    out: dict[str, str] = {}
    for node in [el, *el.iter(f"{{{NS['rdf']}}}Description")]:
        for a, v in node.attrib.items():
            ns, local = _split_tag(a)
            if ns and ns != NS["rdf"]:
                out[local] = v
        for c in node:
            ns, local = _split_tag(c.tag)
            if ns != NS["rdf"] and c.text and c.text.strip():
                out[local] = c.text.strip()
    return out


def _provenance_from_xmp(root: ET.Element) -> tuple[dict[str, Any], dict[str, Any]]:
    prov: dict[str, Any] = {}
    desc: dict[str, Any] = {}

    def find(ns: str, name: str) -> Any:
        for d in _descriptions(root):
            v = d.get(f"{{{ns}}}{name}")
            if v is not None:
                return v
            el = d.find(f"{{{ns}}}{name}")
            if el is not None:
                return _text(el)
        return None

    dst = find(NS["Iptc4xmpExt"], "DigitalSourceType")
    if dst:
        prov["DigitalSourceType"] = dst
    for name in _CS_FIELDS:
        v = find(NS_CS, name)
        if v not in (None, ""):
            prov[name] = v
    steps = find(NS_CS, "Preprocessing")
    if steps:
        prov["Preprocessing"] = steps if isinstance(steps, list) else [steps]
    for d in _descriptions(root):
        df = d.find(f"{{{NS['xmpMM']}}}DerivedFrom")
        if df is not None:
            prov["DerivedFrom"] = _struct(df)
        hist = d.find(f"{{{NS['xmpMM']}}}History")
        if hist is not None:
            prov["History"] = [ev for li in hist.iter(f"{{{NS['rdf']}}}li")
                               if (ev := _struct(li))]
    for prefix, name in _DESCRIPTIVE:
        v = find(NS[prefix], name)
        if v not in (None, "", []):
            desc[f"{prefix}:{name}"] = v
    return prov, desc


def format_info(meta: FileMetadata) -> str:
    """Human-readable report for `colorstudio info`."""
    lines = [f"File: {meta.path.name}", f"Type: {meta.mime or 'unknown'}  "
             f"{meta.width}x{meta.height}",
             f"Colour profile: {meta.icc or 'none embedded'}"]
    p = meta.provenance
    if meta.is_colorstudio_output:
        lines.append("Provenance: colourised by ColorStudio (not an original photograph)")
    elif p.get("DigitalSourceType"):
        lines.append("Provenance: not written by ColorStudio")
    else:
        lines.append("Provenance: none recorded (no ColorStudio/IPTC digital source type)")
    if p.get("DigitalSourceType"):
        lines.append(f"  Digital source type: {p['DigitalSourceType']}")
    df = p.get("DerivedFrom") or {}
    if df:
        lines.append(f"  Derived from: {df.get('filePath', '?')}")
        lines.append(f"    SHA-256: {df.get('SHA256', p.get('SourceSHA256', '?'))}")
        if df.get("documentID"):
            lines.append(f"    Document ID: {df['documentID']}")
    if p.get("ModelID"):
        lines.append(f"  Model: {p['ModelID']} version {p.get('ModelVersion', '?')}")
        lines.append(f"    Weights SHA-256: {p.get('WeightsSHA256', '?')}")
    if p.get("Preprocessing"):
        lines.append("  Preprocessing:")
        lines += [f"    - {s}" for s in p["Preprocessing"]]
    if "HintsCount" in p:
        hc = p["HintsCount"]
        lines.append(f"  Colour hints: {hc}" + (
            f" from {p.get('HintsSource', '?')} (SHA-256 {p.get('HintsSHA256', '?')})"
            if str(hc) not in ("0", "") else ""))
        if str(hc) not in ("0", "") and p.get("HintSpread"):
            lines.append(f"    Hint spread: {p['HintSpread']} (0 local, 0.5 the default, "
                         "1 wide)")
    if p.get("ColourStrength"):
        lines.append(f"  Colour strength: {p['ColourStrength']} (0 cautious, 0.5 the model's "
                     "own, 1 vivid)")
    if p.get("ReferenceName"):
        lines.append(f"  Reference photo: {p['ReferenceName']} "
                     f"(SHA-256 {p.get('ReferenceSHA256', '?')})")
    if p.get("VisibleBadge"):
        lines.append(f"  Visible badge: {'yes' if p['VisibleBadge'] == 'True' else 'no'}")
    for ev in p.get("History", []):
        lines.append(f"  History: {ev.get('action', '?')} by {ev.get('softwareAgent', '?')} "
                     f"at {ev.get('when', '?')}"
                     + (f" ({ev['parameters']})" if ev.get("parameters") else ""))
    if meta.descriptive:
        lines.append("Carried-over metadata (XMP):")
        lines += [f"  {k}: {_fmt(v)}" for k, v in meta.descriptive.items()]
    if meta.exif:
        lines.append("EXIF:")
        lines += [f"  {k}: {_fmt(v)}" for k, v in sorted(meta.exif.items())]
    if meta.iptc:
        lines.append("IPTC:")
        lines += [f"  {k}: {_fmt(v)}" for k, v in sorted(meta.iptc.items())]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, list):
        return "; ".join(str(x) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


__all__ = ["DIGITAL_SOURCE_TYPE", "NS_CS", "Provenance", "OriginalMetadata", "FileMetadata",
           "MetadataError", "read_original_metadata", "build_xmp", "embed", "read_file_metadata",
           "read_metadata_bytes", "format_info", "sha256_bytes", "hints_digest"]
