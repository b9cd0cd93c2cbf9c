// Preprocesador de mdBook para el libro (lo declara `book/book.toml`). Hace dos cosas
// antes de que mdBook convierta el Markdown en HTML:
//
// 1. Compone cada fórmula con KaTeX y deja en la página su HTML ya hecho: el libro se lee
//    sin red y sin JavaScript de fórmulas (también `print.html`). Las fórmulas se escriben
//    como pide mdBook, con las barras dobladas: `\\( x_i \\)` en línea y `\\[ ... \\]` aparte.
//    Una fórmula que KaTeX no entiende para la construcción con un error que la nombra.
// 2. Pone en español el título de los avisos de GitHub (`> [!NOTE]`, `> [!TIP]`, ...), que
//    mdBook 0.5.4 escribe siempre en inglés.
// 3. Quita la sangría sobrante de los listados de Rust: un método incluido con
//    `{{#include ...:ancla}}` llega con la sangría de su `impl`, y en la página no sirve.
//
// La primera vez copia también la hoja de estilo y las fuentes de KaTeX (de `node_modules`,
// instalado con `npm ci` en esta carpeta) a `book/katex/` y `book/src/katex/`, que git ignora.
//
// Protocolo de mdBook: `node preprocesador.mjs supports html` sale con 0; después recibe por la
// entrada estándar `[contexto, libro]` en JSON y devuelve el libro por la salida estándar.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import katex from 'katex';

const here = path.dirname(fileURLToPath(import.meta.url));

// Los iconos son los que usa mdBook 0.5.4 (de GitHub Octicons, licencia MIT).
const ICONS = {
  note: '<path d="M0 8a8 8 0 1 1 16 0A8 8 0 0 1 0 8Zm8-6.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13ZM6.5 7.75A.75.75 0 0 1 7.25 7h1a.75.75 0 0 1 .75.75v2.75h.25a.75.75 0 0 1 0 1.5h-2a.75.75 0 0 1 0-1.5h.25v-2h-.25a.75.75 0 0 1-.75-.75ZM8 6a1 1 0 1 1 0-2 1 1 0 0 1 0 2Z"></path>',
  tip: '<path d="M8 1.5c-2.363 0-4 1.69-4 3.75 0 .984.424 1.625.984 2.304l.214.253c.223.264.47.556.673.848.284.411.537.896.621 1.49a.75.75 0 0 1-1.484.211c-.04-.282-.163-.547-.37-.847a8.456 8.456 0 0 0-.542-.68c-.084-.1-.173-.205-.268-.32C3.201 7.75 2.5 6.766 2.5 5.25 2.5 2.31 4.863 0 8 0s5.5 2.31 5.5 5.25c0 1.516-.701 2.5-1.328 3.259-.095.115-.184.22-.268.319-.207.245-.383.453-.541.681-.208.3-.33.565-.37.847a.751.751 0 0 1-1.485-.212c.084-.593.337-1.078.621-1.489.203-.292.45-.584.673-.848.075-.088.147-.173.213-.253.561-.679.985-1.32.985-2.304 0-2.06-1.637-3.75-4-3.75ZM5.75 12h4.5a.75.75 0 0 1 0 1.5h-4.5a.75.75 0 0 1 0-1.5ZM6 15.25a.75.75 0 0 1 .75-.75h2.5a.75.75 0 0 1 0 1.5h-2.5a.75.75 0 0 1-.75-.75Z"></path>',
  important: '<path d="M0 1.75C0 .784.784 0 1.75 0h12.5C15.216 0 16 .784 16 1.75v9.5A1.75 1.75 0 0 1 14.25 13H8.06l-2.573 2.573A1.458 1.458 0 0 1 3 14.543V13H1.75A1.75 1.75 0 0 1 0 11.25Zm1.75-.25a.25.25 0 0 0-.25.25v9.5c0 .138.112.25.25.25h2a.75.75 0 0 1 .75.75v2.19l2.72-2.72a.749.749 0 0 1 .53-.22h6.5a.25.25 0 0 0 .25-.25v-9.5a.25.25 0 0 0-.25-.25Zm7 2.25v2.5a.75.75 0 0 1-1.5 0v-2.5a.75.75 0 0 1 1.5 0ZM9 9a1 1 0 1 1-2 0 1 1 0 0 1 2 0Z"></path>',
  warning: '<path d="M6.457 1.047c.659-1.234 2.427-1.234 3.086 0l6.082 11.378A1.75 1.75 0 0 1 14.082 15H1.918a1.75 1.75 0 0 1-1.543-2.575Zm1.763.707a.25.25 0 0 0-.44 0L1.698 13.132a.25.25 0 0 0 .22.368h12.164a.25.25 0 0 0 .22-.368Zm.53 3.996v2.5a.75.75 0 0 1-1.5 0v-2.5a.75.75 0 0 1 1.5 0ZM9 11a1 1 0 1 1-2 0 1 1 0 0 1 2 0Z"></path>',
  caution: '<path d="M4.47.22A.749.749 0 0 1 5 0h6c.199 0 .389.079.53.22l4.25 4.25c.141.14.22.331.22.53v6a.749.749 0 0 1-.22.53l-4.25 4.25A.749.749 0 0 1 11 16H5a.749.749 0 0 1-.53-.22L.22 11.53A.749.749 0 0 1 0 11V5c0-.199.079-.389.22-.53Zm.84 1.28L1.5 5.31v5.38l3.81 3.81h5.38l3.81-3.81V5.31L10.69 1.5ZM8 4a.75.75 0 0 1 .75.75v3.5a.75.75 0 0 1-1.5 0v-3.5A.75.75 0 0 1 8 4Zm0 8a1 1 0 1 1 0-2 1 1 0 0 1 0 2Z"></path>',
};
const TITLES = {
  note: 'Nota',
  tip: 'Consejo',
  important: 'Importante',
  warning: 'Aviso',
  caution: 'Precaución',
};

/**
 * Quita de cada listado de Rust la sangría que comparten todas sus líneas (más allá de la de
 * la propia valla, que puede estar dentro de una lista). El resto del texto no cambia.
 */
export function dedent(markdown) {
  const lines = markdown.split('\n');
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const open = lines[i].match(/^(\s*)(`{3,}|~{3,})(.*)$/);
    if (!open) {
      out.push(lines[i++]);
      continue;
    }
    const [, base, fence, info] = open;
    let j = i + 1;
    while (j < lines.length) {
      const close = lines[j].match(/^\s*(`{3,}|~{3,})\s*$/);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      j++;
    }
    const body = lines.slice(i + 1, j);
    const inside = body.filter((l) => l.trim() !== '');
    // Solo los listados de Rust: las salidas de los programas se enseñan tal cual.
    const extra = info.trim().startsWith('rust') && inside.every((l) => l.startsWith(base))
      ? Math.min(...inside.map((l) => l.slice(base.length).match(/^ */)[0].length))
      : 0;
    out.push(lines[i]);
    for (const l of body) out.push(l.trim() === '' || !extra ? l : base + l.slice(base.length + extra));
    if (j < lines.length) out.push(lines[j]);
    i = j + 1;
  }
  return out.join('\n');
}

/** `> [!NOTE]` ... → el mismo recuadro que mdBook, con el título en español. */
export function admonitions(markdown) {
  const lines = markdown.split('\n');
  const out = [];
  let fence = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const f = line.match(/^\s*(`{3,}|~{3,})/);
    if (f) {
      if (fence === null) fence = f[1];
      else if (f[1].startsWith(fence)) fence = null;
    }
    const m = fence === null && line.match(/^>\s*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*$/);
    if (!m) {
      out.push(line);
      continue;
    }
    const kind = m[1].toLowerCase();
    const body = [];
    while (i + 1 < lines.length && lines[i + 1].startsWith('>')) {
      i++;
      body.push(lines[i].replace(/^> ?/, ''));
    }
    out.push(
      `<blockquote class="blockquote-tag blockquote-tag-${kind}">`,
      `<p class="blockquote-tag-title"><svg viewbox="0 0 16 16" width="18" height="18">${ICONS[kind]}</svg>${TITLES[kind]}</p>`,
      '',
      ...body,
      '',
      '</blockquote>',
    );
  }
  return out.join('\n');
}

/** Quita los escapes de Markdown (`\\` → `\`, `\,` → `,` ...) como haría mdBook. */
function unescapeMarkdown(s) {
  return s.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/** El HTML de KaTeX, con los caracteres que Markdown interpretaría convertidos en entidades. */
function protect(html) {
  return html.replace(/(<[^>]*>)|([*_`\\[\]~|])/g, (all, tag, ch) =>
    tag ? tag : `&#${ch.charCodeAt(0)};`,
  );
}

/** Compone las fórmulas de un texto Markdown (fuera del código). `where` nombra el capítulo. */
export function formulas(markdown, where) {
  const parts = [];
  // Los bloques de código se quedan como están.
  const lines = markdown.split('\n');
  let fence = null;
  let text = [];
  let code = [];
  const flushText = () => {
    if (text.length) parts.push({ code: false, s: text.join('\n') });
    text = [];
  };
  for (const line of lines) {
    const f = line.match(/^\s*(`{3,}|~{3,})/);
    if (fence === null && f) {
      flushText();
      fence = f[1];
      code = [line];
    } else if (fence !== null) {
      code.push(line);
      if (f && f[1].startsWith(fence[0]) && f[1].length >= fence.length) {
        parts.push({ code: true, s: code.join('\n') });
        fence = null;
      }
    } else {
      text.push(line);
    }
  }
  if (fence !== null) parts.push({ code: true, s: code.join('\n') });
  flushText();

  let count = 0;
  const render = (src, display) => {
    const tex = unescapeMarkdown(src).trim();
    try {
      count++;
      return protect(
        katex.renderToString(tex, { displayMode: display, output: 'html', throwOnError: true, strict: (code) => (code === 'unicodeTextInMathMode' ? 'ignore' : 'error') }),
      );
    } catch (e) {
      throw new Error(`${where}: la fórmula «${tex}» no se puede componer: ${e.message}`);
    }
  };
  const done = parts.map(({ code, s }) => {
    if (code) return s;
    // El código en línea (`...`) tampoco se toca.
    const spans = [];
    let t = s.replace(/(`+)[\s\S]*?[^`]\1(?!`)|(`+)[^`]\2(?!`)/g, (m) => {
      spans.push(m);
      return `\u0000${spans.length - 1}\u0000`;
    });
    t = t.replace(/\\\\\[([\s\S]*?)\\\\\]/g, (_, tex) => render(tex, true));
    t = t.replace(/\\\\\(([\s\S]*?)\\\\\)/g, (_, tex) => render(tex, false));
    // Una fórmula con una sola barra (`\( x \)`) se vería cruda: es un error.
    const raw = t.match(/\\\([\s\S]*?\\\)|\\\[[\s\S]*?\\\]/);
    if (raw) {
      const at = t.slice(raw.index, raw.index + 40);
      throw new Error(`${where}: fórmula con una sola barra («${at}…»); escribe \\\\( ... \\\\)`);
    }
    return t.replace(/\u0000(\d+)\u0000/g, (_, i) => spans[Number(i)]);
  });
  return { text: done.join('\n'), count };
}

/** Copia la hoja de estilo y las fuentes de KaTeX junto al libro, si faltan o cambiaron. */
function copyAssets(root) {
  const dist = path.join(here, 'node_modules', 'katex', 'dist');
  const copy = (from, to) => {
    const data = fs.readFileSync(from);
    if (fs.existsSync(to) && fs.readFileSync(to).equals(data)) return;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, data);
  };
  copy(path.join(dist, 'katex.min.css'), path.join(root, 'katex', 'katex.min.css'));
  for (const font of fs.readdirSync(path.join(dist, 'fonts'))) {
    if (font.endsWith('.woff2')) {
      copy(path.join(dist, 'fonts', font), path.join(root, 'src', 'katex', 'fonts', font));
    }
  }
}

function walk(items, visit) {
  for (const item of items) {
    if (item && item.Chapter) {
      visit(item.Chapter);
      walk(item.Chapter.sub_items || [], visit);
    }
  }
}

function main() {
  if (process.argv[2] === 'supports') {
    process.exit(process.argv[3] === 'html' ? 0 : 1);
  }
  const [context, book] = JSON.parse(fs.readFileSync(0, 'utf8'));
  copyAssets(context.root);
  let total = 0;
  walk(book.items || book.sections || [], (chapter) => {
    const where = chapter.source_path || chapter.name;
    const { text, count } = formulas(admonitions(dedent(chapter.content)), where);
    chapter.content = text;
    total += count;
  });
  if (process.env.LIBRO_FORMULAS_INFORME) {
    process.stderr.write(`${total} fórmulas compuestas con KaTeX ${katex.version}\n`);
  }
  process.stdout.write(JSON.stringify(book));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  }
}
