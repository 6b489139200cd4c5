import assert from 'node:assert/strict';
import { test } from 'node:test';

import { escapeHtml, renderAnswer, renderInline, renderMarkdown, splitRow } from '../../src/common/render';

/** Every tag name in `html`. */
function tags(html: string): Set<string> {
  return new Set([...html.matchAll(/<\/?([a-zA-Z0-9]+)/g)].map((m) => m[1].toLowerCase()));
}

const ALLOWED = new Set(['p', 'br', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'pre', 'code', 'blockquote',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 'strong', 'em', 'del', 'a', 'details', 'summary', 'section', 'div', 'span']);

test('escapes the five HTML specials', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('headings, paragraphs, emphasis, inline code', () => {
  const html = renderMarkdown('# Title\n\nSome **bold**, *em*, _em_ and `a < b`.\nnext line');
  assert.equal(html, '<h1>Title</h1>\n<p>Some <strong>bold</strong>, <em>em</em>, <em>em</em> and <code>a &lt; b</code>.<br>next line</p>');
});

test('snake_case and 2*3*4 are not emphasis', () => {
  assert.equal(renderInline('call my_func_name(a_b) with 2*3*4'), 'call my_func_name(a_b) with 2*3*4');
});

test('code fences keep their content literal, language as a class', () => {
  const html = renderMarkdown('```python\ndef f(x):\n    return x < 1 and "**no**"\n```\nafter');
  assert.equal(
    html,
    '<pre><code class="language-python">def f(x):\n    return x &lt; 1 and &quot;**no**&quot;\n</code></pre>\n<p>after</p>'.replace('\n</code>', '</code>'),
  );
});

test('an unclosed fence (mid-stream) renders as code up to the end', () => {
  const html = renderMarkdown('Here:\n```js\nconst a = 1;\nconst b');
  assert.equal(html, '<p>Here:</p>\n<pre><code class="language-js">const a = 1;\nconst b</code></pre>');
});

test('every prefix of a streamed answer renders (no throw, only allowed tags)', () => {
  const answer = '## Plan\n\n1. First *step*\n2. Second `step`\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n> quote\n\n```py\nx = 1\n```\n- [link](https://example.com) done\n---\n';
  for (let n = 0; n <= answer.length; n += 1) {
    const html = renderMarkdown(answer.slice(0, n));
    for (const tag of tags(html)) {
      assert.ok(ALLOWED.has(tag), `unexpected <${tag}> at prefix ${n}`);
    }
  }
});

test('lists, quotes, rules', () => {
  assert.equal(renderMarkdown('- a\n- b\n  more\n\n3. x\n4. y'), '<ul><li>a</li><li>b<br>more</li></ul>\n<ol start="3"><li>x</li><li>y</li></ol>');
  assert.equal(renderMarkdown('> **q**\n> r'), '<blockquote><p><strong>q</strong><br>r</p></blockquote>');
  assert.equal(renderMarkdown('a\n\n---\n\nb'), '<p>a</p>\n<hr>\n<p>b</p>');
});

test('tables with alignment and escaped pipes', () => {
  const html = renderMarkdown('| file | tokens |\n|---|---:|\n| `a\\|b.py` | 12 |\n| c | 3 |');
  assert.equal(
    html,
    '<table><thead><tr><th>file</th><th class="align-right">tokens</th></tr></thead>' +
      '<tbody><tr><td><code>a|b.py</code></td><td class="align-right">12</td></tr>' +
      '<tr><td>c</td><td class="align-right">3</td></tr></tbody></table>',
  );
  assert.deepEqual(splitRow('| a | b \\| c |'), ['a', 'b | c']);
  // Key/value tables: an all-empty header row is left out.
  assert.equal(renderMarkdown('| | |\n|---|---|\n| model | M3 |'), '<table><tbody><tr><td>model</td><td>M3</td></tr></tbody></table>');
});

test('hostile input stays text', () => {
  const attacks = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '[x](javascript:alert(1))',
    '[x](https://e.com/" onmouseover="alert(1))',
    '```"><script>alert(1)</script>\ncode\n```',
    '| <b>h</b> |\n|---|\n| <iframe src=//e> |',
    '<details open><summary>x</summary></details>',
  ];
  for (const attack of attacks) {
    const html = renderMarkdown(attack);
    assert.ok(!/<(script|img|iframe|b|details|summary)[\s>]/i.test(html), `${attack} -> ${html}`);
    assert.ok(!/\son\w+=/i.test(html.replace(/&quot;[^&]*&quot;/g, '')) || !/<[^>]*\son\w+=/i.test(html), `${attack} -> ${html}`);
    assert.ok(!/href="(?!https?:)/.test(html), `${attack} -> ${html}`);
  }
  // The only link form: http(s), quotes escaped inside the attribute.
  assert.equal(renderInline('[docs](https://e.com/a?b=1&c=2)'), '<a href="https://e.com/a?b=1&amp;c=2">docs</a>');
});

test('answers: title escaped, thinking folded, status while streaming and on error', () => {
  const streaming = renderAnswer({ title: 'Explain <x>.py:3', text: 'Partial', thinking: 'hmm <b>', state: 'streaming' });
  assert.match(streaming, /<h2 class="question">Explain &lt;x&gt;.py:3<\/h2>/);
  assert.match(streaming, /<details class="thinking"><summary>Thinking<\/summary><pre>hmm &lt;b&gt;<\/pre><\/details>/);
  assert.match(streaming, /MiniMax is answering/);
  const done = renderAnswer({ title: 't', text: 'Final', thinking: '', state: 'done' });
  assert.doesNotMatch(done, /answering|thinking/);
  const failed = renderAnswer({ title: 't', text: '', thinking: '', state: 'error', error: 'bad <key>' });
  assert.match(failed, /<p class="status error">bad &lt;key&gt;<\/p>/);
});
