#!/usr/bin/env bash
# Construye el libro y, si se pide, lo comprueba en un navegador de verdad.
#
#   bash scripts/libro.sh            construye el libro en book/book/ (ábrelo: book/book/index.html)
#   bash scripts/libro.sh comprobar  además lo abre en Chromium sin cabeza, página a página, sin red
#   bash scripts/libro.sh capturas   como «comprobar», y deja una captura de cada página entera,
#                                    de arriba abajo, en book/capturas/ (las muy largas, como
#                                    print.html, en tramos: print-1.png, print-2.png…)
#
# Necesita Node.js con npm y, para comprobar, Chromium (en Debian: apt-get install chromium).
# Lo demás lo instala la primera vez desde los registros de paquetes: mdBook 0.5.4 (crates.io)
# y KaTeX (npm, versión fijada en scripts/libro/package-lock.json). Después no hace falta red,
# ni para construir ni para leer.
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK_VERSION=0.5.4
if ! mdbook --version 2>/dev/null | grep -qx "mdbook v$MDBOOK_VERSION"; then
  echo "== instalando mdBook $MDBOOK_VERSION (cargo install, unos minutos la primera vez)"
  cargo install mdbook --locked --version "$MDBOOK_VERSION"
fi

if [ ! -f scripts/libro/node_modules/katex/package.json ] \
  || [ scripts/libro/package-lock.json -nt scripts/libro/node_modules/.package-lock.json ]; then
  echo "== instalando KaTeX (npm ci)"
  npm ci --prefix scripts/libro --no-audit --no-fund
fi

echo "== construyendo el libro"
rm -rf book/book
LIBRO_FORMULAS_INFORME=1 mdbook build book

case "${1:-}" in
  "") echo "El libro está en book/book/index.html" ;;
  comprobar) python3 scripts/libro/comprobar.py book/book ;;
  capturas) python3 scripts/libro/comprobar.py book/book book/capturas ;;
  *) echo "error: orden desconocida «$1» (usa: comprobar o capturas)" >&2; exit 2 ;;
esac
