#!/usr/bin/env python3
"""Las cifras del capítulo 7 con la configuración `cpu`, sacadas del programa.

    python3 scripts/cifras_cpu.py escribir    entrena, genera y reescribe los archivos del libro
    python3 scripts/cifras_cpu.py comprobar   entrena y genera en una carpeta temporal y falla si
                                              las pérdidas o los textos no son los del libro

Escribe en book/src/tablas/:
  cpu_entrenamiento.md   la máquina, el tiempo y la tabla de pérdidas de `07_gpt entrenar --preset cpu`
  cpu_muestra_7.txt      `generar --prompt "En un lugar de la Mancha" --tokens 400 --semilla 7`
  cpu_muestra_t07.txt    `generar --temperatura 0.7 --top-k 10 --semilla 3 --tokens 300`
y la curva en book/src/figuras/gpt_curva_cpu.svg. Al escribir, si está el entorno de PyTorch de
scripts/comparar_pytorch.sh, añade a la tabla la línea de la misma configuración en PyTorch
(scripts/gpt_pytorch.py, dos hilos); al comprobar, esa línea no se mira (la CI no tiene PyTorch).

Usa el perfil de desarrollo (el de `cargo test`, optimizado): las cuentas son las mismas que en
release. El tiempo depende de la máquina y no se compara; las pérdidas y los textos, sí.
"""

import datetime
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numeros import es  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLES = os.path.join(ROOT, "book", "src", "tablas")
TRAIN = os.path.join(TABLES, "cpu_entrenamiento.md")
# `--ancho 80`: como en una terminal, renglones de 80 columnas partidos entre palabras (en una
# tubería, `generar` escribe el texto tal cual).
SAMPLES = {
    "cpu_muestra_7.txt": ["--prompt", "En un lugar de la Mancha", "--tokens", "400", "--semilla", "7", "--ancho", "80"],
    "cpu_muestra_t07.txt": ["--temperatura", "0.7", "--top-k", "10", "--semilla", "3", "--tokens", "300", "--ancho", "80"],
}
# Los programas escriben los números con la norma del libro (coma decimal, miles con U+202F):
# la tabla los copia tal cual.
EVAL = re.compile(r"^paso ([\d\u202f]+): pérdida de entrenamiento (\d+,\d+), de validación (\d+,\d+)")


def binary():
    subprocess.run(["cargo", "build", "-q", "--bin", "07_gpt"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "debug", "07_gpt")


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


def spanish(x):
    """Un número de PyTorch («2.0345») con la norma del libro."""
    return es(float(x), len(x.partition(".")[2]))


def run(exe, outdir):
    """Entrena y genera en `outdir`; devuelve (filas de la tabla, segundos, {muestra: texto})."""
    start = time.monotonic()
    out = subprocess.run(
        [exe, "entrenar", "--preset", "cpu", "--salidas", outdir, "--sobrescribir"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    seconds = time.monotonic() - start
    rows = [m.groups() for m in map(EVAL.match, out.splitlines()) if m]
    if not rows:
        sys.exit("error: el entrenamiento no imprimió ninguna estimación:\n" + out)
    ckpt = os.path.join(outdir, "gpt-mejor.safetensors")
    samples = {}
    for name, args in SAMPLES.items():
        samples[name] = subprocess.run(
            [exe, "generar", "--checkpoint", ckpt, *args],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    return rows, seconds, samples


def pytorch_line():
    """La misma configuración entrenada en PyTorch, si hay PyTorch; si no, `None`."""
    venv = os.environ.get("GPT_DESDE_CERO_VENV", os.path.expanduser("~/.cache/gpt-desde-cero/venv-torch"))
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        return None
    out = subprocess.run(
        [python, "scripts/gpt_pytorch.py", "--config", "cpu", "--hilos", "2", "--entrenar", "2000"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    m = re.search(r"(\d+) pasos en ([\d.]+) s: entrenamiento ([\d.]+), validación ([\d.]+)", out)
    if not m:
        sys.exit("error: scripts/gpt_pytorch.py no imprimió sus pérdidas:\n" + out)
    steps, secs, train, val = m.groups()
    return (
        f"\nPyTorch, el mismo modelo en la misma máquina con dos hilos "
        f"(`scripts/gpt_pytorch.py --config cpu --hilos 2 --entrenar 2000`): {steps} pasos en "
        f"{es(float(secs))} s; pérdida final de entrenamiento {spanish(train)} y de "
        f"validación {spanish(val)}.\n"
    )


def table(rows):
    lines = ["| paso | pérdida de entrenamiento | pérdida de validación |", "| ---: | ---: | ---: |"]
    lines += [f"| {s} | {t} | {v} |" for s, t, v in rows]
    return "\n".join(lines) + "\n"


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in ("escribir", "comprobar"):
        sys.exit(__doc__)
    exe = binary()
    with tempfile.TemporaryDirectory() as tmp:
        rows, seconds, samples = run(exe, tmp)
        if mode == "escribir":
            header = (
                f"Máquina: {machine()}; {datetime.date.today().isoformat()}. "
                f"Tardó {es(seconds, 1)} s en total, estimaciones incluidas.\n\n"
            )
            torch_line = pytorch_line() or ""
            with open(TRAIN, "w") as f:
                f.write(header + table(rows) + torch_line)
            for name, text in samples.items():
                with open(os.path.join(TABLES, name), "w") as f:
                    f.write(text)
            with open(os.path.join(tmp, "gpt-curva.svg"), "rb") as src:
                data = src.read()
            with open(os.path.join(ROOT, "book", "src", "figuras", "gpt_curva_cpu.svg"), "wb") as dst:
                dst.write(data)
            print(f"Escritos {TRAIN}, las muestras y la curva ({seconds:.1f} s).")
            return
    problems = []
    with open(TRAIN) as f:
        book = f.read()
    if table(rows) not in book:
        problems.append(f"la tabla de pérdidas del libro no es la del programa:\n{table(rows)}")
    for name, text in samples.items():
        with open(os.path.join(TABLES, name)) as f:
            if f.read() != text:
                problems.append(f"{name} no es lo que genera el programa:\n{text}")
    if problems:
        print("error: " + "\n".join(problems), file=sys.stderr)
        print("Si el cambio es intencionado: python3 scripts/cifras_cpu.py escribir", file=sys.stderr)
        sys.exit(1)
    print(f"Las cifras y los textos del capítulo 7 (preset cpu) son los del programa ({seconds:.0f} s).")


if __name__ == "__main__":
    main()
