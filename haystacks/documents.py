"""Readers for the formats people keep books in: .txt, .md, .html, .epub, .pdf, .docx.

Plain text and Markdown need nothing beyond the standard library. HTML, EPUB, PDF and DOCX use the optional
``books`` extra (``pip install -e '.[books]'``: beautifulsoup4, ebooklib, pypdf, python-docx). Each reader
returns the document's text and how :func:`haystacks.prose.read_prose` should read it: HTML, EPUB and DOCX
give one paragraph per line with a blank line between blocks (``"blocks"``); PDF gives its extracted lines
with a blank line where the page leaves a vertical gap (``"pdf"``), to be unwrapped.

Every failure is a :class:`~haystacks.errors.CorpusError` with one line that names the file: a scanned PDF
without a text layer, an encrypted PDF, a DRM-protected EPUB, a corrupt file, a missing extra.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

from haystacks.errors import CorpusError
from haystacks.prose import Kind, Note

__all__ = ["SUFFIXES", "html_to_blocks", "read_document"]

#: File suffixes read, and the reader of each.
SUFFIXES: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".epub": "epub",
    ".pdf": "pdf",
    ".docx": "docx",
}

_BLOCK_TAGS = frozenset(
    {
        *("p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "pre"),
        *("h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "figure", "figcaption", "hr"),
        *("address", "center", "body"),
    }
)
_LINE_TAGS = frozenset({"li", "dt", "dd", "tr", "caption"})
_SKIP_TAGS = frozenset({"script", "style", "head", "nav", "noscript", "template", "svg", "math"})
_WS = re.compile(r"\s+")
_BLANKS = re.compile(r"\n(?:[ \t]*\n)+")


def _need(module: str, package: str, path: Path) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise CorpusError(
            f"reading {path.suffix} files ({path.name}) needs {package}: pip install 'niah-suite[books]'"
        ) from e


_DECLARED = re.compile(rb"Character set encoding:\s*([A-Za-z0-9_.:-]+)")


def _decode(data: bytes, path: Path) -> str:
    """UTF-8, or the encoding a Project Gutenberg header declares (older books are ISO-8859-1)."""
    if not data.strip():
        raise CorpusError(f"text file {path} is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        m = _DECLARED.search(data[:20_000])
        if m is not None:
            import codecs

            name = m.group(1).decode("ascii")
            try:
                return data.decode(codecs.lookup(name).name)
            except (LookupError, UnicodeDecodeError):
                pass
        raise CorpusError(f"text file {path} is not UTF-8 (invalid byte at offset {e.start})") from e


def html_to_blocks(html: str | bytes, path: Path | None = None) -> str:
    """The text of an HTML/XHTML document: one line per paragraph, list item or ``<br>`` line, a blank line
    between blocks; scripts, styles, the head and navigation are left out.

    Args:
        html: The markup.
        path: The file it came from (for errors).

    Returns:
        The text (blocks separated by a blank line).
    """
    bs4 = _need("bs4", "beautifulsoup4", path or Path("document.html"))
    soup = bs4.BeautifulSoup(html, "html.parser")
    out: list[str] = []

    def walk(node: Any, pre: bool) -> None:
        for c in node.children:
            if isinstance(c, bs4.NavigableString):
                if isinstance(c, (bs4.Comment, bs4.Doctype, bs4.Declaration, bs4.ProcessingInstruction)):
                    continue
                out.append(str(c) if pre else _WS.sub(" ", str(c)))
                continue
            name = (c.name or "").lower()
            if name in _SKIP_TAGS:
                continue
            if name == "br":
                out.append("\n")
            elif name in _BLOCK_TAGS:
                out.append("\n\n")
                walk(c, pre or name == "pre")
                out.append("\n\n")
            elif name in _LINE_TAGS:
                out.append("\n")
                walk(c, pre)
                out.append("\n")
            elif name in ("td", "th"):
                out.append(" ")
                walk(c, pre)
                out.append(" ")
            else:
                walk(c, pre)

    walk(soup, False)
    text = "\n".join(x.strip() for x in "".join(out).split("\n"))
    return _BLANKS.sub("\n\n", text).strip("\n") + "\n"


def _read_epub(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "META-INF/encryption.xml" in names:
                enc = z.read("META-INF/encryption.xml").decode("utf-8", "replace")
                uris = re.findall(r"<(?:\w+:)?CipherReference[^>]*URI=\"([^\"]+)\"", enc)
                fonts = (".ttf", ".otf", ".woff", ".woff2")
                if any(not u.lower().endswith(fonts) for u in uris):
                    raise CorpusError(
                        f"EPUB {path} is DRM-protected (its text is encrypted); use a DRM-free copy"
                    )
    except zipfile.BadZipFile as e:
        raise CorpusError(f"EPUB {path} is not a valid EPUB (not a zip archive)") from e
    epub = _need("ebooklib.epub", "ebooklib", path)
    ebooklib = _need("ebooklib", "ebooklib", path)
    try:
        book = epub.read_epub(str(path), options={"ignore_ncx": True})
    except Exception as e:  # ebooklib raises many kinds on a broken archive
        raise CorpusError(
            f"EPUB {path} cannot be read: {' '.join(str(e).split()) or type(e).__name__}"
        ) from e
    parts: list[str] = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        parts.append(html_to_blocks(item.get_content(), path))
    return "\n".join(p for p in parts if p.strip())


def _running_lines(pages: list[list[str]]) -> tuple[list[list[str]], list[Note]]:
    """Drop running heads and page numbers: a first or last line of a page that recurs (digits aside) at
    the same end of at least half the pages, and of three or more."""
    notes: list[Note] = []
    if len(pages) < 3:
        return pages, notes

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", _WS.sub(" ", line)).lower()

    for end in (0, -1):
        counts: dict[str, int] = {}
        for p in pages:
            if p:
                counts[key(p[end])] = counts.get(key(p[end]), 0) + 1
        common = {k for k, n in counts.items() if n >= max(3, len(pages) / 2)}
        for k in sorted(common):
            notes.append(
                Note("pdf_running_line", f"{'head' if end == 0 else 'foot'} {k!r} on {counts[k]} pages")
            )
        pages = [p[1:] if end == 0 and p and key(p[0]) in common else p for p in pages]
        pages = [p[:-1] if end == -1 and p and key(p[-1]) in common else p for p in pages]
    return pages, notes


def _read_pdf(path: Path) -> tuple[str, list[Note]]:
    pypdf = _need("pypdf", "pypdf", path)
    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorpusError(f"PDF {path} is encrypted; use an unprotected copy")
        raw_pages = [p.extract_text(extraction_mode="layout") or "" for p in reader.pages]
    except CorpusError:
        raise
    except Exception as e:  # pypdf raises PdfReadError and friends on broken files
        raise CorpusError(f"PDF {path} cannot be read: {' '.join(str(e).split()) or type(e).__name__}") from e
    pages: list[list[str]] = []
    for page in raw_pages:
        lines = [x.strip() for x in page.split("\n")]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        pages.append(lines)
    if not any(x for p in pages for x in p):
        raise CorpusError(f"PDF {path} has no text layer (a scanned PDF?); run OCR on it first")
    pages, notes = _running_lines(pages)
    texts = ["\n".join(p).strip("\n") for p in pages]
    texts = [t for t in texts if t.strip()]
    # a page break after a line filled to the width continues the paragraph; after a short line (the end of
    # a paragraph, a heading) it is a paragraph break
    width = max((len(x) for t in texts for x in t.split("\n")), default=0)
    out = texts[0] if texts else ""
    for t in texts[1:]:
        last = out.rsplit("\n", 1)[-1]
        out += ("\n\n" if len(last) < 0.75 * width else "\n") + t
    return _BLANKS.sub("\n\n", out) + "\n", notes


def _read_docx(path: Path) -> str:
    docx = _need("docx", "python-docx", path)
    try:
        document = docx.Document(str(path))
    except Exception as e:  # python-docx raises PackageNotFoundError, KeyError, BadZipFile...
        raise CorpusError(
            f"DOCX {path} cannot be read: {' '.join(str(e).split()) or type(e).__name__}"
        ) from e
    blocks: list[str] = []
    for part in document.iter_inner_content():  # paragraphs and tables, in document order
        if hasattr(part, "rows"):
            rows = [" | ".join(c.text.strip() for c in row.cells) for row in part.rows]
            blocks.append("\n".join(r for r in rows if r.strip(" |")))
        else:
            blocks.append(part.text.strip())
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def read_document(path: Path) -> tuple[str, Kind, list[Note]]:
    """Read one document in any supported format.

    Args:
        path: The file; its suffix picks the reader (:data:`SUFFIXES`, unknown suffixes read as text).

    Returns:
        The text (NFC, ``"\\n"`` newlines), the :data:`~haystacks.prose.Kind` to read it as, and what the
        reader left out (a PDF's running heads and page numbers).

    Raises:
        CorpusError: Unreadable, empty, not UTF-8 (text formats), without text (a scanned PDF), encrypted
            or DRM-protected, or a format whose optional reader is not installed.
    """
    fmt = SUFFIXES.get(path.suffix.lower(), "txt")
    try:
        data = path.read_bytes() if fmt in ("txt", "md", "html") else b""
    except OSError as e:
        raise CorpusError(f"cannot read file {path}: {e.strerror or e}") from e
    if fmt != "txt" and fmt != "md" and fmt != "html":
        try:
            with path.open("rb") as f:
                if not f.read(1):
                    raise CorpusError(f"file {path} is empty")
        except OSError as e:
            raise CorpusError(f"cannot read file {path}: {e.strerror or e}") from e
    kind: Kind
    notes: list[Note] = []
    if fmt in ("txt", "md"):
        text, kind = _decode(data, path), ("md" if fmt == "md" else "txt")
    elif fmt == "html":
        if not data.strip():
            raise CorpusError(f"file {path} is empty")
        text, kind = html_to_blocks(data, path), "blocks"
    elif fmt == "epub":
        text, kind = _read_epub(path), "blocks"
    elif fmt == "pdf":
        (text, notes), kind = _read_pdf(path), "pdf"
    else:
        text, kind = _read_docx(path), "blocks"
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return text, kind, notes
