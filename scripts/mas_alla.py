#!/usr/bin/env python3
"""Cuánto cambian los «más allá» del GPT (GELU y calentamiento con coseno), medido.

    python3 scripts/mas_alla.py escribir    entrena las variantes y reescribe la tabla del libro
    python3 scripts/mas_alla.py comprobar   las entrena en una carpeta temporal y falla si las
                                            pérdidas no son las de la tabla

Entrena `07_gpt entrenar --preset cpu` (2000 pasos, semilla por defecto) con `--activacion gelu`,
con `--lr-coseno` y con las dos, y escribe en book/src/tablas/mas_alla.md la pérdida final de
cada una junto a la del modelo del cuaderno (ReLU y tasa fija), que es la de la tabla del
capítulo 7 (book/src/tablas/cpu_entrenamiento.md, la escribe y la comprueba
scripts/cifras_cpu.py). Las variantes se entrenan a la vez, una por proceso.

Usa el perfil de desarrollo (el de `cargo run`): las cuentas son las mismas que en release.
"""

import datetime
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numeros import es  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = os.path.join(ROOT, "book", "src", "tablas")
DEST = os.path.join(TABLES, "mas_alla.md")
BASE = os.path.join(TABLES, "cpu_entrenamiento.md")
VARIANTS = [
    ("GELU en vez de ReLU (ejercicio 6.4)", ["--activacion", "gelu"]),
    ("calentamiento y coseno (ejercicio 5.7)", ["--lr-coseno"]),
    ("las dos", ["--activacion", "gelu", "--lr-coseno"]),
]
# Con punto o con coma decimal: el programa escribe la de su versión.
EVAL = re.compile(r"^paso (\d+): pérdida de entrenamiento ([\d.,]+), de validación ([\d.,]+)")


def number(text):
    return float(text.replace(",", "."))


def binary():
    subprocess.run(["cargo", "build", "-q", "--bin", "07_gpt"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "07_gpt")


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


def base_losses():
    """(entrenamiento, validación) finales del modelo del cuaderno, de la tabla del capítulo 7."""
    rows = []
    with open(BASE, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 3 and re.fullmatch(r"\d+", cells[0]):
                rows.append((number(cells[1]), number(cells[2])))
    if not rows:
        sys.exit(f"error: {BASE} no tiene la tabla de pérdidas")
    return rows[-1]


def train_all(exe, tmp):
    """Entrena las variantes a la vez; devuelve sus (entrenamiento, validación) finales."""
    procs = []
    for i, (_, args) in enumerate(VARIANTS):
        out = os.path.join(tmp, f"v{i}")
        cmd = [exe, "entrenar", "--preset", "cpu", "--salidas", out, "--sobrescribir", *args]
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for (name, _), p in zip(VARIANTS, procs):
        stdout, stderr = p.communicate()
        if p.returncode != 0:
            sys.exit(f"error: la variante «{name}» falló:\n{stderr}")
        rows = [m.groups() for m in map(EVAL.match, stdout.splitlines()) if m]
        if not rows or rows[-1][0] != "1999":
            sys.exit(f"error: la variante «{name}» no llegó al paso 1999:\n{stdout}")
        results.append((number(rows[-1][1]), number(rows[-1][2])))
    return results


def table(base, results):
    lines = [
        "| variante del preset `cpu` | pérdida de entrenamiento | pérdida de validación | cambio en validación |",
        "| :--- | ---: | ---: | ---: |",
        f"| el cuaderno: ReLU y tasa fija | {es(base[0], 4)} | {es(base[1], 4)} | |",
    ]
    for (name, _), (train, val) in zip(VARIANTS, results):
        change = round(val, 4) - round(base[1], 4)
        sign = "+" if change >= 0 else "−"
        lines.append(f"| {name} | {es(train, 4)} | {es(val, 4)} | {sign}{es(abs(change), 4)} |")
    return "\n".join(lines) + "\n"


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in ("escribir", "comprobar"):
        sys.exit(__doc__)
    base = base_losses()
    exe = binary()
    with tempfile.TemporaryDirectory() as tmp:
        results = train_all(exe, tmp)
    got = table(base, results)
    if mode == "escribir":
        header = (
            f"Máquina: {machine()}; {datetime.date.today().isoformat()}. 2000 pasos del preset "
            f"`cpu` con la semilla por defecto; la escribe `python3 scripts/mas_alla.py escribir`.\n\n"
        )
        with open(DEST, "w", encoding="utf-8") as f:
            f.write(header + got)
        print(header + got)
        return
    with open(DEST, encoding="utf-8") as f:
        book = f.read()
    if got not in book:
        sys.exit(
            "error: la tabla de los «más allá» del libro no es la del programa; si el cambio es "
            f"intencionado, python3 scripts/mas_alla.py escribir\n{got}"
        )
    print("La tabla de los «más allá» es la del programa.")


if __name__ == "__main__":
    main()
