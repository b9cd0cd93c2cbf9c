"""Abre cada página del libro construido en Chromium sin cabeza, sin red, y comprueba lo que ve
quien lo lee.

uso: python3 scripts/libro/comprobar.py CARPETA_HTML [CARPETA_CAPTURAS]

Por cada página (también print.html):
- no carga nada de fuera (ni scripts, ni hojas de estilo, ni imágenes, ni fuentes);
- no da errores de JavaScript;
- las fórmulas están compuestas por KaTeX (ninguna con error) y no queda LaTeX a la vista;
  las páginas cuyo Markdown tiene fórmulas muestran al menos tantas como su Markdown;
- no se ve un «\\+» literal;
- los títulos de los avisos están en español;
- lo plegado (soluciones y respuestas) se abre antes de mirar, así que también se comprueba;
- los números de la prosa siguen la norma del libro (coma decimal, miles con espacio fino a
  partir de cinco cifras, nunca coma de miles), y también los de las salidas de los programas
  que incluye (los bloques `text`; lo que va entre comillas dobles es el texto de un archivo o
  de una opción, en formato de máquina, y no se mira) y los del texto de sus figuras SVG;
- con la ventana de 1280 px, ninguna tabla ni bloque de código se sale de su caja (por ahora
  solo un aviso, que no hace fallar: las salidas largas de los programas aún no se parten).

Con CARPETA_CAPTURAS deja además una captura PNG de cada página entera, de arriba abajo, con la
ventana de 1280 px de ancho: PAGINA.png si la página mide hasta TRAMO px de alto y, si mide más,
PAGINA-1.png, PAGINA-2.png… con un tramo de TRAMO px cada una (print.html, por ejemplo).
Escribe una línea por problema y un resumen; sale con 1 si hay problemas.
"""

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHROMIUM = os.environ.get('CHROMIUM', 'chromium')
FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--window-size=1280,2000', '--virtual-time-budget=20000',
    # Sin red: cualquier petición que no sea a un archivo local falla.
    '--proxy-server=127.0.0.1:9', '--proxy-bypass-list=<-loopback>',
]
ENGLISH_TITLES = ('Note', 'Tip', 'Important', 'Warning', 'Caution')
# Alto máximo de una captura: Chromium sin cabeza las hace bien hasta unos 30 000 px; una página
# más alta se captura en tramos de este alto.
TRAMO = 30000
# Lo que se inyecta para capturar un tramo: sube todo el documento hasta el tramo pedido (sin
# desplazar la ventana, que Chromium sin cabeza no pinta en una captura).
SCROLL = ("<script>window.print = function () {{}};</script>"
          "<style>html {{ position: relative; top: -{y}px; }}</style>")

# Se inyecta al principio de <head>: apunta los errores y, al terminar de cargar, mide.
PROBE = r"""<script>
window.__errores = [];
window.addEventListener('error', function (e) { window.__errores.push(String(e.message)); });
window.print = function () {};
window.addEventListener('load', function () { setTimeout(function () {
  var r = {errores: window.__errores, katex: 0, katex_error: 0, desbordes: [], titulos: []};
  // El alto de la página tal como se ve (lo plegado, cerrado), para la captura.
  r.alto = Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));
  // Lo plegado (soluciones, respuestas) también se lee: se abre antes de medir y de leer el texto.
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  r.katex = document.querySelectorAll('.katex').length;
  r.katex_error = document.querySelectorAll('.katex-error').length;
  document.querySelectorAll('main table, main pre').forEach(function (el) {
    var box = el.tagName === 'PRE' ? (el.querySelector('code') || el) : el;
    var wrap = el.parentElement;
    var ancho = el.tagName === 'TABLE' ? (wrap.clientWidth || el.clientWidth) : box.clientWidth;
    if (box.scrollWidth > ancho + 1) {
      r.desbordes.push(el.tagName.toLowerCase() + ': ' + box.scrollWidth + ' px > ' + ancho +
        ' px («' + el.textContent.trim().slice(0, 50).replace(/\s+/g, ' ') + '»)');
    }
  });
  document.querySelectorAll('.blockquote-tag-title').forEach(function (t) {
    r.titulos.push(t.textContent.trim());
  });
  // Las salidas de los programas (bloques `text`), aparte: también siguen la norma.
  r.salidas = [];
  document.querySelectorAll('pre > code.language-text').forEach(function (c) {
    r.salidas.push(c.textContent);
  });
  document.querySelectorAll('pre, code, script, style, svg, .katex, #sonda-libro').forEach(function (n) {
    n.remove();
  });
  r.texto = (document.querySelector('main') || document.body).innerText;
  var p = document.createElement('pre');
  p.id = 'sonda-libro';
  p.textContent = JSON.stringify(r);
  document.body.appendChild(p);
}, 0); });
</script>"""

RAW_TEX = re.compile(r'\\\(|\\\)|\\\[|\\\]|\\frac|\\sum|\\mathcal|\\mathbf|\\tilde|\\top|\\cdot|'
                     r'\\times|\\qquad|\\text|\\ln|\\le\b|\\approx|\\dots|\\sqrt|\\odot|\\,')
EXTERNAL = re.compile(r'<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)='
                      r'"((?:https?:)?//[^"]+)"', re.I)
CSS_EXTERNAL = re.compile(r'url\(\s*["\']?(?:https?:)?//|@import\s+["\']?(?:https?:)?//', re.I)


def number_problems(text):
    """Los números de `text` que no siguen la norma del libro."""
    found = []
    # Los números de los ejercicios («Ejercicio 6.2») no son decimales.
    text = re.sub(r'(?i)(?:ejercicios?|--pista)\s+\d+\.\d+(?:(?:,|\s+y|\s+a)\s+\d+\.\d+)*', ' ', text)
    # Coma de miles (1,188 pasos; 14,016.1) o punto decimal a la inglesa (1,078.0).
    found += re.findall(r'\b\d{1,3}(?:,\d{3})+\.\d+\b', text)
    found += re.findall(r'\b\d{1,3}(?:,\d{3})+(?= ?(?:pasos|car|MiB|GB|MB|caracteres|tokens|s\b))', text)
    # Cinco cifras o más sin separar, o separadas con otro espacio que el fino (U+202F).
    found += re.findall(r'(?<![\d.,\u202f])\d{5,}(?![\d\u202f])', text)
    found += re.findall(r'\b\d{1,3}(?:[ \u00a0\u2009]\d{3})+\b', text)
    # Cuatro cifras con espacio fino (la norma lo pide a partir de cinco).
    found += re.findall(r'(?<![\d\u202f,])\d\u202f\d{3}(?![\d\u202f])', text)
    # Punto decimal (salvo en versiones como 0.5.4, que van entre comillas de código).
    found += re.findall(r'(?<![\w.])\d+\.\d+(?![\w.])', text)
    return found


def output_number_problems(text):
    """Los números de una salida de programa que no siguen la norma del libro. Lo que va entre
    comillas dobles (`learning_rate = "0.001"`, `--temperatura 0.7` no, que no lleva comillas)
    es el texto de un archivo, en formato de máquina, y no se mira; tampoco las formas de los
    tensores, como `(1038397,)` o `(4, 8)`, que son notación de código (en la prosa van entre
    comillas de código)."""
    text = re.sub(r'"[^"\n]*"', ' ', text)
    text = re.sub(r'\(\d+(?:, \d+)*,?\)', ' ', text)
    return number_problems(text)


SVG_TEXT = re.compile(r'<text\b[^>]*>(.*?)</text>', re.S)


def svg_number_problems(path):
    """Los números del texto de un SVG (lo que se lee en la figura) fuera de la norma."""
    raw = open(path, encoding='utf-8').read()
    texts = [html.unescape(re.sub(r'<[^>]+>', '', t)) for t in SVG_TEXT.findall(raw)]
    return number_problems('\n'.join(texts))


IMG_SVG = re.compile(r'<img\b[^>]*\bsrc="([^"]+\.svg)"', re.I)


def formulas_in_markdown(md):
    md = re.sub(r'^(```|~~~).*?^\1[^\n]*$', ' ', md, flags=re.S | re.M)
    md = re.sub(r'`[^`\n]*`', ' ', md)
    return len(re.findall(r'\\\\\(', md)) + len(re.findall(r'\\\\\[', md))


def screenshots(path, height, shots, work):
    """Captura la página `path` entera (mide `height` px de alto) y devuelve los PNG que escribe."""
    name = os.path.basename(path)[:-5]
    for old in os.listdir(shots):
        if re.fullmatch(re.escape(name) + r'(-\d+)?\.png', old):
            os.remove(os.path.join(shots, old))
    height = max(int(height), 600)
    flags = [f for f in FLAGS if not f.startswith('--window-size=')] + ['--hide-scrollbars']
    if height <= TRAMO:
        plan = [(os.path.join(shots, name + '.png'), 'file://' + path, height)]
    else:
        raw = open(path, encoding='utf-8').read()
        plan = []
        for k in range((height + TRAMO - 1) // TRAMO):
            y = k * TRAMO
            tile = path[:-5] + f'.tramo{k + 1}.html'
            with open(tile, 'w', encoding='utf-8') as out:
                out.write(raw.replace('<head>', '<head>' + SCROLL.format(y=y), 1))
            plan.append((os.path.join(shots, f'{name}-{k + 1}.png'), 'file://' + tile,
                         min(TRAMO, height - y)))
    for png, url, h in plan:
        subprocess.run([CHROMIUM, *flags, f'--window-size=1280,{h}',
                        f'--user-data-dir={tempfile.mkdtemp(dir=work)}', f'--screenshot={png}', url],
                       capture_output=True, timeout=300)
    return [png for png, _, _ in plan]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    built = sys.argv[1]
    shots = sys.argv[2] if len(sys.argv) == 3 else None
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'book', 'src')
    if shots:
        os.makedirs(shots, exist_ok=True)
    if not os.path.isfile(os.path.join(built, 'index.html')):
        sys.exit(f'error: {built} no es un libro construido (falta index.html)')

    work = tempfile.mkdtemp(prefix='libro-')
    copy = os.path.join(work, 'html')
    shutil.copytree(built, copy)
    problems = []
    for root, _, files in os.walk(copy):
        for f in files:
            if f.endswith('.css'):
                text = open(os.path.join(root, f), encoding='utf-8', errors='replace').read()
                if CSS_EXTERNAL.search(text):
                    problems.append(f'{os.path.relpath(os.path.join(root, f), copy)}: la hoja de estilo carga algo de fuera')

    pages = sorted(f for f in os.listdir(copy)
                   if f.endswith('.html') and f not in ('404.html', 'toc.html'))
    total_math = 0
    # Los listados y salidas que se salen de la caja se informan como avisos y no hacen fallar:
    # las salidas largas de los programas aún no se parten a 80 columnas (issue 13, punto 6).
    warnings = []
    for page in pages:
        path = os.path.join(copy, page)
        raw = open(path, encoding='utf-8').read()
        for url in EXTERNAL.findall(raw):
            problems.append(f'{page}: carga {url} (necesita red)')
        if '{{#include' in raw:
            problems.append(f'{page}: queda una directiva {{{{#include}}}} sin resolver')
        if 'MathJax' in raw:
            problems.append(f'{page}: todavía nombra MathJax')
        # La sonda va en una copia de la página, junto a ella (los enlaces relativos valen).
        probed = path[:-5] + '.sonda.html'
        with open(probed, 'w', encoding='utf-8') as out:
            out.write(raw.replace('<head>', '<head>' + PROBE, 1))
        profile = tempfile.mkdtemp(dir=work)
        url = 'file://' + probed
        run = subprocess.run([CHROMIUM, *FLAGS, f'--user-data-dir={profile}', '--dump-dom', url],
                             capture_output=True, text=True, timeout=180)
        dom = run.stdout
        m = re.search(r'<pre id="sonda-libro">(.*?)</pre>', dom, re.S)
        if not m:
            problems.append(f'{page}: Chromium no terminó de cargarla (sin sonda; {run.stderr.strip()[-200:]})')
            continue
        probe = json.loads(html.unescape(m.group(1)))
        for e in probe['errores']:
            problems.append(f'{page}: error de JavaScript: {e}')
        if probe['katex_error']:
            problems.append(f'{page}: {probe["katex_error"]} fórmulas con error de KaTeX')
        total_math += probe['katex']
        md = os.path.join(src, page[:-5] + '.md')
        if os.path.isfile(md):
            expected = formulas_in_markdown(open(md, encoding='utf-8').read())
            if probe['katex'] < expected:
                problems.append(f'{page}: el Markdown tiene {expected} fórmulas y se ven {probe["katex"]} compuestas')
        for d in probe['desbordes']:
            warnings.append(f'aviso: {page}: se sale de la caja a 1280 px: {d}')
        for t in probe['titulos']:
            if t in ENGLISH_TITLES:
                problems.append(f'{page}: título de aviso en inglés «{t}»')
        text = probe['texto']
        raw_tex = RAW_TEX.findall(text)
        if raw_tex:
            problems.append(f'{page}: LaTeX a la vista: {raw_tex[:5]}')
        if re.search(r'\\\+', text):
            problems.append(f'{page}: se ve un «\\+» literal')
        numbers = number_problems(text)
        if numbers:
            problems.append(f'{page}: números fuera de la norma: {numbers[:6]}')
        numbers = [n for out in probe.get('salidas', []) for n in output_number_problems(out)]
        if numbers:
            problems.append(f'{page}: números fuera de la norma en las salidas incluidas: {numbers[:6]}')
        for src_svg in sorted(set(IMG_SVG.findall(raw))):
            svg = os.path.normpath(os.path.join(os.path.dirname(path), html.unescape(src_svg)))
            if not os.path.isfile(svg):
                problems.append(f'{page}: falta la figura {src_svg}')
                continue
            numbers = svg_number_problems(svg)
            if numbers:
                problems.append(f'{page}: números fuera de la norma en la figura {src_svg}: {numbers[:6]}')
        if shots:
            for png in screenshots(path, probe.get('alto', 2000), shots, work):
                if not os.path.isfile(png) or os.path.getsize(png) == 0:
                    problems.append(f'{page}: Chromium no hizo la captura {os.path.basename(png)}')
    shutil.rmtree(work, ignore_errors=True)
    for p in warnings + problems:
        print(p)
    print(f'{len(pages)} páginas, {total_math} fórmulas compuestas, {len(problems)} problemas, '
          f'{len(warnings)} avisos de anchura')
    sys.exit(1 if problems or total_math == 0 else 0)


if __name__ == '__main__':
    main()
