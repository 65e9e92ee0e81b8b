/**
 * Splits a PSKC document into its header (the KeyContainer start tag with everything before the first
 * KeyPackage) and one XML fragment per KeyPackage, incrementally, so a 100,000-token file is parsed a package at a
 * time instead of as one tree. It tokenises only the markup: it checks that every closing tag matches its opening
 * tag, that nothing follows the root and that nothing is cut short, reporting the line, so fast-xml-parser then
 * only has to turn well-nested fragments into objects.
 *
 * Safety: any `<!` declaration other than a comment or CDATA (DOCTYPE, ENTITY, ...) is refused outright, so no
 * entity can be defined, expanded or fetched; the parser then only ever sees the five predefined entities.
 */
export class PskcFormatError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly element?: string,
  ) {
    super(message)
    this.name = 'PskcFormatError'
  }
}

export type Segment =
  | { kind: 'header'; xml: string; line: number; rootName: string }
  | { kind: 'package'; xml: string; line: number; index: number }

/**
 * Pending input (one KeyPackage, the header, or an unfinished tag) beyond this is not PSKC; the bound keeps a
 * hostile file from growing the buffer without limit.
 */
const MAX_PENDING_CHARS = 16 * 1024 * 1024

export class KeyPackageSplitter {
  private buf = ''
  private pos = 0
  /** Line number (1-based) of buf[0]. */
  private bufLine = 1
  /** A known (index, line) pair inside buf, so line lookups need not rescan from buf[0]. */
  private lineCursor = 0
  private lineCursorLine = 1
  /** Names of the open elements, to catch mismatched closing tags where they happen. */
  private readonly open: string[] = []
  private rootName: string | null = null
  private rootClosed = false
  private headerStart = -1
  private headerDone = false
  private packageStart = -1
  private packageLine = 0
  private packages = 0

  /**
   * `insideRoot` resumes a document that was cut just before a KeyPackage start tag: the part starts directly
   * inside the root element (named so), after the header. Lines and package numbers then count from the part.
   */
  constructor(insideRoot?: string) {
    if (insideRoot === undefined) return
    this.rootName = insideRoot
    this.open.push(insideRoot)
    this.headerDone = true
  }

  push(text: string): Segment[] {
    this.buf += text
    const out: Segment[] = []
    this.scan(out)
    this.compact()
    if (this.buf.length > MAX_PENDING_CHARS) {
      throw new PskcFormatError('a single element exceeds 16 MiB: not a PSKC file', this.lineAt(this.pos))
    }
    return out
  }

  /** Call at end of input: anything still open means the file was cut short. */
  end(): void {
    if (this.buf.slice(this.pos).trim() !== '') {
      throw new PskcFormatError('file is truncated inside a tag', this.lineAt(this.pos))
    }
    if (this.rootName === null) throw new PskcFormatError('no KeyContainer element: not a PSKC file')
    if (this.packageStart >= 0) {
      throw new PskcFormatError('file is truncated: KeyPackage is not closed', this.packageLine, 'KeyPackage')
    }
    if (!this.rootClosed) {
      throw new PskcFormatError(`file is truncated: ${this.rootName} is not closed`, this.lineAt(this.pos))
    }
  }

  /**
   * Ends a part of a document cut just before a KeyPackage start tag. Returns the segments still due (the
   * header, when the part is the document's start), or undefined when the cut did not fall directly inside the
   * root between two KeyPackages: inside a comment, CDATA section, tag or KeyPackage, or after the root closed.
   * Then the part cannot be read on its own and the caller reads the document in one piece.
   */
  endPart(): Segment[] | undefined {
    const clean =
      this.open.length === 1 &&
      this.rootName !== null &&
      !this.rootClosed &&
      this.packageStart < 0 &&
      this.buf.slice(this.pos).trim() === ''
    if (!clean) return undefined
    const out: Segment[] = []
    this.emitHeader(this.buf.length, out)
    return out
  }

  private scan(out: Segment[]): void {
    const buf = this.buf
    for (;;) {
      const lt = buf.indexOf('<', this.pos)
      // Text between tags only matters outside the root; inside, the parser gets it with its fragment.
      if (this.open.length === 0) this.checkText(buf.slice(this.pos, lt < 0 ? buf.length : lt), this.pos)
      if (lt < 0) {
        this.pos = buf.length
        return
      }
      const tagEnd = this.findTagEnd(lt)
      if (tagEnd < 0) {
        this.pos = lt
        return
      }
      this.onMarkup(lt, tagEnd + 1, out)
      this.pos = tagEnd + 1
    }
  }

  /** Index of the '>' closing the markup that starts at `lt`, or -1 if more input is needed. */
  private findTagEnd(lt: number): number {
    const buf = this.buf
    if (lt + 1 >= buf.length) return -1
    const next = buf.charCodeAt(lt + 1)
    if (next === BANG) {
      // Until nine characters are in, a comment, a CDATA section and a DOCTYPE cannot be told apart.
      if (buf.length < lt + 9) return -1
      if (buf.startsWith('<!--', lt)) return endOf(buf.indexOf('-->', lt + 4), 2)
      if (buf.startsWith('<![CDATA[', lt)) return endOf(buf.indexOf(']]>', lt + 9), 2)
      throw new PskcFormatError(
        'DOCTYPE and entity declarations are not allowed in PSKC files',
        this.lineAt(lt),
      )
    }
    if (next === QUESTION) return endOf(buf.indexOf('?>', lt + 2), 1)
    TAG_REST.lastIndex = lt + 1
    TAG_REST.test(buf)
    const end = TAG_REST.lastIndex
    const c = buf.charCodeAt(end)
    if (c === GT) return end
    if (c === LT) throw new PskcFormatError("'<' inside a tag: not well-formed XML", this.lineAt(end))
    if (c === DQUOTE || c === SQUOTE) {
      // A quoted value the pattern did not take: it holds a '<' or goes on past the input so far.
      const close = buf.indexOf(buf[end], end + 1)
      const lt = buf.indexOf('<', end + 1)
      if (lt >= 0 && (close < 0 || lt < close)) {
        throw new PskcFormatError("'<' in an attribute value: not well-formed XML", this.lineAt(lt))
      }
    }
    return -1 // the end of the input, or a quoted value that goes on past it
  }

  private onMarkup(start: number, end: number, out: Segment[]): void {
    const buf = this.buf
    const second = buf.charCodeAt(start + 1)
    if (second === BANG || second === QUESTION) {
      if (second === BANG && buf.startsWith('<![CDATA[', start) && this.open.length === 0) {
        throw new PskcFormatError('character data outside the root element', this.lineAt(start))
      }
      return
    }
    const closing = second === SLASH
    const nameStart = closing ? start + 2 : start + 1
    NAME.lastIndex = nameStart
    NAME.test(buf)
    const nameEnd = NAME.lastIndex
    if (!closing) {
      if (this.rootClosed) throw new PskcFormatError('content after the root element', this.lineAt(start))
      const selfClosing = buf.charCodeAt(end - 2) === SLASH
      const depth = this.open.length
      if (depth === 0) {
        this.rootName = buf.slice(nameStart, nameEnd)
        this.headerStart = start
      } else if (depth === 1 && this.packageStart < 0 && isKeyPackage(buf, nameStart, nameEnd)) {
        this.emitHeader(start, out)
        this.packageStart = start
        this.packageLine = this.lineAt(start)
      }
      if (!selfClosing) this.open.push(buf.slice(nameStart, nameEnd))
      else if (this.packageStart === start) this.emitPackage(end, out)
      return
    }
    const expected = this.open.pop()
    if (
      expected === undefined ||
      expected.length !== nameEnd - nameStart ||
      !buf.startsWith(expected, nameStart)
    ) {
      const wanted = expected === undefined ? 'no open element' : `</${expected}>`
      throw new PskcFormatError(
        `not well-formed XML: found </${buf.slice(nameStart, nameEnd)}> where ${wanted} belongs`,
        this.lineAt(start),
      )
    }
    const depth = this.open.length
    if (depth === 1 && this.packageStart >= 0 && isKeyPackage(buf, nameStart, nameEnd)) {
      this.emitPackage(end, out)
    } else if (depth === 0) {
      this.emitHeader(start, out)
      this.rootClosed = true
    }
  }

  private emitHeader(at: number, out: Segment[]): void {
    if (this.headerDone || this.rootName === null) return
    this.headerDone = true
    const xml = this.buf.slice(this.headerStart, at) + `</${this.rootName}>`
    out.push({ kind: 'header', xml, line: this.lineAt(this.headerStart), rootName: this.rootName })
  }

  private emitPackage(end: number, out: Segment[]): void {
    const xml = this.buf.slice(this.packageStart, end)
    out.push({ kind: 'package', xml, line: this.packageLine, index: ++this.packages })
    this.packageStart = -1
  }

  private checkText(text: string, at: number): void {
    if (this.open.length === 0 && text.replace(/^\uFEFF/, '').trim() !== '') {
      throw new PskcFormatError('text outside the root element: not XML', this.lineAt(at))
    }
  }

  /** Drops consumed text that no pending segment still needs, keeping line numbers right. */
  private compact(): void {
    const keepFrom = Math.min(
      this.pos,
      this.packageStart >= 0 ? this.packageStart : Infinity,
      !this.headerDone && this.headerStart >= 0 ? this.headerStart : Infinity,
    )
    if (keepFrom === 0) return
    this.bufLine = this.lineAt(keepFrom)
    this.buf = this.buf.slice(keepFrom)
    this.pos -= keepFrom
    if (this.packageStart >= 0) this.packageStart -= keepFrom
    if (!this.headerDone && this.headerStart >= 0) this.headerStart -= keepFrom
    this.lineCursor = Math.max(0, this.lineCursor - keepFrom)
  }

  /**
   * Line of buf[index]. Lookups move forward through the file, so counting resumes from the last one instead of
   * from the start of the buffer (which would be quadratic for a large string input).
   */
  private lineAt(index: number): number {
    if (index < this.lineCursor) {
      this.lineCursor = 0
      this.lineCursorLine = this.bufLine
    }
    let line = this.lineCursorLine
    for (
      let i = this.buf.indexOf('\n', this.lineCursor);
      i >= 0 && i < index;
      i = this.buf.indexOf('\n', i + 1)
    ) {
      line++
    }
    this.lineCursor = index
    this.lineCursorLine = line
    return line
  }
}

const LT = 0x3c
const GT = 0x3e
const BANG = 0x21
const QUESTION = 0x3f
const SLASH = 0x2f
const DQUOTE = 0x22
const SQUOTE = 0x27
const COLON = 0x3a
/**
 * The rest of a start or end tag after its '<': anything but quotes and angle brackets, and quoted values
 * (which may hold '>' but, in XML, not '<'). Sticky, so it matches at lastIndex; where it stops tells what ended
 * the tag.
 */
const TAG_REST = /[^"'<>]*(?:(?:"[^"<]*"|'[^'<]*')[^"'<>]*)*/y

/** An element name: up to whitespace, '/' or '>' (the tag itself is known to end with '>'). */
const NAME = /[^ \t\r\n/>]*/y

/** Whether the element name buf[start, end) is KeyPackage, with or without a namespace prefix. */
function isKeyPackage(buf: string, start: number, end: number): boolean {
  return (
    end - start >= 10 &&
    buf.startsWith('KeyPackage', end - 10) &&
    (end - start === 10 || buf.charCodeAt(end - 11) === COLON)
  )
}

function endOf(found: number, extra: number): number {
  return found < 0 ? -1 : found + extra
}
