#!/usr/bin/env python3
"""Las cifras de la biblioteca con las que `cargo ejercicios --entrenar` compara tu modelo.

    python3 scripts/cifras_alumno.py escribir    entrena la biblioteca y reescribe el archivo
    python3 scripts/cifras_alumno.py comprobar   entrena en una carpeta temporal y falla si las
                                                 cifras no son las del archivo

Escribe tests/calificadores/cifras_biblioteca.txt: la pérdida de validación final (la de la
última estimación) de cada modelo de la biblioteca con la semilla por defecto, un renglón
«modelo [preset] valor» por cifra:

  bigram         `05_bigram` (el mismo comienzo y el mismo entrenamiento que tu bigrama)
  gpt diminuto   `07_gpt entrenar --preset diminuto` (unos segundos)
  gpt cpu        la última fila de book/src/tablas/cpu_entrenamiento.md, que escribe y
                 comprueba scripts/cifras_cpu.py (así no se entrena dos veces; la CI corre
                 antes ese guion)

Como scripts/cifras_cpu.py, usa el perfil de desarrollo (el de `cargo test`).
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = os.path.join(ROOT, "tests", "calificadores", "cifras_biblioteca.txt")
CPU_TABLE = os.path.join(ROOT, "book", "src", "tablas", "cpu_entrenamiento.md")
HEADER = """\
# La pérdida de validación final de la biblioteca con la semilla por defecto (su última
# estimación), por modelo y configuración: con ella compara la tuya `cargo ejercicios
# --entrenar`. La escribe y la comprueba scripts/cifras_alumno.py; no la edites a mano.
"""
# Las estimaciones de `05_bigram` y de `07_gpt entrenar`, con punto o con coma decimal.
EVAL = re.compile(r"^\s*paso\s+(\d+): pérdida de entrenamiento ([\d.,]+), de validación ([\d.,]+)")
ROW = re.compile(r"^\| (\d+) \| ([\d,]+) \| ([\d,]+) \|$")


def binaries():
    subprocess.run(["cargo", "build", "-q", "--bin", "05_bigram", "--bin", "07_gpt"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "05_bigram"), os.path.join(target, "debug", "07_gpt")


def last_val(text, what):
    rows = [m.groups() for m in map(EVAL.match, text.splitlines()) if m]
    if not rows:
        sys.exit(f"error: {what} no imprimió ninguna estimación:\n{text}")
    return float(rows[-1][2].replace(",", "."))


def cpu_from_table():
    with open(CPU_TABLE) as f:
        rows = [m.groups() for m in map(ROW.match, f.read().splitlines()) if m]
    if not rows:
        sys.exit(f"error: {CPU_TABLE} no tiene la tabla de pérdidas")
    return float(rows[-1][2].replace(",", "."))


def figures():
    bigram, gpt = binaries()
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [bigram, "--salidas", os.path.join(tmp, "bigram")],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        found = {"bigram": last_val(out, "05_bigram")}
        out = subprocess.run(
            [gpt, "entrenar", "--preset", "diminuto", "--salidas", os.path.join(tmp, "diminuto")],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
        found["gpt diminuto"] = last_val(out, "07_gpt entrenar --preset diminuto")
    found["gpt cpu"] = cpu_from_table()
    return HEADER + "".join(f"{k} {v:.4f}\n" for k, v in found.items())


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in ("escribir", "comprobar"):
        sys.exit(__doc__)
    text = figures()
    if mode == "escribir":
        with open(FIGURES, "w") as f:
            f.write(text)
        print(f"Escrito {FIGURES}:\n{text}")
        return
    with open(FIGURES) as f:
        saved = f.read()
    if saved != text:
        print(f"error: {FIGURES} no tiene las cifras de la biblioteca:\n{text}", file=sys.stderr)
        print("Si el cambio es intencionado: python3 scripts/cifras_alumno.py escribir", file=sys.stderr)
        sys.exit(1)
    print("Las cifras con que `cargo ejercicios --entrenar` compara son las de la biblioteca.")


if __name__ == "__main__":
    main()
