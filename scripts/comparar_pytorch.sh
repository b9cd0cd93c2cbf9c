#!/usr/bin/env bash
# Compara la velocidad de este proyecto con la de PyTorch en la misma máquina.
#
#   scripts/comparar_pytorch.sh [rondas]
#
# Instala PyTorch (CPU) desde PyPI en un entorno virtual propio la primera vez
# (GPT_DESDE_CERO_VENV, por defecto ~/.cache/gpt-desde-cero/venv-torch), compila el banco de
# pruebas en modo release y alterna las mediciones de Rust y de PyTorch varias rondas.
# Imprime una tabla en Markdown con las medianas y la razón PyTorch / Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
venv=${GPT_DESDE_CERO_VENV:-$HOME/.cache/gpt-desde-cero/venv-torch}
torch_version=2.15.0

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  echo "Instalando PyTorch $torch_version en $venv (solo la primera vez; tarda)..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "torch==$torch_version" numpy
fi
[ -f datos/el_quijote.txt ] || cargo run -q --release --bin 01_datos >/dev/null

cargo build -q --release --benches
bench=$(cargo bench --bench bigram --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "bigram":
        print(m["executable"])' | tail -n 1)

results=$(mktemp)
for i in $(seq "$rounds"); do
  echo "Ronda $i de $rounds..." >&2
  RAYON_NUM_THREADS=1 "$bench" >>"$results"
  "$venv/bin/python" scripts/bigram_pytorch.py --hilos 1 >>"$results"
done

python3 - "$results" <<'PY'
import platform, statistics, subprocess, sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 5:
        rows.setdefault((parts[0], parts[1]), []).append(float(parts[2]))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
torch_v = subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True)
print(f"\nMáquina: {cpu}, {subprocess.check_output(['nproc']).decode().strip()} núcleos; 1 hilo en ambos.\n")
print("| modelo | motor | ms/paso (mediana de rondas) | pasos/s | PyTorch / este |")
print("| --- | --- | ---: | ---: | ---: |")
ref = statistics.median(rows[("bigram", "pytorch")])
for (model, engine), vals in rows.items():
    ms = statistics.median(vals)
    print(f"| {model} | {engine} | {ms:.4f} | {1000 / ms:,.0f} | {ref / ms:.1f}× |")
PY
rm -f "$results"
