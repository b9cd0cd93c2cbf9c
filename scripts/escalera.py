"""Escribe la tabla de la escalera del capítulo 7 (book/src/tablas/escalera.md) con lo que
imprime `07_gpt escalera`, con los números en la norma del libro.

uso: python3 scripts/escalera.py [--desde ARCHIVO]

Sin argumentos ejecuta `cargo run --bin 07_gpt -- escalera` (un minuto, más o menos) y guarda
también su salida tal cual en salidas/escalera.txt. Con `--desde` reutiliza una salida guardada.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numeros import es  # noqa: E402

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
if len(sys.argv) == 3 and sys.argv[1] == "--desde":
    out = open(sys.argv[2], encoding="utf-8").read()
elif len(sys.argv) == 1:
    run = subprocess.run(["cargo", "run", "--quiet", "--bin", "07_gpt", "--", "escalera"],
                         cwd=root, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"error: 07_gpt escalera falló:\n{run.stderr}")
    out = run.stdout
    os.makedirs(os.path.join(root, "salidas"), exist_ok=True)
    open(os.path.join(root, "salidas", "escalera.txt"), "w", encoding="utf-8").write(out)
else:
    sys.exit(__doc__)

rows = [line for line in out.splitlines() if line.startswith("| ")]
if len(rows) < 3:
    sys.exit("error: la salida de 07_gpt escalera no trae la tabla")
table = [rows[0], rows[1].replace("| --- |", "| :--- |", 1)]
for line in rows[2:]:
    cells = [c.strip() for c in line.strip("|").split("|")]
    name, params, loss, secs = cells
    # «2. + una cabeza» → «2. más una cabeza»: un «+» al empezar la celda no dice nada.
    name = name.replace(". + ", ". más ", 1)
    secs = secs.removesuffix(" s")
    table.append(f"| {name} | {es(int(params))} | {es(float(loss), 4)} | {es(float(secs), 1)} s |")
dest = os.path.join(root, "book", "src", "tablas", "escalera.md")
open(dest, "w", encoding="utf-8").write("\n".join(table) + "\n")
print("\n".join(table))
print(f"\nEscrita en {os.path.relpath(dest, root)}", file=sys.stderr)
