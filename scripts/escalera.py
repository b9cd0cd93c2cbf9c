#!/usr/bin/env python3
"""La tabla de la escalera del capítulo 8 (book/src/tablas/escalera.md), sacada del programa.

    python3 scripts/escalera.py escribir    ejecuta `07_gpt escalera` y reescribe la tabla
    python3 scripts/escalera.py comprobar   la ejecuta y falla si los parámetros o las pérdidas
                                            no son los de la tabla del libro
    python3 scripts/escalera.py escribir --desde ARCHIVO   reutiliza una salida guardada

Los parámetros y las pérdidas salen de un programa determinista: la CI los comprueba. Los
tiempos dependen de la máquina: se guardan con ella y con la fecha en la primera línea del
archivo, y no se comparan. Usa el perfil de desarrollo, el de `cargo run`.
"""
import datetime
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numeros import de_es, es  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEST = os.path.join(ROOT, "book", "src", "tablas", "escalera.md")


def machine():
    model = "CPU desconocida"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} núcleos"


def run_ladder():
    subprocess.run(["cargo", "build", "-q", "--bin", "07_gpt"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "debug", "07_gpt")
    run = subprocess.run([exe, "escalera"], cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"error: 07_gpt escalera falló:\n{run.stderr}")
    return run.stdout


def rows_of(out):
    """(nombre, parámetros, pérdida, segundos) de cada peldaño de la salida del programa."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        # El programa escribe los números con la norma del libro: «25\u202f817», «2,4277».
        if len(cells) == 4 and re.fullmatch(r"[\d\u202f]+", cells[1]):
            name, params, loss, secs = cells
            # «2. + una cabeza» → «2. más una cabeza»: un «+» al empezar la celda no dice nada;
            # *dropout*, en cursiva como en el resto del libro.
            name = name.replace(". + ", ". más ", 1).replace("dropout", "*dropout*")
            rows.append((name, int(de_es(params)), de_es(loss),
                         de_es(secs.removesuffix(" s"))))
    if len(rows) != 8:
        sys.exit(f"error: la salida de 07_gpt escalera no trae los 8 peldaños:\n{out}")
    return rows


def table(rows):
    lines = ["| peldaño | parámetros | pérdida de validación | tiempo |",
             "| :--- | ---: | ---: | ---: |"]
    for name, params, loss, secs in rows:
        lines.append(f"| {name} | {es(params)} | {es(loss, 4)} | {es(secs, 1)} s |")
    return lines


def without_times(lines):
    return [re.sub(r"\| [\d\u202f,]+ s \|$", "|", line) for line in lines if line.startswith("|")]


def main():
    args = sys.argv[1:]
    if args[:1] == ["escribir"]:
        if args[1:2] == ["--desde"] and len(args) == 3:
            out = open(args[2], encoding="utf-8").read()
        elif len(args) == 1:
            out = run_ladder()
        else:
            sys.exit(__doc__)
        date = datetime.date.today().isoformat()
        lines = [f"Máquina: {machine()}; {date}. Perfil de desarrollo (`cargo run`).", ""]
        lines += table(rows_of(out))
        open(DEST, "w", encoding="utf-8").write("\n".join(lines) + "\n")
        print("\n".join(lines))
        print(f"\nEscrita en {os.path.relpath(DEST, ROOT)}", file=sys.stderr)
    elif args == ["comprobar"]:
        want = without_times(open(DEST, encoding="utf-8").read().splitlines())
        got = without_times(table(rows_of(run_ladder())))
        if want != got:
            diff = "\n".join(f"  libro:    {w}\n  programa: {g}" for w, g in zip(want, got) if w != g)
            sys.exit("error: la tabla de la escalera del libro ya no es lo que imprime el "
                     f"programa; vuelve a escribirla con `python3 scripts/escalera.py escribir`:\n{diff}")
        print("La tabla de la escalera es la que imprime el programa.")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
