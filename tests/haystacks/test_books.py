"""A book read as prose: a Gutenberg-shaped text (``book.py``) and the same book as HTML, EPUB, PDF and DOCX.

Acceptance of issue 17: every changed_line alteration is one whole sentence of the original, every needle of
every task sits between sentences, paragraph breaks are kept, lengths stay exact; each format yields the same
prose; unreadable documents are one line and exit 2.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from haystacks.build import main
from haystacks.builder import CellSpec, Haystack, build_haystack
from haystacks.corpus import Corpus, clean_document, load_corpus
from haystacks.errors import CorpusError
from haystacks.tasks import get_task, task_names
from haystacks.tokenizers import Tokenizer

from . import book
from .conftest import check_exact

pysbd = pytest.importorskip("pysbd")


def _norm(s: str) -> str:
    return " ".join(s.split())


@pytest.fixture(scope="module")
def book_txt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("book") / "orchard.txt"
    p.write_text(book.gutenberg_text(), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def book_corpus(book_txt: Path) -> Corpus:
    return load_corpus(book_txt)


@pytest.fixture(scope="module")
def reference() -> set[str]:
    """The book's sentences as the reference segmenter (pysbd) reads them, whitespace-normalized."""
    seg = pysbd.Segmenter(language="en", clean=False)
    return {_norm(s) for p in book.paragraphs() for s in seg.segment(p)}


# ---------------------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------------------
def test_gutenberg_book_reads_as_paragraphs(book_txt: Path, book_corpus: Corpus) -> None:
    assert [p.rstrip("\n") for p in book_corpus.paragraphs] == book.paragraphs()
    text = book_corpus.text
    assert "Gutenberg" not in text and "Produced by" not in text and "LICENSE" not in text
    # a blank line after each paragraph and after each run of structural lines; verse lines stay lines
    assert "swimming pool.\n\nI arrived" in text
    assert "The orchard sleeps beneath the moon,\nThe boats are drawn up on the sand;\n" in text
    assert "Things I bought in the city that afternoon:\n- a copy of" in text
    structural = {book_corpus.paragraphs[j].strip() for j in book_corpus.structural}
    assert {"CHAPTER I", "- some cold cream and a small flask of perfume,"} <= structural
    assert not any(s.startswith("In my younger") for s in structural)
    rules = [n.rule for n in clean_document(book_txt.read_text(encoding="utf-8")).notes]
    assert rules[:3] == ["gutenberg_header", "gutenberg_credits", "gutenberg_footer"]
    assert "hard_wrapped" in rules and "unwrapped" in rules


def test_seeds_keep_the_line_reading(corpus: Corpus) -> None:
    # the transcripts are not hard-wrapped: one paragraph per line, no blank lines, nothing structural
    assert all(p.endswith("\n") and not p.endswith("\n\n") for p in corpus.paragraphs)
    assert not corpus.structural


def test_explain_cleaning_cli(book_txt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--haystack", str(book_txt), "--explain-cleaning"]) == 0
    out = capsys.readouterr().out
    assert "gutenberg_header: lines 1-19" in out and "hard_wrapped: lines wrapped at about 70 columns" in out
    assert "13 paragraphs joined from" in out and out.rstrip().splitlines()[-1].startswith("corpus ")


# ---------------------------------------------------------------------------------------------------------
# placement: whole sentences, needles between sentences, paragraphs kept, exact
# ---------------------------------------------------------------------------------------------------------
def _strip_needles(h: Haystack) -> tuple[str, list[int]]:
    """The context with every inserted text taken out (a changed sentence put back), and where each was."""
    items = sorted((*h.needles, *h.distractors), key=lambda n: n.char_offset)
    out: list[str] = []
    where: list[int] = []
    pos = 0
    for n in items:
        out.append(h.context[pos : n.char_offset])
        where.append(sum(map(len, out)))
        if n.kind == "changed":
            out.append(n.original)
        pos = n.char_offset + len(n.text)
    out.append(h.context[pos:])
    return "".join(out), where


def _between_sentences(text: str, at: int, ref: set[str]) -> bool:
    before, after = _norm(text[:at]), _norm(text[at:])
    ok_before = not before or any(before.endswith(s) for s in ref)
    ok_after = not after or any(after.startswith(s) or s.startswith(after) for s in ref)
    return ok_before and ok_after


def _spec(task: str, **over: object) -> CellSpec:
    t = get_task(task)
    fields: dict[str, object] = {"task": task, **t.cell_params(t.example_options())}
    fields.update(over)
    return CellSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("task", task_names())
def test_every_task_places_between_sentences(
    task: str, book_corpus: Corpus, cl100k: Tokenizer, reference: set[str]
) -> None:
    for seed, depth in ((0, 10.0), (1, 50.0), (2, 90.0)):
        spec = _spec(task, length=6000, depth=depth, seed=seed, language="en")
        h = build_haystack(spec, cl100k, book_corpus)
        check_exact(h, cl100k)
        assert h.context_tokens == 6000
        text, where = _strip_needles(h)
        for at in where:
            assert _between_sentences(text, at, ref=reference), (
                task,
                seed,
                depth,
                text[max(0, at - 60) : at + 60],
            )
        # paragraph breaks kept: every blank-line separated chunk is a whole paragraph of the book (the last
        # one may be cut to make the length exact)
        chunks = [_norm(c) for c in text.split("\n\n") if c.strip()]
        paragraphs = {_norm(p) for p in book.paragraphs()}
        blocks = {_norm(b) for b in book_corpus.text.split("\n\n") if b.strip()}
        assert all(c in paragraphs or c in blocks for c in chunks[:-1]), task
        assert text.count("\n\n") >= 20


@pytest.mark.parametrize(("seed", "depth"), [(s, d) for s in (0, 1, 2) for d in (10.0, 50.0, 90.0)])
def test_changed_line_alters_one_whole_sentence(
    seed: int, depth: float, book_corpus: Corpus, cl100k: Tokenizer, reference: set[str]
) -> None:
    h = build_haystack(
        CellSpec(task="changed_line", length=6000, depth=depth, seed=seed, language="en"), cl100k, book_corpus
    )
    (n,) = h.needles
    assert _norm(n.original) in reference
    i = n.text.index(n.answer)  # the altered sentence is the original with the phrase added inside it
    assert _norm(n.text[:i].rstrip(", ") + n.text[i + len(n.answer) :]) == _norm(n.original)
    assert abs(n.actual_depth - depth) <= 1.0
    assert h.context_tokens == 6000


# ---------------------------------------------------------------------------------------------------------
# formats: the same book as HTML, EPUB, PDF and DOCX yields the same prose
# ---------------------------------------------------------------------------------------------------------
def _write_html(d: Path) -> Path:
    p = d / "orchard.html"
    p.write_text(book.html_text(), encoding="utf-8")
    return p


def _write_epub(d: Path) -> Path:
    epub = pytest.importorskip("ebooklib.epub")
    b = epub.EpubBook()
    b.set_identifier("orchard-test")
    b.set_title(book.TITLE)
    b.set_language("en")
    chapters = []
    for i, (heading, blocks) in enumerate(book.CHAPTERS):
        c = epub.EpubHtml(title=heading, file_name=f"ch{i}.xhtml", lang="en")
        body = [f"<h2>{heading}</h2>"]
        for blk in blocks:
            if isinstance(blk, list):
                body.append("<p>" + "<br/>".join(x.strip() for x in blk) + "</p>")
            else:
                body.append(f"<p>{blk}</p>")
        c.content = "<html><body>" + "".join(body) + "</body></html>"
        b.add_item(c)
        chapters.append(c)
    b.toc = chapters
    b.add_item(epub.EpubNcx())
    b.add_item(epub.EpubNav())
    b.spine = chapters
    p = d / "orchard.epub"
    epub.write_epub(str(p), b)
    return p


def _write_pdf(d: Path) -> Path:
    fpdf = pytest.importorskip("fpdf")

    class Book(fpdf.FPDF):  # a running head and page numbers, as printed books have
        def header(self) -> None:
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, book.TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(3)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, str(self.page_no()), align="C")
            self.set_font("Helvetica", size=11)

    pdf = Book(format=(148, 210))  # A5
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for heading, blocks in book.CHAPTERS:
        pdf.multi_cell(0, 5, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(5)
        for blk in blocks:
            lines = [x.strip() for x in blk] if isinstance(blk, list) else [blk]
            for line in lines:
                pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(5)
    p = d / "orchard.pdf"
    pdf.output(str(p))
    return p


def _write_docx(d: Path) -> Path:
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    for heading, blocks in book.CHAPTERS:
        doc.add_heading(heading, level=2)
        for blk in blocks:
            if isinstance(blk, list):
                para = doc.add_paragraph()
                for i, x in enumerate(blk):
                    run = para.add_run(x.strip())
                    if i < len(blk) - 1:
                        run.add_break()
            else:
                doc.add_paragraph(blk)
    p = d / "orchard.docx"
    doc.save(str(p))
    return p


WRITERS = {"html": _write_html, "epub": _write_epub, "pdf": _write_pdf, "docx": _write_docx}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_each_format_yields_the_same_prose(fmt: str, tmp_path: Path, book_corpus: Corpus) -> None:
    pytest.importorskip("bs4")
    c = load_corpus(WRITERS[fmt](tmp_path))
    if fmt == "pdf":
        rules = [n.rule for n in c.notes[0]]
        assert rules.count("pdf_running_line") == 2  # the running head and the page numbers
    assert c.paragraphs == book_corpus.paragraphs
    assert c.structural == book_corpus.structural
    assert c.sha256 == book_corpus.sha256  # the run identity hashes the text the model reads


def test_folder_mixing_formats(tmp_path: Path, book_txt: Path) -> None:
    pytest.importorskip("bs4")
    (tmp_path / "a.txt").write_text(book.gutenberg_text(), encoding="utf-8")
    _write_html(tmp_path).rename(tmp_path / "b.html")
    (tmp_path / "c.md").write_text(
        "# Notes\n\nA short note that\nwraps here.\n\n- one\n- two\n", encoding="utf-8"
    )
    (tmp_path / "ignored.json").write_text("{}", encoding="utf-8")
    c = load_corpus(tmp_path)
    assert c.files == ("a.txt", "b.html", "c.md")
    assert c.text.endswith("# Notes\n\nA short note that wraps here.\n\n- one\n- two\n\n")
    one = load_corpus(book_txt).text
    assert c.text.startswith(one + one)


# ---------------------------------------------------------------------------------------------------------
# unreadable documents: one line, exit 2
# ---------------------------------------------------------------------------------------------------------
def _drm_epub(d: Path) -> Path:
    p = _write_epub(d)
    with zipfile.ZipFile(p, "a") as z:
        z.writestr(
            "META-INF/encryption.xml",
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
            '<enc:CipherReference URI="EPUB/ch0.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>',
        )
    return p


def _scanned_pdf(d: Path) -> Path:
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # an image-like page: no text layer
    p = d / "scan.pdf"
    pdf.output(str(p))
    return p


def _garbage(name: str) -> object:
    def write(d: Path) -> Path:
        p = d / name
        p.write_bytes(b"\x00\x01 not a real document \xff" * 20)
        return p

    return write


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_drm_epub, "is DRM-protected"),
        (_scanned_pdf, "has no text layer"),
        (_garbage("broken.pdf"), "cannot be read"),
        (_garbage("broken.epub"), "not a valid EPUB"),
        (_garbage("broken.docx"), "cannot be read"),
    ],
)
def test_unreadable_documents_are_one_line(
    make: object, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("bs4")
    p = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(CorpusError, match=message):
        load_corpus(p)
    assert main(["--haystack", str(p), "--language", "en", "--length", "500"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_a_latin1_gutenberg_book_is_read_by_its_declared_encoding(tmp_path: Path) -> None:
    text = book.gutenberg_text().replace(
        "Language: English", "Language: English\n\nCharacter set encoding: ISO-8859-1"
    )
    text = text.replace("Mr. Carraway", "Mr. Carrawäy")
    p = tmp_path / "latin1.txt"
    p.write_bytes(text.encode("latin-1"))
    assert "Mr. Carrawäy" in load_corpus(p).text
    undeclared = tmp_path / "undeclared.txt"
    undeclared.write_bytes("Mr. Carrawäy came.\n".encode("latin-1"))
    with pytest.raises(CorpusError, match="not UTF-8"):
        load_corpus(undeclared)


def test_docx_tables_are_kept_in_document_order(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    doc = docx.Document()
    doc.add_paragraph("Before the table.")
    table = doc.add_table(rows=2, cols=2)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"r{r}c{c}"
    doc.add_paragraph("After the table.")
    p = tmp_path / "t.docx"
    doc.save(str(p))
    c = load_corpus(p)
    assert c.text == "Before the table.\n\nr0c0 | r0c1\nr1c0 | r1c1\n\nAfter the table.\n\n"
    assert c.structural == {1, 2}


def test_shuffle_moves_a_stanza_or_a_list_as_one(book_corpus: Corpus, cl100k: Tokenizer) -> None:
    h = build_haystack(
        CellSpec(length=3000, depth=50.0, seed=5, shuffle=True, language="en"), cl100k, book_corpus
    )
    text, _ = _strip_needles(h)
    blocks = {b.strip("\n") for b in book_corpus.text.split("\n\n")}
    stanza = next(b for b in blocks if b.startswith("The orchard sleeps"))
    shopping = next(b for b in blocks if b.startswith("Things I bought"))
    assert stanza.count("\n") == 3 and shopping.count("\n") == 3
    assert f"\n\n{stanza}\n\n" in text and f"\n\n{shopping}\n\n" in text  # whole, between blank lines
    paragraphs = {_norm(p) for p in book.paragraphs()} | {_norm(b) for b in book_corpus.text.split("\n\n")}
    chunks = [_norm(c) for c in text.split("\n\n") if c.strip()]
    assert all(c in paragraphs for c in chunks[:-1])
