#!/usr/bin/env bash
# Compara la velocidad y la memoria de este proyecto con las de PyTorch en la misma máquina.
#
#   scripts/comparar_pytorch.sh [--rondas N] [--cuaderno] [--libro]
#
# La primera vez instala PyTorch desde PyPI en un entorno virtual propio
# (GPT_DESDE_CERO_VENV, por defecto ~/.cache/gpt-desde-cero/venv-torch). Compila los bancos de
# pruebas en modo release y alterna las mediciones de Rust y de PyTorch en varias rondas, con
# 1 y 2 hilos. Imprime tablas en Markdown; con --libro las escribe también en
# book/src/tablas/. --cuaderno añade la configuración del cuaderno (minutos por paso en CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${GPT_DESDE_CERO_VENV:-$HOME/.cache/gpt-desde-cero/venv-torch}
torch_version=2.15.0

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  echo "Instalando PyTorch $torch_version en $venv (solo la primera vez; tarda)..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "torch==$torch_version" numpy
fi
[ -f datos/el_quijote.txt ] || cargo run -q --release --bin 01_datos >/dev/null

cargo bench -q --no-run --bench bigram --bench gpt --bench generacion 2>/dev/null
bench_of() {
  cargo bench --no-run --bench "$1" --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1" | tail -n 1
}
BENCH_BIGRAM=$(bench_of bigram) BENCH_GPT=$(bench_of gpt) BENCH_GEN=$(bench_of generacion) \
  PYTHON_TORCH="$venv/bin/python" \
  python3 scripts/comparar.py "$@"
