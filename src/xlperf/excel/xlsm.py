"""Macro-enabled workbook builder (启用宏的工作簿): an openpyxl ``.xlsx`` plus VBA and a ribbon.

:func:`build_xlsm` adds ``xl/vbaProject.bin`` (see :mod:`xlperf.excel.vbaproject`) and an optional
``customUI/customUI.xml`` (RibbonX 2006 schema) to a workbook, fixes the content types and
relationships, gives the workbook and its sheets codeNames where they lack them, and copies every
other part unchanged.  The zip is written with fixed timestamps, so equal inputs give equal bytes.

:func:`verify_xlsm` re-reads the result independently (oletools, openpyxl) and lists problems.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import openpyxl
from lxml import etree

from xlperf.errors import UnreadableFileError
from xlperf.excel.vbaproject import Host, VbaModule, build_vba_project, read_vba_modules
from xlperf.io import opc
from xlperf.io.safexml import parse_xml

MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
VBA_PROJECT_TYPE = "application/vnd.ms-office.vbaProject"
VBA_PROJECT_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
CUSTOMUI_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
CUSTOMUI_PART = "customUI/customUI.xml"

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = opc.CONTENT_TYPES
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

# Ribbon controls whose onAction callback takes more than the control (RibbonX callback signatures).
_CALLBACK_ARITY = {"toggleButton": 2, "checkBox": 2, "command": 2, "dropDown": 3, "gallery": 3}
_SUB = re.compile(
    r"^[ \t]*(?:(Public|Private|Friend)[ \t]+)?(?:Static[ \t]+)?Sub[ \t]+(\w+)[ \t]*\(([^)]*)\)", re.I | re.M
)
_CONTROL_PARAM = re.compile(r"(?:(?:ByVal|ByRef)\s+)?\w+\s+As\s+(?:Office\.)?IRibbonControl", re.I)


def build_xlsm(base_xlsx: Path, out: Path, modules: Sequence[VbaModule], customui_xml: str | None) -> None:
    """Write *out* (.xlsm): *base_xlsx* plus a VBA project of *modules* and, if given, the ribbon (功能区).

    Document modules must be named after codeNames of the workbook (``ThisWorkbook``, ``Sheet1``…);
    codeNames without a module get an empty one, as in a workbook Excel saved.  The file is written
    to a temporary file next to *out* and moved into place.  Raises ``ValueError`` on bad input.
    """
    if out.suffix.lower() != ".xlsm":
        raise ValueError(f"{out.name}: a macro-enabled workbook must be saved as .xlsm")
    parts = _read_parts(base_xlsx)
    workbook = _workbook_part(parts)
    vba_part = posixpath.join(posixpath.dirname(workbook), "vbaProject.bin")
    if vba_part in parts or CUSTOMUI_PART in parts:
        raise ValueError(f"{base_xlsx.name} already has VBA or a ribbon; start from a macro-free .xlsx")
    parts[vba_part] = build_vba_project(_project_modules(_code_names(parts, workbook, assign=True), modules))
    _add_relationship(parts, workbook, VBA_PROJECT_REL, vba_part)
    content_types = {workbook: MACRO_WORKBOOK_TYPE, vba_part: VBA_PROJECT_TYPE}
    if customui_xml is not None:
        _customui_root(customui_xml.encode("utf-8"))
        parts[CUSTOMUI_PART] = customui_xml.encode("utf-8")
        _add_relationship(parts, "", CUSTOMUI_REL, CUSTOMUI_PART)
        if _content_type(parts, CUSTOMUI_PART) is None:
            content_types[CUSTOMUI_PART] = "application/xml"
    parts[_CONTENT_TYPES] = opc.with_content_types(parts[_CONTENT_TYPES], content_types)
    _write_atomically(out, parts)


def verify_xlsm(path: Path, modules: Sequence[VbaModule], customui_xml: str | None) -> list[str]:
    """Check a built workbook independently and return its problems (问题清单); empty means OK.

    Checks content types and relationships, that every module reads back (oletools) identical to
    what *modules* produce, that every ribbon ``onAction`` names a public ``Sub Proc(control As
    IRibbonControl)`` in the module it qualifies, and that openpyxl opens the file and re-saves it
    with ``vbaProject.bin`` byte-identical.
    """
    try:
        parts = _read_parts(path)
        workbook = _workbook_part(parts)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, UnreadableFileError) as exc:
        return [f"{path.name}: not a readable workbook package ({exc})"]
    problems = [
        f"part {name} has no content type"
        for name in parts
        if name != _CONTENT_TYPES and _content_type(parts, name) is None
    ]
    if _content_type(parts, workbook) != MACRO_WORKBOOK_TYPE:
        problems.append(f"{workbook} does not have the content type {MACRO_WORKBOOK_TYPE}")
    vba_parts = [part for part in _targets(parts, workbook, VBA_PROJECT_REL) if part in parts]
    if len(vba_parts) != 1:
        return [*problems, f"{workbook} needs exactly one vbaProject relationship to an existing part"]
    vba = parts[vba_parts[0]]
    if _content_type(parts, vba_parts[0]) != VBA_PROJECT_TYPE:
        problems.append(f"{vba_parts[0]} does not have the content type {VBA_PROJECT_TYPE}")
    try:
        stored = read_vba_modules(vba)
    except Exception as exc:  # oletools raises many types on a damaged project
        return [*problems, f"oletools cannot read {vba_parts[0]}: {exc!r}"]
    try:
        expected = _project_modules(_code_names(parts, workbook, assign=False), modules)
    except ValueError as exc:
        expected = list(modules)
        problems.append(str(exc))
    problems += _module_problems(expected, stored)
    problems += _ribbon_problems(parts, customui_xml, stored)
    problems += _openpyxl_problems(path, vba_parts[0], vba)
    return problems


def _module_problems(expected: Sequence[VbaModule], stored: dict[str, str]) -> list[str]:
    names = {module.name for module in expected}
    problems = [
        f"module {name} is in the project but was not expected" for name in sorted(stored.keys() - names)
    ]
    for module in expected:
        code = stored.get(module.name)
        if code is None:
            problems.append(f"module {module.name} is missing from the VBA project")
        elif code != module.code:
            want, got = module.code.splitlines(True), code.splitlines(True)
            pairs = enumerate(zip(want, got, strict=False), 1)
            line = next((n for n, (a, b) in pairs if a != b), min(len(want), len(got)) + 1)
            problems.append(f"module {module.name} reads back different from its source (line {line})")
    return problems


def _ribbon_problems(parts: dict[str, bytes], customui_xml: str | None, sources: dict[str, str]) -> list[str]:
    ribbons = [part for part in _targets(parts, "", CUSTOMUI_REL) if part in parts]
    problems = []
    if customui_xml is not None and [parts[part] for part in ribbons] != [customui_xml.encode("utf-8")]:
        problems.append(f"the package needs exactly one ribbon part ({CUSTOMUI_PART}) equal to customui_xml")
    for part in ribbons:
        try:
            problems += _callback_problems(_customui_root(parts[part]), sources)
        except ValueError as exc:
            problems.append(f"{part}: {exc}")
    return problems


def _callback_problems(customui: etree._Element, sources: dict[str, str]) -> list[str]:
    """Every ``onAction="Module.Proc"`` must be a public Sub of that module taking the ribbon control."""
    subs: dict[tuple[str, str], tuple[bool, list[str]]] = {}
    for module, code in sources.items():
        for match in _SUB.finditer(re.sub(r"[ \t]_\r?\n", " ", code)):
            params = [param.strip() for param in match[3].split(",") if param.strip()]
            subs[module.lower(), match[2].lower()] = ((match[1] or "").lower() == "private", params)
    problems = []
    for element in customui.iter(etree.Element):
        action = element.get("onAction")
        if action is None:
            continue
        tag = etree.QName(element).localname
        where = f'<{tag} id="{element.get("id")}"> onAction="{action}"'
        module, _, proc = action.rpartition(".")
        arity = _CALLBACK_ARITY.get(tag, 1)
        found = subs.get((module.lower(), proc.lower()))
        if not module:
            problems.append(f"{where}: qualify it as Module.{proc}, or it may bind to another add-in's macro")
        elif found is None:
            problems.append(f"{where}: module {module} has no Sub {proc}")
        elif found[0]:
            problems.append(f"{where}: Sub {proc} is Private; the ribbon can only call public procedures")
        elif len(found[1]) != arity or not _CONTROL_PARAM.fullmatch(found[1][0]):
            extra = ", ..." * (arity - 1)
            problems.append(
                f"{where}: expected Sub {proc}(control As IRibbonControl{extra}), found ({', '.join(found[1])})"
            )
    return problems


def _openpyxl_problems(path: Path, vba_part: str, vba: bytes) -> list[str]:
    try:
        buffer = io.BytesIO()
        openpyxl.load_workbook(path, keep_vba=True).save(buffer)
        with zipfile.ZipFile(buffer) as resaved:
            kept = resaved.read(vba_part) if vba_part in resaved.namelist() else None
    except Exception as exc:  # any failure here is the finding
        return [f"openpyxl cannot open and re-save the workbook: {exc!r}"]
    return [] if kept == vba else [f"an openpyxl re-save (keep_vba=True) does not keep {vba_part} unchanged"]


def _project_modules(hosts: dict[str, Host], modules: Sequence[VbaModule]) -> list[VbaModule]:
    """One document module per codeName (empty unless given), in workbook order, then the others."""
    documents = {module.name: module for module in modules if module.kind == "document"}
    stray = sorted(documents.keys() - hosts.keys())
    if stray:
        raise ValueError(f"document modules {stray} match no codeName of the workbook ({', '.join(hosts)})")
    own = [
        replace(documents.get(name, VbaModule(name, "", "document")), host=host)
        for name, host in hosts.items()
    ]
    return own + [module for module in modules if module.kind != "document"]


def _code_names(parts: dict[str, bytes], workbook: str, *, assign: bool) -> dict[str, Host]:
    """codeName (代码名称) → host of the workbook and each sheet, in tab order.

    With *assign*, a missing codeName becomes ``ThisWorkbook``, ``SheetN`` or ``ChartN`` and the
    part's XML in *parts* is rewritten; otherwise a missing codeName raises ``ValueError``.
    """
    book = _xml(parts, workbook)
    relationships = _relationships(parts, workbook)
    slots: list[tuple[str, etree._Element, str, Host]] = [(workbook, book, "workbookPr", "workbook")]
    for sheet in book.iterfind(f"{_MAIN}sheets/{_MAIN}sheet"):
        rel_type, part = relationships[sheet.get(f"{{{_R}}}id")]
        host: Host = "chartsheet" if rel_type == f"{_R}/chartsheet" else "worksheet"
        slots.append((part, _xml(parts, part), "sheetPr", host))
    names = [_code_name(root, tag) for _, root, tag, _ in slots]
    taken = {name.lower() for name in names if name}
    hosts: dict[str, Host] = {}
    for (part, root, tag, host), name in zip(slots, names, strict=True):
        if not name:
            if not assign:
                raise ValueError(f"{part} has no codeName, so no VBA document module can belong to it")
            name = _fresh_code_name(host, taken)
            _set_code_name(root, tag, name)
            parts[part] = opc.serialize(root)
            taken.add(name.lower())
        hosts[name] = host
    return hosts


def _code_name(root: etree._Element, tag: str) -> str | None:
    properties = root.find(_MAIN + tag)
    return None if properties is None else properties.get("codeName")


def _fresh_code_name(host: Host, taken: set[str]) -> str:
    stem = {"workbook": "ThisWorkbook", "worksheet": "Sheet", "chartsheet": "Chart"}[host]
    numbered = (f"{stem}{n}" for n in itertools.count(1))
    candidates = itertools.chain([stem], numbered) if host == "workbook" else numbered
    return next(name for name in candidates if name.lower() not in taken)


def _set_code_name(root: etree._Element, tag: str, name: str) -> None:
    properties = root.find(_MAIN + tag)
    if properties is None:  # schema order: workbookPr follows fileVersion/fileSharing; sheetPr comes first
        leading = {_MAIN + "fileVersion", _MAIN + "fileSharing"}
        properties = root.makeelement(_MAIN + tag)
        root.insert(sum(1 for _ in itertools.takewhile(lambda child: child.tag in leading, root)), properties)
    properties.set("codeName", name)


def _customui_root(xml: bytes) -> etree._Element:
    try:
        root = parse_xml(xml, part=CUSTOMUI_PART)
    except UnreadableFileError as exc:
        raise ValueError(f"customUI XML is not well-formed: {exc.message}") from exc
    if root.tag != f"{{{CUSTOMUI_NS}}}customUI":
        raise ValueError(f'the ribbon XML root must be <customUI xmlns="{CUSTOMUI_NS}">, not {root.tag}')
    return root


def _xml(parts: dict[str, bytes], part: str) -> etree._Element:
    return parse_xml(parts[part], part=part)


def _read_parts(path: Path) -> dict[str, bytes]:
    package = opc.Package.open(path)
    return {info.filename: package.read(info) for info in package.infos if not info.is_dir()}


def _relationships(parts: dict[str, bytes], source: str) -> dict[str, tuple[str, str]]:
    """Internal relationships of *source* ("" for the package): id → (type, target part name)."""
    rels = opc.relationships(parts.get(opc.rels_part(source)), source)
    return {rel_id: (rel.type, rel.target) for rel_id, rel in rels.items() if not rel.external}


def _targets(parts: dict[str, bytes], source: str, rel_type: str) -> list[str]:
    return [part for kind, part in _relationships(parts, source).values() if kind == rel_type]


def _workbook_part(parts: dict[str, bytes]) -> str:
    targets = _targets(parts, "", opc.OFFICE_DOCUMENT)
    if len(targets) != 1 or targets[0] not in parts:
        raise ValueError("the package needs exactly one workbook part")
    return targets[0]


def _add_relationship(parts: dict[str, bytes], source: str, rel_type: str, target: str) -> None:
    rels = opc.rels_part(source)
    parts[rels] = opc.add_relationships(parts[rels], source, [(None, rel_type, target)])[0]


def _content_type(parts: dict[str, bytes], part: str) -> str | None:
    return opc.content_type(_xml(parts, _CONTENT_TYPES), part)


def _write_atomically(out: Path, parts: dict[str, bytes]) -> None:
    """Zip *parts* with fixed metadata into a temp file beside *out*, then rename it into place."""
    fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w") as archive:
                for name, data in parts.items():
                    info = zipfile.ZipInfo(name, _ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.create_system = 0
                    archive.writestr(info, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
