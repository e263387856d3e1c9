#!/usr/bin/env python3
"""Turns one of zmtls's markdown pages into a man page (roff, tbl for tables).

Usage: md2man.py [--source TEXT] [--manual TEXT] PAGE.S.md OUTDIR

Writes OUTDIR/manS/PAGE.S, plus a one-line `.so` page for every other name
its NAME section lists (so `man zmtls_alert_name` finds zmtls_event_name(3)).

Only the subset the project's pages use is understood, and anything else
fails the conversion with FILE:LINE, so a page never ships half rendered:

  # page(S) — what it is          the title: first line, once
  ## Section / ### Subsection     .SH (upper case) / .SS
  paragraphs, `- ` and `1. ` lists (blocks inside an item indented by its
  marker's width), ``` fenced code ```, | tables | with a |---| line,
  `code`, **bold**, *italic*, [text](target), \\-escaped punctuation.

A `## NAME` section is taken as written ("a, b — what they do"); without
one it is made from the title. The date in .TH is SOURCE_DATE_EPOCH's (for
reproducible packages), else the source file's modification time.

Tables are laid out here rather than left to tbl: each column gets at least
its longest word and the table at most the text width of an 80-column
terminal, so groff never has to overflow or stretch a line (both are
warnings Debian's checks report). A table that cannot fit is written as a
list of its rows instead.
"""

import datetime
import os
import re
import sys

TEXT_WIDTH = 71  # 80 columns, less man's 2 margin and 7 body indent
COLUMN_GAP = 2  # ens between tbl columns
CODE_INDENT = 4  # ens: code blocks sit right of the text around them
TERM_INDENT = 4  # ens: the body of a "term: text" list item
# An item that starts with its term: `code`[, `code`...] or **bold**, then ": ".
TERM = re.compile(r"^((?:`[^`]+`(?:, `[^`]+`)*)|\*\*[^*]+\*\*): ")


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------- blocks


def parse_blocks(lines, path):
    """lines: [(lineno, text)] -> list of blocks (tuples, first item kind)."""
    blocks = []
    i = 0
    n = len(lines)

    def fail(lineno, why):
        raise ConvertError("%s:%d: %s" % (path, lineno, why))

    while i < n:
        lineno, text = lines[i]
        if not text.strip():
            i += 1
            continue
        m = re.match(r"^(#{1,6}) +(.*?) *#*$", text)
        if m:
            if len(m.group(1)) > 3:
                fail(lineno, "heading deeper than ###")
            blocks.append(("h", len(m.group(1)), m.group(2), lineno))
            i += 1
            continue
        if text.startswith("```"):
            code = []
            i += 1
            while i < n and not lines[i][1].startswith("```"):
                code.append(lines[i][1].expandtabs())
                i += 1
            if i == n:
                fail(lineno, "code block never closed")
            blocks.append(("code", code, lineno))
            i += 1
            continue
        if text.startswith("|"):
            rows = []
            while i < n and lines[i][1].startswith("|"):
                rows.append((lines[i][0], split_row(lines[i][1])))
                i += 1
            if len(rows) < 2 or not all(re.match(r"^:?-+:?$", c) for c in rows[1][1]):
                fail(lineno, "a table needs a |---| line after its header")
            width = len(rows[0][1])
            for rl, cells in rows:
                if len(cells) != width:
                    fail(rl, "%d cells, the header has %d" % (len(cells), width))
            blocks.append(("table", rows[0][1], [c for _, c in rows[2:]], lineno))
            continue
        m = re.match(r"^(- |\d+\. )", text)
        if m:
            ordered = m.group(1) != "- "
            items = []
            while i < n:
                lineno, text = lines[i]
                m = re.match(r"^(- |\d+\. )", text)
                if not m or (m.group(1) != "- ") != ordered:
                    break
                pad = len(m.group(1))
                item = [(lineno, text[pad:])]
                i += 1
                # The item runs on while lines are indented by its marker's
                # width, or continue its first paragraph without indent.
                while i < n:
                    ln, t = lines[i]
                    if not t.strip():
                        if i + 1 < n and lines[i + 1][1].startswith(" " * pad):
                            item.append((ln, ""))
                            i += 1
                            continue
                        break
                    if t.startswith(" " * pad):
                        item.append((ln, t[pad:]))
                    elif item[-1][1].strip() and not starts_block(t):
                        item.append((ln, t))
                    else:
                        break
                    i += 1
                items.append(parse_blocks(item, path))
                while i < n and not lines[i][1].strip():
                    i += 1
            blocks.append(("list", ordered, items, lineno))
            continue
        if text.startswith(" ") or text.startswith(">") or text.startswith("<"):
            fail(lineno, "unsupported construct (indented text, quote or HTML)")
        para = []
        while i < n and lines[i][1].strip() and (not para or not starts_block(lines[i][1])):
            para.append(lines[i][1].strip())
            i += 1
        blocks.append(("p", " ".join(para), lineno))
    return blocks


def starts_block(text):
    return bool(re.match(r"^(#{1,6} |```|\||- |\d+\. )", text))


def split_row(text):
    """Cells of a table line; a '|' inside `code` or escaped stays in its cell."""
    cells, cur, i, code = [], "", 0, 0
    body = text.strip()
    body = body[1:] if body.startswith("|") else body
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            cur += body[i : i + 2]
            i += 2
            continue
        if c == "`":
            run = len(re.match(r"`+", body[i:]).group(0))
            code = 0 if code == run else (run if not code else code)
            cur += "`" * run
            i += run
            continue
        if c == "|" and not code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if cur.strip():
        cells.append(cur.strip())
    return cells


# ---------------------------------------------------------------- inline


def parse_inline(s, lineno, path):
    """-> list of nodes: ('t', text) ('code', text) ('b'|'i'|'a', children[, url])."""
    out = []
    i = 0
    buf = ""

    def flush():
        nonlocal buf
        if buf:
            out.append(("t", buf))
            buf = ""

    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and not s[i + 1].isalnum() and s[i + 1] != " ":
            buf += s[i + 1]
            i += 2
            continue
        if c == "`":
            run = re.match(r"`+", s[i:]).group(0)
            end = s.find(run, i + len(run))
            while end != -1 and s[end : end + len(run) + 1] == run + "`":
                end = s.find(run, end + len(run) + 1)
            if end == -1:
                raise ConvertError("%s:%d: unclosed `code`" % (path, lineno))
            body = s[i + len(run) : end]
            if body.startswith(" ") and body.endswith(" ") and body.strip():
                body = body[1:-1]
            flush()
            out.append(("code", body))
            i = end + len(run)
            continue
        if s.startswith("**", i):
            end = find_closing(s, i + 2, "**")
            if end == -1:
                raise ConvertError("%s:%d: unclosed **bold**" % (path, lineno))
            flush()
            out.append(("b", parse_inline(s[i + 2 : end], lineno, path)))
            i = end + 2
            continue
        if c == "*" and i + 1 < len(s) and s[i + 1] != " ":
            end = find_closing(s, i + 1, "*")
            if end != -1:
                flush()
                out.append(("i", parse_inline(s[i + 1 : end], lineno, path)))
                i = end + 1
                continue
        if c == "[":
            m = match_link(s, i)
            if m:
                text, url, end = m
                flush()
                out.append(("a", parse_inline(text, lineno, path), url))
                i = end
                continue
        buf += c
        i += 1
    flush()
    return out


def find_closing(s, start, mark):
    """Index of the closing mark, skipping `code` spans; -1 when none."""
    i = start
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == "`":
            run = re.match(r"`+", s[i:]).group(0)
            end = s.find(run, i + len(run))
            i = len(s) if end == -1 else end + len(run)
            continue
        if s.startswith(mark, i) and (mark != "*" or not s.startswith("**", i)):
            return i
        i += 1
    return -1


def match_link(s, start):
    depth, i = 0, start
    while i < len(s):
        if s[i] == "`":
            end = s.find("`", i + 1)
            i = len(s) if end == -1 else end + 1
            continue
        if s[i] == "[":
            depth += 1
        elif s[i] == "]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    if i >= len(s) or not s.startswith("(", i + 1):
        return None
    close = s.find(")", i + 2)
    if close == -1:
        return None
    return s[start + 1 : i], s[i + 2 : close], close + 1


def plain(nodes):
    """What the reader sees, for widths and headings."""
    out = ""
    for n in nodes:
        if n[0] in ("t", "code"):
            out += n[1]
        else:
            out += plain(n[1])
            if n[0] == "a" and shown_url(n[2]):
                out += " <" + n[2] + ">"
    return out


def shown_url(url):
    # Anchors and sibling pages name what the text already says.
    return not (url.startswith("#") or url.endswith(".md") or "/" not in url)


# ---------------------------------------------------------------- roff


def esc_char(c, code):
    if c == "\\":
        return "\\e"
    if ord(c) > 127:
        # Characters with an ASCII rendering in groff's own glyph names
        # (every output device has them); others by code point.
        named = {"\u2026": "...", "\u2014": "\\(em", "\u2013": "\\(en",
                 "\u2192": "\\(->", "\u2190": "\\(<-", "\u00d7": "\\(mu",
                 "\u2264": "\\(<=", "\u2265": "\\(>=", "\u2019": "\\(cq",
                 "\u2018": "\\(oq", "\u201c": "\\(lq", "\u201d": "\\(rq"}
        return named.get(c, "\\[u%04X]" % ord(c))
    if code:
        return {"-": "\\-", "'": "\\(aq", "`": "\\(ga", "~": "\\(ti", "^": "\\(ha"}.get(c, c)
    return c


def esc_text(s, code=False):
    out = "".join(esc_char(c, code) for c in s)
    if not code:
        # A '-' that starts a word is a minus sign or an option's dash.
        out = re.sub(r"(^|(?<=[\s(\[]))-", r"\\-", out)
    return out


def roff_inline(nodes, font="R"):
    out = ""
    for n in nodes:
        if n[0] == "t":
            out += esc_text(n[1])
        elif n[0] == "code":
            out += "\\fB" + esc_text(n[1], code=True) + "\\f" + font
        elif n[0] == "b":
            out += "\\fB" + roff_inline(n[1], "B") + "\\f" + font
        elif n[0] == "i":
            out += "\\fI" + roff_inline(n[1], "I") + "\\f" + font
        else:
            out += roff_inline(n[1], font)
            if shown_url(n[2]):
                out += " <" + esc_text(n[2], code=True) + ">"
    return out


def text_line(s):
    """One input line of running text: control characters neutralised."""
    s = re.sub(r"\s+", " ", s).strip()
    if s.startswith(".") or s.startswith("'"):
        s = "\\&" + s
    return s


def quote_arg(s):
    return '"' + s.replace('"', "\\(dq") + '"'


class Writer:
    def __init__(self, path):
        self.path = path
        self.out = []
        self.uses_tbl = False

    def inline(self, text, lineno, font="R"):
        return roff_inline(parse_inline(text, lineno, self.path), font)

    def blocks(self, blocks, indent=0):
        """indent: the ens of the list item these blocks belong to (0: none)."""
        first = True
        for b in blocks:
            kind = b[0]
            if kind == "h":
                if indent:
                    raise ConvertError("%s:%d: heading inside a list" % (self.path, b[3]))
                title = plain(parse_inline(b[2], b[3], self.path))
                macro = ".SH " if b[1] == 2 else ".SS "
                self.out.append(macro + quote_arg(esc_text(title.upper() if b[1] == 2 else title)))
                first = True
                continue
            if kind == "p":
                if indent and first:
                    pass  # the item's .IP already started this paragraph
                elif indent:
                    self.out.append('.IP "" %d' % indent)
                else:
                    self.out.append(".PP")
                self.out.append(text_line(self.inline(b[1], b[2])))
            elif kind == "code":
                self.out.append('.IP "" %d' % (indent + CODE_INDENT))
                self.out.append(".nf")
                for line in b[1]:
                    line = esc_text(line, code=True)
                    if line.startswith(".") or line.startswith("'") or not line:
                        line = "\\&" + line
                    self.out.append(line)
                self.out.append(".fi")
            elif kind == "list":
                self.list(b, indent)
            elif kind == "table":
                self.table(b, indent)
            first = False
        return self.out

    def list(self, b, indent):
        _, ordered, items, _ = b
        if not ordered and all(item and item[0][0] == "p" and TERM.match(item[0][1]) for item in items):
            self.terms(items, indent)
            return
        width = len("%d." % len(items)) + 1 if ordered else 2
        if indent:
            self.out.append(".RS %d" % indent)
        for k, item in enumerate(items):
            tag = "%d." % (k + 1) if ordered else "\\(bu"
            self.out.append(".IP %s %d" % (tag, width))
            if not item or item[0][0] != "p":
                raise ConvertError("%s:%d: a list item must start with text" % (self.path, b[3]))
            self.blocks(item, width)
        if indent:
            self.out.append(".RE")

    def terms(self, items, indent):
        """A list whose every item starts "term: " is a man page's tagged list."""
        if indent:
            self.out.append(".RS %d" % indent)
        for item in items:
            m = TERM.match(item[0][1])
            self.out.append(".TP %d" % TERM_INDENT)
            self.out.append(text_line(self.inline(m.group(1), item[0][2])))
            rest = [("p", item[0][1][m.end() :], item[0][2])] + item[1:]
            self.blocks(rest, TERM_INDENT)
        if indent:
            self.out.append(".RE")

    def table(self, b, indent):
        _, header, rows, lineno = b
        cells = [[parse_inline(c, lineno, self.path) for c in r] for r in [header] + rows]
        ncol = len(header)
        room = TEXT_WIDTH - indent - COLUMN_GAP * (ncol - 1)
        natural = [max(len(plain(r[c])) for r in cells) for c in range(ncol)]
        least = [max(longest_word(plain(r[c])) for r in cells) for c in range(ncol)]
        if sum(least) > room:
            self.table_as_list(cells)
            return
        widths = fit_columns(natural, least, room)
        self.uses_tbl = True
        if indent:
            self.out.append(".RS %d" % indent)
        self.out.append(".PP")
        self.out.append(".TS")
        # A cell holding the separator is always a text block. nokeep: in
        # man's single endless page, tbl's keeps leave a stray blank line
        # after some rows.
        self.out.append("tab(@) nokeep;")
        fmt = " ".join("lw(%dn)%s" % (w, COLUMN_GAP if k < ncol - 1 else "") for k, w in enumerate(widths))
        self.out.append(fmt + ".")
        for r, row in enumerate(cells):
            parts = []
            for node in row:
                text = roff_inline(node, "B" if r == 0 else "R")
                if r == 0:
                    text = "\\fB" + text + "\\fR"
                if len(plain(node)) <= widths[len(parts)] and "@" not in text:
                    parts.append(text_line(text) or "\\&")
                else:  # a text block: filled to the column's width
                    parts.append("T{\n" + text_line(text) + "\nT}")
            self.out.append("@".join(parts))
            if r == 0:
                self.out.append("_")
        self.out.append(".TE")
        if indent:
            self.out.append(".RE")

    def table_as_list(self, cells):
        """Each row a tagged paragraph: its first cell, then 'header: cell' lines."""
        head = cells[0]
        for row in cells[1:]:
            self.out.append(".TP")
            self.out.append(text_line(roff_inline(row[0], "B") if row[0] else "\\&"))
            for k in range(1, len(row)):
                self.out.append(".br")
                self.out.append(text_line(roff_inline(head[k], "I") + ": " + roff_inline(row[k])))


def longest_word(s):
    return max((len(w) for w in s.split()), default=1)


def fit_columns(natural, least, room):
    """Widths at least `least`, at most `natural`, summing to at most `room`.

    Narrow columns get their natural width first, when it costs no more than
    an equal share of what is left; the rest is shared in proportion to what
    each column still lacks, so the wordy column takes the remaining width.
    """
    if sum(natural) <= room:
        return list(natural)
    widths = list(least)
    spare = room - sum(widths)
    order = sorted(range(len(widths)), key=lambda k: natural[k] - least[k])
    rest = list(order)
    for k in order:
        lack = natural[k] - widths[k]
        if lack <= spare // len(rest):
            widths[k] += lack
            spare -= lack
            rest.remove(k)
        else:
            break
    total = sum(natural[k] - widths[k] for k in rest)
    for k in rest:
        widths[k] += spare * (natural[k] - widths[k]) // total if total else 0
    return widths


# ---------------------------------------------------------------- page


def convert(path, outdir, source, manual):
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    base = os.path.basename(path)
    m = re.match(r"^(.+)\.(\d)\.md$", base)
    if not m:
        raise ConvertError("%s: the file name must be NAME.SECTION.md" % path)
    name, section = m.group(1), m.group(2)
    t = re.match(r"^# (\S+)\((\d)\) +(?:—|-) +(.+)$", raw[0] if raw else "")
    if not t or t.group(1) != name or t.group(2) != section:
        raise ConvertError("%s:1: the title must be '# %s(%s) — what it is'" % (path, name, section))
    lines = list(enumerate(raw, start=1))[1:]
    blocks = parse_blocks(lines, path)
    for b in blocks:
        if b[0] == "h" and b[1] == 1:
            raise ConvertError("%s:%d: only the title is a '#' heading" % (path, b[3]))

    names = [name]
    w = Writer(path)
    has_name = any(b[0] == "h" and b[1] == 2 and b[2].strip().upper() == "NAME" for b in blocks)
    if has_name:
        k = next(k for k, b in enumerate(blocks) if b[0] == "h" and b[2].strip().upper() == "NAME")
        if k + 1 >= len(blocks) or blocks[k + 1][0] != "p":
            raise ConvertError("%s:%d: NAME needs one paragraph" % (path, blocks[k][3]))
        para = blocks[k + 1][1]
        if " — " not in para:
            raise ConvertError("%s:%d: NAME reads 'name, name — what they do'" % (path, blocks[k + 1][2]))
        listed, what = para.split(" — ", 1)
        names = [x.strip().strip("`") for x in listed.split(",")]
        if name not in names:
            raise ConvertError("%s: NAME does not list %s" % (path, name))
        w.out.extend([".SH NAME", text_line(", ".join(names) + " \\- " + w.inline(what, blocks[k + 1][2]))])
        del blocks[k : k + 2]
    else:
        w.out.extend([".SH NAME", text_line(name + " \\- " + w.inline(t.group(3), 1))])
    body = w.blocks(blocks)

    stamp = os.environ.get("SOURCE_DATE_EPOCH")
    when = int(stamp) if stamp else int(os.path.getmtime(path))
    date = datetime.datetime.fromtimestamp(when, datetime.timezone.utc).strftime("%Y-%m-%d")
    head = []
    if w.uses_tbl:
        head.append("'\\\" t")  # tells man to run tbl
    head.append('.\\" Generated by docs/man/md2man.py from %s; edit that file.' % base)
    head.append(
        ".TH %s %s %s %s %s"
        % (quote_arg(esc_text(name.upper(), code=True)), section, quote_arg(date),
           quote_arg(esc_text(source)), quote_arg(esc_text(manual)))
    )
    # Left-aligned and never hyphenated: the pages are full of identifiers
    # (ZMTLS_SESSION_LIFETIME, HANDSHAKE_FAILED_AUTH) that justification
    # would space out and hyphenation would cut, and a narrow table cell
    # that cannot be stretched is a warning.
    head.extend([".ad l", ".nh"])
    mandir = os.path.join(outdir, "man" + section)
    os.makedirs(mandir, exist_ok=True)
    write(os.path.join(mandir, "%s.%s" % (name, section)), "\n".join(head + body) + "\n")
    for alias in names:
        if alias != name:
            write(os.path.join(mandir, "%s.%s" % (alias, section)), ".so man%s/%s.%s\n" % (section, name, section))


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv):
    source, manual = "zmtls", "zmtls Manual"
    args = []
    it = iter(argv)
    for a in it:
        if a == "--source":
            source = next(it, source)
        elif a == "--manual":
            manual = next(it, manual)
        else:
            args.append(a)
    if len(args) != 2:
        sys.stderr.write("usage: md2man.py [--source TEXT] [--manual TEXT] PAGE.S.md OUTDIR\n")
        return 2
    try:
        convert(args[0], args[1], source, manual)
    except ConvertError as e:
        sys.stderr.write("md2man: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
