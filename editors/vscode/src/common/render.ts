/**
 * A small, safe markdown-to-HTML renderer for the answer panel.
 *
 * Safety contract: every piece of text from the model or the server is HTML-escaped
 * before it is placed in markup; the renderer emits only a fixed set of tags (p, h1-h6,
 * ul/ol/li, pre/code, blockquote, table, hr, strong, em, del, a, details, span) and
 * attributes (`class` with fixed values, `href` for http(s) links only). Raw HTML in
 * the input is shown as text. The panel's CSP forbids remote resources on top of this.
 *
 * Streaming contract: the input may be a prefix of the final answer (an unclosed code
 * fence renders as a code block up to the end; a half-typed table renders as text).
 * Rendering is a pure function of the text, so each delta just re-renders.
 *
 * Supported: ATX headings, paragraphs, fenced code blocks (``` and ~~~), bullet and
 * numbered lists (one level, continuation lines), block quotes, GFM pipe tables,
 * horizontal rules; inline code, **strong**, *em* / _em_, ~~del~~, [links](https://…).
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escape text for element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^ {0,3}[-*+]\s+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** Render markdown `text` to HTML (see the module docstring for the subset). */
export function renderMarkdown(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      i = renderFence(lines, i, fence[1], fence[2], out);
      continue;
    }
    if (line.trim() === '') {
      i += 1;
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const level = heading[1].length;
      out.push(`<h${level}>${renderInline(heading[2])}</h${level}>`);
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push('<hr>');
      i += 1;
      continue;
    }
    if (isTableStart(lines, i)) {
      i = renderTable(lines, i, out);
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push((QUOTE.exec(lines[i]) as RegExpExecArray)[1]);
        i += 1;
      }
      out.push(`<blockquote>${renderMarkdown(quoted.join('\n'))}</blockquote>`);
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      i = renderList(lines, i, out);
      continue;
    }
    const paragraph: string[] = [];
    while (i < lines.length && lines[i].trim() !== '' && !startsBlock(lines, i)) {
      paragraph.push(lines[i].trim());
      i += 1;
    }
    out.push(`<p>${renderInline(paragraph.join('\n')).replace(/\n/g, '<br>')}</p>`);
  }
  return out.join('\n');
}

function startsBlock(lines: readonly string[], i: number): boolean {
  const line = lines[i];
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    BULLET.test(line) ||
    ORDERED.test(line) ||
    isTableStart(lines, i)
  );
}

function renderFence(lines: readonly string[], start: number, marker: string, language: string, out: string[]): number {
  const body: string[] = [];
  let i = start + 1;
  const closing = new RegExp(`^ {0,3}${marker[0] === '`' ? '`' : '~'}{${marker.length},}\\s*$`);
  while (i < lines.length && !closing.test(lines[i])) {
    body.push(lines[i]);
    i += 1;
  }
  const cls = language ? ` class="language-${escapeHtml(language.replace(/[^\w+#.-]/g, ''))}"` : '';
  out.push(`<pre><code${cls}>${escapeHtml(body.join('\n'))}</code></pre>`);
  return Math.min(i + 1, lines.length);
}

function renderList(lines: readonly string[], start: number, out: string[]): number {
  const ordered = ORDERED.test(lines[start]);
  const first = ordered ? (ORDERED.exec(lines[start]) as RegExpExecArray)[1] : '';
  const items: string[][] = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const match = ordered ? ORDERED.exec(line) : BULLET.exec(line);
    if (match) {
      items.push([ordered ? match[2] : match[1]]);
    } else if (line.trim() !== '' && /^\s{2,}\S/.test(line) && items.length > 0) {
      items[items.length - 1].push(line.trim()); // a continuation line of the item
    } else if (line.trim() === '' && i + 1 < lines.length && (ordered ? ORDERED : BULLET).test(lines[i + 1])) {
      // a blank line between items keeps the list going
    } else {
      break;
    }
    i += 1;
  }
  const tag = ordered ? 'ol' : 'ul';
  const startAttr = ordered && first !== '1' ? ` start="${String(Number(first))}"` : '';
  const body = items.map((item) => `<li>${renderInline(item.join('\n')).replace(/\n/g, '<br>')}</li>`).join('');
  out.push(`<${tag}${startAttr}>${body}</${tag}>`);
  return i;
}

function isTableStart(lines: readonly string[], i: number): boolean {
  return (
    i + 1 < lines.length &&
    lines[i].includes('|') &&
    TABLE_SEPARATOR.test(lines[i + 1]) &&
    lines[i + 1].includes('-') &&
    splitRow(lines[i]).length === splitRow(lines[i + 1]).length
  );
}

/** Cells of a pipe-table row; `\|` is a literal pipe inside a cell. */
export function splitRow(line: string): string[] {
  let row = line.trim();
  if (row.startsWith('|')) {
    row = row.slice(1);
  }
  if (row.endsWith('|') && !row.endsWith('\\|')) {
    row = row.slice(0, -1);
  }
  const cells: string[] = [];
  let cell = '';
  for (let k = 0; k < row.length; k += 1) {
    if (row[k] === '\\' && row[k + 1] === '|') {
      cell += '|';
      k += 1;
    } else if (row[k] === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += row[k];
    }
  }
  cells.push(cell.trim());
  return cells;
}

function renderTable(lines: readonly string[], start: number, out: string[]): number {
  const header = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((spec) =>
    spec.startsWith(':') && spec.endsWith(':') ? 'center' : spec.endsWith(':') ? 'right' : spec.startsWith(':') ? 'left' : '',
  );
  const cell = (tag: string, text: string, k: number): string =>
    `<${tag}${aligns[k] ? ` class="align-${aligns[k]}"` : ''}>${renderInline(text)}</${tag}>`;
  const rows: string[] = [];
  let i = start + 2;
  while (i < lines.length && lines[i].includes('|') && lines[i].trim() !== '') {
    const cells = splitRow(lines[i]);
    rows.push(`<tr>${header.map((_h, k) => cell('td', cells[k] ?? '', k)).join('')}</tr>`);
    i += 1;
  }
  // A header of empty cells (a key/value table) is left out rather than drawn empty.
  const head = header.every((h) => h === '') ? '' : `<thead><tr>${header.map((h, k) => cell('th', h, k)).join('')}</tr></thead>`;
  out.push(`<table>${head}<tbody>${rows.join('')}</tbody></table>`);
  return i;
}

/** Render inline markup of one block (escaping everything that is not markup). */
export function renderInline(text: string): string {
  // Code spans first: their content is literal. Split keeps them at odd indices.
  const parts = text.split(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/);
  let html = '';
  for (let k = 0; k < parts.length; k += 3) {
    html += renderEmphasis(parts[k]);
    if (k + 2 < parts.length) {
      html += `<code>${escapeHtml(parts[k + 2].trim() || parts[k + 2])}</code>`;
    }
  }
  return html;
}

function renderEmphasis(text: string): string {
  let html = escapeHtml(text);
  // Links: [text](http(s)://...) only; the URL is already escaped (quotes included).
  html = html.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s()]+)\)/g, '<a href="$2">$1</a>');
  html = html.replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, '<strong>$1</strong>');
  html = html.replace(/__(?=\S)([\s\S]*?\S)__/g, '<strong>$1</strong>');
  html = html.replace(/~~(?=\S)([\s\S]*?\S)~~/g, '<del>$1</del>');
  html = html.replace(/(^|[^*\w])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, '$1<em>$2</em>');
  html = html.replace(/(^|[^_\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1<em>$2</em>');
  return html;
}

/** One answer as shown in the panel: its text so far, thinking kept apart. */
export interface AnswerView {
  readonly title: string;
  readonly text: string;
  readonly thinking: string;
  /** `streaming` while deltas arrive, `done` with the final text, `error` on failure. */
  readonly state: 'streaming' | 'done' | 'error';
  readonly error?: string;
}

/** The HTML of one answer (thinking folded away, a status line while streaming). */
export function renderAnswer(view: AnswerView): string {
  const parts: string[] = [];
  parts.push(`<h2 class="question">${escapeHtml(view.title)}</h2>`);
  if (view.thinking.trim()) {
    parts.push(
      `<details class="thinking"><summary>Thinking</summary><pre>${escapeHtml(view.thinking)}</pre></details>`,
    );
  }
  parts.push(`<div class="answer">${renderMarkdown(view.text)}</div>`);
  if (view.state === 'streaming') {
    parts.push('<p class="status"><span class="spinner"></span>MiniMax is answering…</p>');
  } else if (view.state === 'error') {
    parts.push(`<p class="status error">${escapeHtml(view.error ?? 'The request failed.')}</p>`);
  }
  return `<section class="turn">${parts.join('\n')}</section>`;
}
